import type { RecordArrays } from '../data/spec.js'
import { MurmurError } from '../errors.js'
import { collectGarbage } from '../memory-reclaimer.js'
import type { BackendName } from '../learning/backend-names.js'
import type { Manifest, RecordPrivacySettings } from '../learning/manifest.js'
import { WorkerTrainer } from '../learning/worker-trainer.js'
import { FlatNodeTrainer, flatTrainerFits } from '../learning/flat-node-trainer.js'
import { loadTrainerData } from '../learning/trainer-setup.js'
import type { NodeTrainer } from '../core/node-trainer.js'

/** A node's data: a data spec (docs/data.md), or its records as arrays. */
export type NodeDataSource = string | RecordArrays

export interface TrainerOptions {
  readonly manifest: Manifest
  readonly data?: NodeDataSource
  readonly dataSpec?: string
  readonly backend?: BackendName
  readonly holdoutFraction?: number
  readonly recordPrivacy?: RecordPrivacySettings
}

/** This node's record-level privacy settings: its own (murmur start flags), else the manifest's. */
function recordPrivacySettings (options: TrainerOptions): { recordPrivacy?: RecordPrivacySettings } {
  const settings = options.recordPrivacy ?? (options.manifest.privacy?.level === 'record' ? options.manifest.privacy : undefined)
  return settings === undefined ? {} : { recordPrivacy: settings }
}

/** Lets the event loop run (network, API, timers) between two training steps on this thread. */
function yieldToEventLoop (): Promise<void> {
  return new Promise(resolve => { setImmediate(resolve) })
}

/**
 * Starts a process node's trainer. A dense model (logistic, mlp) trains with the flat trainer on
 * this thread, in slices of time between turns of the event loop: no worker thread, no TF.js, the data
 * held once (docs/architecture.md, "Memory of a node process"). Other models train with TF.js in a
 * worker thread, so nothing of TF.js loads on the thread that runs the node's protocol and network.
 */
export async function startTrainer (options: TrainerOptions, seed: number, signal?: AbortSignal): Promise<NodeTrainer> {
  const data = options.data ?? options.dataSpec
  if (data === undefined) throw new MurmurError('ERR_INVALID_ARGUMENT', 'a node needs data: a data spec (e.g. mnist:1/8) or records as arrays')
  const init = {
    manifest: options.manifest,
    data,
    seed,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(options.holdoutFraction === undefined ? {} : { holdoutFraction: options.holdoutFraction }),
    ...recordPrivacySettings(options)
  }
  if (flatTrainerFits(init.manifest, init)) {
    const trainer = FlatNodeTrainer.create(init.manifest, await loadTrainerData(init), { seed, algorithm: init.manifest.training.algorithm, pause: yieldToEventLoop })
    // Loading left the whole dataset and the node's dense rows behind as garbage: free them now.
    collectGarbage()
    signal?.throwIfAborted()
    return trainer
  }
  return await WorkerTrainer.start(init, signal)
}
