import type { RecordArrays } from '../data/spec.js'
import type { BackendName } from './backend.js'
import type { DpSgdPlan } from './dp-sgd-plan.js'
import type { Manifest, RecordPrivacySettings } from './manifest.js'
import type { TrainOptions } from './trainer.js'
import type { Weights } from './weights.js'

/** What the training worker is started with (its workerData). */
export interface TrainingWorkerInit {
  readonly manifest: Manifest
  /** a data spec as `murmur start --data` takes it, or the records themselves; the worker loads or splits them itself */
  readonly data: string | RecordArrays
  readonly seed: number
  readonly backend?: BackendName
  readonly holdoutFraction?: number
  /** record-level DP-SGD for this node's training; off when absent */
  readonly recordPrivacy?: RecordPrivacySettings
}

export interface TrainingWorkerReady {
  readonly type: 'ready'
  /** the TF.js backend it trains on, or 'flat' for the flat trainer (FLAT_BACKEND) */
  readonly backend: string
  readonly trainSamples: number
  readonly holdoutSamples: number
  /** how many training records carry each class (labelCounts) */
  readonly labelCounts: readonly number[]
  /** the DP-SGD plan the worker trains with (sampling rate and noise for its data); null without */
  readonly dpSgd: DpSgdPlan | null
}

export interface TrainingWorkerFailed {
  readonly type: 'failed'
  readonly error: { readonly code: string; readonly message: string }
}

export type TrainingRequest =
  | { readonly id: number; readonly method: 'train'; readonly steps: number; readonly options?: TrainOptions }
  | { readonly id: number; readonly method: 'getWeights' }
  | { readonly id: number; readonly method: 'setWeights'; readonly weights: Weights }
  | { readonly id: number; readonly method: 'evaluate'; readonly split: 'holdout' | 'test' }

export type TrainingResponse =
  | { readonly type: 'response'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly type: 'response'; readonly id: number; readonly ok: false; readonly error: { readonly code: string; readonly message: string } }

export type TrainingWorkerMessage = TrainingWorkerReady | TrainingWorkerFailed | TrainingResponse
