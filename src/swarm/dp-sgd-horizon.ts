import { availableParallelism } from 'node:os'
import { loadNodeData, parseDataSpec, type NodeData } from '../data/spec.js'
import type { BackendName } from '../learning/backend-names.js'
import { LocalTrainer } from '../learning/local-trainer.js'
import type { Manifest } from '../learning/manifest.js'

/**
 * Of the CPU time a node process gets, the share its DP-SGD steps take: the rest goes to merging,
 * encoding and decoding models, gossip, scoring its holdout, and to other work on the machine.
 * Measured (docs/privacy.md, "Choosing the horizon"): 8 nodes of mnist-full on 2 shared cores,
 * 120 s, took 1,740–2,260 steps (median 1,945) where the launcher's step time (8.9 ms) allowed
 * 3,370: 0.52–0.67. Rounded down on purpose: a node that reaches its horizon early stops training
 * and keeps averaging, while a horizon beyond the run costs noise for steps never taken.
 */
export const DP_SGD_TRAINING_EFFICIENCY = 0.5

/** how long the launcher times DP-SGD steps for, after the first (compiling) ones */
const TIMING_MS = 1_500
/** steps before timing starts: the first ones compile kernels */
const WARM_UP_STEPS = 5
/** steps per timed call */
const STEPS_PER_CALL = 10

export interface ExpectedStepsInit {
  /** how long the nodes train */
  readonly durationMs: number
  /** node processes sharing the machine */
  readonly nodes: number
  /** the seconds one DP-SGD step takes on one free core */
  readonly stepSeconds: number
  /** cores the nodes share (default: this machine's) */
  readonly cores?: number
}

/**
 * The DP-SGD steps a node of a local swarm can take in the run: its share of the machine's cores
 * (all nodes train at once, so min(1, cores / nodes)) over the duration, at the measured step time,
 * less the time that is not training (DP_SGD_TRAINING_EFFICIENCY). At least 1.
 */
export function expectedSwarmSteps (init: ExpectedStepsInit): number {
  const share = Math.min(1, (init.cores ?? availableParallelism()) / init.nodes)
  return Math.max(1, Math.floor(init.durationMs / 1000 * share * DP_SGD_TRAINING_EFFICIENCY / init.stepSeconds))
}

/**
 * The seconds one of the manifest's DP-SGD steps takes on this machine, timed on a node's data in
 * this process before the swarm starts. The steps' result is thrown away: nothing is released, so
 * they spend none of the node's budget.
 */
export async function timeDpSgdStep (manifest: Manifest, data: NodeData, backend?: BackendName): Promise<number> {
  const privacy = manifest.privacy
  if (privacy?.level !== 'record') throw new TypeError('timeDpSgdStep needs a manifest with record-level privacy')
  const trainer = await LocalTrainer.create(manifest, data, { recordPrivacy: privacy, ...(backend === undefined ? {} : { backend }) })
  try {
    await trainer.train(WARM_UP_STEPS)
    const started = performance.now()
    let steps = 0
    while (performance.now() - started < TIMING_MS) steps += (await trainer.train(STEPS_PER_CALL)).steps
    return (performance.now() - started) / 1000 / steps
  } finally {
    await trainer.close()
  }
}

/**
 * The manifest a swarm of known duration runs with (`dataSpec`: a node's data, to time steps on): under a record-level budget whose noise each node
 * calibrates, `privacy.expectedSteps` is set to the steps a node can take, so that the noise is
 * chosen for the run's own horizon (the smaller of it and the epochs). Any other manifest as it is.
 */
export async function withExpectedDpSgdSteps (manifest: Manifest, init: Omit<ExpectedStepsInit, 'stepSeconds'> & { readonly dataSpec: string, readonly backend?: BackendName }): Promise<Manifest> {
  const privacy = manifest.privacy
  if (privacy?.level !== 'record' || privacy.noiseMultiplier !== undefined || privacy.epsilonBudget === undefined) return manifest
  const data = await loadNodeData(parseDataSpec(init.dataSpec), { seed: manifest.seed })
  const stepSeconds = await timeDpSgdStep(manifest, data, init.backend)
  return { ...manifest, privacy: { ...privacy, expectedSteps: expectedSwarmSteps({ ...init, stepSeconds }) } }
}
