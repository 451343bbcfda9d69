import type { BackendName } from './backend-names.js'

/* The benchmark's settings and results, apart from the benchmark itself so that the CLI can name them without loading TF.js. */

export interface TrainBenchOptions {
  /** model names from the registry, e.g. ['mlp', 'cnn'] */
  readonly models: readonly string[]
  /** default: every backend that loads here */
  readonly backends?: readonly BackendName[]
  readonly batchSize?: number
  /** timed repetitions; the result is their median */
  readonly repetitions?: number
  /** untimed steps first: the first steps of a backend compile kernels and allocate memory */
  readonly warmupSteps?: number
  /** keep warming up until this much time has passed too (the JIT needs more than a few fast steps) */
  readonly warmupSeconds?: number
  /** the most steps one repetition takes */
  readonly stepsPerRepetition?: number
  /**
   * A repetition takes fewer steps when the warm-up says it would run longer than this, so that a
   * slow pair (the cpu backend trains a CNN at some tens of samples per second) stays short.
   */
  readonly secondsPerRepetition?: number
  /**
   * Also measure each model and backend with record-level DP-SGD (clip 1, noise multiplier 1, Poisson
   * sampling of the expected batch size from the whole training split), after the plain case.
   */
  readonly dpSgd?: boolean
  /** called with each result as soon as it is known */
  readonly onResult?: (result: TrainBenchResult) => void
}

export interface TrainBenchSubject {
  readonly model: string
  readonly backend: BackendName
  readonly batchSize: number
  /** true for the DP-SGD case (absent for plain training) */
  readonly dpSgd?: boolean
}

/** One line of `murmur bench train --json` (docs/schemas/train-bench.schema.json). */
export interface TrainBenchMeasurement extends TrainBenchSubject {
  /** median over the timed repetitions */
  readonly samplesPerSecond: number
  readonly minSamplesPerSecond: number
  readonly maxSamplesPerSecond: number
  readonly repetitions: number
  readonly samplesPerRepetition: number
}

export interface TrainBenchFailure extends TrainBenchSubject {
  readonly error: string
  /** always 0: the contract requires the field on every line, and `error` says why there is no figure */
  readonly samplesPerSecond: 0
}

export type TrainBenchResult = TrainBenchMeasurement | TrainBenchFailure

export function isMeasurement (result: TrainBenchResult): result is TrainBenchMeasurement {
  return !('error' in result)
}

export const TRAIN_BENCH_DEFAULTS = {
  batchSize: 32,
  repetitions: 5,
  warmupSteps: 3,
  warmupSeconds: 1,
  stepsPerRepetition: 50,
  secondsPerRepetition: 2
} as const

