import { MurmurError } from '../errors.js'
import type { Weights } from '../learning/weights.js'
import { emptyCounters, type Checkpoint, type NodeStatePort } from './node-state.js'
import { validateUpdate, type UpdateExpectations } from './update-codec.js'

/** Where a node starts: its last good checkpoint, or nothing. */
export interface Resumption {
  /** the checkpoint resumed from; null for a fresh start (none, or one whose model is unusable) */
  readonly checkpoint: Checkpoint | null
  /** the model to train on: the checkpoint's training model, else its served model; checked */
  readonly weights: Weights | null
  /** starts before this one */
  readonly restarts: number
  /** what the operator should know: damaged checkpoints skipped, an unusable model */
  readonly warnings: string[]
}

/**
 * Start-up recovery: counts this start, reads the newest intact checkpoint and checks it. A checkpoint
 * of another swarm stops the start (ERR_NODE_STATE): that state is another node's, and nothing is
 * written over it. A checkpoint whose model fails the checks is skipped with a warning. Records the
 * manifest the node runs.
 */
export async function resume (store: NodeStatePort, manifest: unknown, expectations: UpdateExpectations): Promise<Resumption> {
  const restarts = await store.recordStart()
  const { checkpoint: saved, problems } = await store.readCheckpoint()
  const warnings = [...problems]
  if (saved !== null && saved.swarmId !== expectations.swarmId) {
    throw new MurmurError('ERR_NODE_STATE', `the node's stored state belongs to swarm ${saved.swarmId}, not to this manifest's swarm ${expectations.swarmId}: give this node a state of its own`)
  }
  await store.saveManifest(manifest)
  if (saved === null) return { checkpoint: null, weights: null, restarts, warnings }
  const verdict = validateUpdate(saved.model, expectations)
  if (!verdict.ok) {
    warnings.push(`the stored checkpoint holds an unusable model (${verdict.reason}: ${verdict.detail}); starting without it`)
    return { checkpoint: null, weights: null, restarts, warnings }
  }
  // Training resumes from the model it was on, not from the served average (which lags a few rounds behind).
  const training = saved.training === undefined ? null : validateUpdate(saved.training, expectations)
  if (training !== null && !training.ok) warnings.push(`the stored checkpoint's training model is unusable (${training.reason}: ${training.detail}); resuming from its served model`)
  const weights = training?.ok === true ? training.value.weights : verdict.value.weights
  return { checkpoint: { ...saved, counters: { ...emptyCounters(), ...saved.counters } }, weights, restarts, warnings }
}
