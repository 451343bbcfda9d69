import { availableParallelism } from 'node:os'
import { createDataset } from '../data/dataset.js'
import { loadNodeData, parseDataSpec, type NodeData } from '../data/spec.js'
import type { BackendName } from '../learning/backend-names.js'
import { LocalTrainer, type TrainingData } from '../learning/local-trainer.js'
import type { Manifest } from '../learning/manifest.js'

/**
 * The steps a node of a running swarm takes, as a share of what its share of the cores would allow
 * at the launcher's CPU time per step: the rest goes to merging, encoding and decoding models,
 * gossip, scoring its holdout, the processes contending for the cores, and other work on the
 * machine. Measured (docs/privacy.md, "The steps a run allows"): 8 nodes of mnist-full, ε = 8, 120 s,
 * on 2 shared cores, took 1,740–2,360 steps where a step's CPU time in one process (3.0–4.0 ms)
 * would allow 7,500–10,000: 0.17–0.31. Set at the top of that range, because a horizon set too short
 * costs more than one set too long: noise grows slowly with the horizon (z 0.68 at 2,400 steps, 0.80
 * at 6,329; ε = 8, 6,750 records), while a node that reaches its horizon early stops training (ε = 4
 * over 779 steps: 90.4 %, below ε = 2 over 1,583: 91.7 %).
 */
export const DP_SGD_TRAINING_EFFICIENCY = 0.3

/** how long the launcher trains before it times steps: the first ones compile kernels and warm the JIT */
const WARM_UP_MS = 500
/** how long the launcher times DP-SGD steps for */
const TIMING_MS = 1_500
/** steps per timed window */
const STEPS_PER_WINDOW = 10

export interface ExpectedStepsInit {
  /** how long the nodes train */
  readonly durationMs: number
  /** node processes sharing the machine */
  readonly nodes: number
  /** the CPU seconds one DP-SGD step takes (timeDpSgdStep) */
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
 * The CPU seconds one of the manifest's DP-SGD steps takes on this machine, timed on `data` in this
 * process before the swarm starts: after 0.5 s of warming up, the median over windows of 10 steps
 * for 1.5 s of this process's CPU time per step. CPU time, not wall time: other processes on a
 * shared machine stretch the wall time of a window (it read 4.9 to 19 ms per step in five launches
 * of one batch, and the slowest set a horizon of 779 steps where nodes took 2,000) but barely the
 * CPU time (3.2–4.7 ms with a swarm running beside it). How much of the cores a node of a running
 * swarm turns into steps is DP_SGD_TRAINING_EFFICIENCY. The steps' result is thrown away: nothing is
 * released, so they spend none of a node's budget.
 */
export async function timeDpSgdStep (manifest: Manifest, data: TrainingData, backend?: BackendName): Promise<number> {
  const privacy = manifest.privacy
  if (privacy?.level !== 'record') throw new TypeError('timeDpSgdStep needs a manifest with record-level privacy')
  const trainer = await LocalTrainer.create(manifest, data, { recordPrivacy: privacy, ...(backend === undefined ? {} : { backend }) })
  try {
    const warming = performance.now()
    while (performance.now() - warming < WARM_UP_MS) await trainer.train(STEPS_PER_WINDOW)
    const started = performance.now()
    const perStep: number[] = []
    while (performance.now() - started < TIMING_MS) {
      const before = process.cpuUsage()
      const { steps } = await trainer.train(STEPS_PER_WINDOW)
      const used = process.cpuUsage(before)
      perStep.push((used.user + used.system) / 1e6 / steps)
    }
    return perStep.sort((a, b) => a - b)[Math.floor(perStep.length / 2)] as number
  } finally {
    await trainer.close()
  }
}

/**
 * Records of the shape and number a node's data has, and no content of it: what the launcher times
 * steps on, so that the horizon, and with it the noise, depends on no record (the number of records
 * a node holds is public, as in every DP-SGD accountant).
 */
function standIn (data: NodeData): TrainingData {
  const { train } = data
  const features = new Float32Array(train.features.length).fill(0.5)
  const labels = Int32Array.from({ length: train.count }, (_, row) => row % train.classes)
  return { train: createDataset({ name: 'timing', inputShape: train.inputShape, classes: train.classes, features, labels }) }
}

/**
 * The manifest a swarm of known duration runs with (`dataSpec`: a node's data, whose shape and size
 * steps are timed on): under a record-level budget whose noise each node calibrates,
 * `privacy.expectedSteps` is set to the steps a node can take, so that the noise is chosen for the
 * run's own horizon (the smaller of it and the epochs). Any other manifest as it is.
 */
export async function withExpectedDpSgdSteps (manifest: Manifest, init: Omit<ExpectedStepsInit, 'stepSeconds'> & { readonly dataSpec: string, readonly backend?: BackendName }): Promise<Manifest> {
  const privacy = manifest.privacy
  if (privacy?.level !== 'record' || privacy.noiseMultiplier !== undefined || privacy.epsilonBudget === undefined) return manifest
  const data = standIn(await loadNodeData(parseDataSpec(init.dataSpec), { seed: manifest.seed }))
  const stepSeconds = await timeDpSgdStep(manifest, data, init.backend)
  return { ...manifest, privacy: { ...privacy, expectedSteps: expectedSwarmSteps({ ...init, stepSeconds }) } }
}
