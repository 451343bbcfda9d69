import type { RecordArrays } from '../data/spec.js'
import { MurmurError } from '../errors.js'
import type { BackendName } from '../learning/backend-names.js'
import type { Manifest, RecordPrivacySettings } from '../learning/manifest.js'
import { WorkerTrainer } from '../learning/worker-trainer.js'

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

/**
 * Starts a process node's trainer: a worker thread that loads the node's data and holds TF.js, so
 * nothing of TF.js loads on the thread that runs the node's protocol and network.
 */
export async function startTrainer (options: TrainerOptions, seed: number, signal?: AbortSignal): Promise<WorkerTrainer> {
  const data = options.data ?? options.dataSpec
  if (data === undefined) throw new MurmurError('ERR_INVALID_ARGUMENT', 'a node needs data: a data spec (e.g. mnist:1/8) or records as arrays')
  return WorkerTrainer.start({
    manifest: options.manifest,
    data,
    seed,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(options.holdoutFraction === undefined ? {} : { holdoutFraction: options.holdoutFraction }),
    ...recordPrivacySettings(options)
  }, signal)
}
