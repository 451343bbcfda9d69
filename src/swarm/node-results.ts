import { epsilonFromRdp } from '../learning/privacy.js'
import type { Manifest } from '../learning/manifest.js'
import type { Weights } from '../learning/weights.js'
import { NodeStore, type Checkpoint } from '../node/store.js'
import type { Evaluator } from './evaluator.js'
import type { NodeObservations } from './node-observations.js'
import { checkpointFigures } from './run-figures.js'
import type { NodeSummary } from './summary.js'

/** A node of a finished run of processes, as its summary line names it. */
export interface FinishedNode {
  readonly index: number
  readonly peerId: string
  readonly dataSpec: string
  /** where its final checkpoint is */
  readonly datadir: string
  readonly role: NodeSummary['role']
  readonly profile: string
  readonly maxCpu: number
  /** false for a node that never started (a late joiner whose time did not come): it left no state */
  readonly started: boolean
  /** running when the run ended */
  readonly alive: boolean
}

/** The nodes' lines of the summary, and what the run's accuracy and consensus are computed over. */
export interface NodeResults {
  readonly summaries: NodeSummary[]
  /** the honest nodes alive at the end */
  readonly counted: NodeSummary[]
  /** their final models (those that left a readable one), in node order */
  readonly countedModels: Weights[]
}

/**
 * Reads every stopped node's final checkpoint and scores its model: the nodes' lines of the summary of
 * `murmur swarm` and `murmur testbed`, with what was observed of them while they ran.
 */
export async function nodeResults (nodes: readonly FinishedNode[], manifest: Manifest, scorer: Evaluator, observations: NodeObservations): Promise<NodeResults> {
  const finals = await Promise.all(nodes.map(async n => n.started ? readFinalState(n.datadir) : null))
  const weights = finals.map(state => scorer.decode(state?.model ?? null))
  const summaries: NodeSummary[] = []
  const countedModels: Weights[] = []
  for (const [i, n] of nodes.entries()) {
    const state = finals[i] ?? null
    const model = weights[i] ?? null
    const observed = observations.of(n.index)
    const summary: NodeSummary = {
      index: n.index,
      peerId: n.peerId,
      role: n.role,
      alive: n.alive,
      dataSpec: n.dataSpec,
      profile: n.profile,
      maxCpu: n.maxCpu,
      // One model at a time: the scorer is one trainer.
      accuracy: model === null ? null : await scorer.accuracy(model),
      ...checkpointFigures(state),
      peakRssBytes: observed.peakRssBytes,
      privacyEpsilon: observed.privacyEpsilon,
      epsilon: finalEpsilon(manifest, state, observed.privacyEpsilon),
      eventLoopLagP99Ms: observed.eventLoopLagP99Ms,
      fanout: observed.fanout
    }
    summaries.push(summary)
    if (summary.alive && summary.role === 'honest' && model !== null) countedModels.push(model)
  }
  return { summaries, counted: summaries.filter(n => n.alive && n.role === 'honest'), countedModels }
}

/** The newest intact checkpoint in a stopped node's datadir. */
export async function readFinalState (datadir: string): Promise<Checkpoint | null> {
  const store = await NodeStore.open(datadir)
  try {
    return (await store.readCheckpoint()).checkpoint
  } finally {
    await store.close()
  }
}

/**
 * A node's spent ε at the manifest's δ: from the privacy ledger of its final checkpoint (record-level
 * DP), else as it last reported it; null without differential privacy.
 */
function finalEpsilon (manifest: Manifest, state: Checkpoint | null, lastSeen: number | null): number | null {
  if (manifest.privacy === undefined) return null
  if (state?.privacy !== undefined) return epsilonFromRdp(state.privacy.orders, state.privacy.rdp, manifest.privacy.delta).epsilon
  return lastSeen
}
