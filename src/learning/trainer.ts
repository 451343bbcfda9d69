import type { Weights } from './weights.js'

export interface TrainResult {
  /** batches taken */
  readonly steps: number
  /** samples those batches held */
  readonly samples: number
  /** mean training loss over those batches */
  readonly loss: number
}

/** Where a call to train() stands in the node's whole training (kept across restarts by the node). */
export interface TrainOptions {
  /** DP-SGD steps the node took before this call, over all its runs (its privacy ledger): where the learning-rate schedule stands */
  readonly dpSgdStepsTaken?: number
}

/** Which part of a node's data to measure accuracy on. */
export type EvaluationSplit = 'holdout' | 'test'

/**
 * A model being trained on local data. The node runtime only sees this interface, so it does not care
 * whether training runs on its own thread (tests, the launcher's baseline) or in a worker thread.
 */
export interface Trainer {
  readonly backend: string
  train (steps: number, options?: TrainOptions): Promise<TrainResult>
  getWeights (): Promise<Weights>
  setWeights (weights: Weights): Promise<void>
  /** accuracy in [0, 1] on that split, or null when the node has no such split */
  evaluate (split: EvaluationSplit): Promise<number | null>
  close (): Promise<void>
}
