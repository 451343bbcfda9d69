import { MurmurError } from '../errors.js'
import { type Dataset, type TrainTestSplit, createDataset, subset } from './dataset.js'
import { type Partition, partitionIndices } from './partition.js'
import { createRandom, deriveSeed } from './random.js'

/** The data one node works with. */
export interface NodeData {
  /** What the node trains on. */
  readonly train: Dataset
  /** Part of the node's own data, held out to measure its own accuracy. */
  readonly holdout: Dataset
  /** The dataset's shared test split, when it has one (builtin, idx); never for training. */
  readonly test?: Dataset
}

export interface LoadNodeDataOptions {
  /** Seeds the partition and the holdout; nodes of one network must share it. */
  seed: number
  /** Share of the node's data held out, in [0, 1); default 0.1. At least one sample is held out. */
  holdoutFraction?: number
  /**
   * Whether to load the dataset's shared test split as well; default true. A node process scores only
   * on its holdout (the swarm launcher scores every node on the test split itself), so it leaves the
   * split unread: 31 MB of floats for `mnist-full`.
   */
  withTest?: boolean
}

/**
 * Which of a node's rows it trains on and which it holds out (each list ascending); at least one row
 * in each. The simulator takes these row numbers as they are, without copying the rows.
 */
export function holdOutRows (indices: readonly number[], fraction: number, seed: number, what: string): { train: number[]; holdout: number[] } {
  if (indices.length < 2) {
    throw new MurmurError('ERR_INVALID_DATA', `${what} has ${indices.length} sample${indices.length === 1 ? '' : 's'}; a node needs at least 2 (one to train on, one to hold out), so use fewer parts or more data`)
  }
  const size = Math.min(indices.length - 1, Math.max(1, Math.round(indices.length * fraction)))
  const shuffled = createRandom(seed).shuffle([...indices])
  const ascending = (a: number, b: number): number => a - b
  return { train: shuffled.slice(size).sort(ascending), holdout: shuffled.slice(0, size).sort(ascending) }
}

/** Splits a node's rows into train and holdout; at least one row in each. */
export function holdOut (dataset: Dataset, indices: readonly number[], fraction: number, seed: number, what: string): { train: Dataset; holdout: Dataset } {
  const rows = holdOutRows(indices, fraction, seed, what)
  return { train: subset(dataset, rows.train), holdout: subset(dataset, rows.holdout) }
}

export function allRows (dataset: Dataset): number[] {
  return Array.from({ length: dataset.count }, (_, index) => index)
}

/** A node's records given as arrays by an embedding program, in place of a data spec. */
export interface RecordArrays {
  /** count × sample size values, row-major (the manifest's input shape per row) */
  readonly features: Float32Array
  /** one class index per row, in [0, classes) */
  readonly labels: Int32Array
  /** a name for messages (default 'arrays') */
  readonly name?: string
}

/**
 * A node's data from arrays: checked against the manifest's input shape and classes, and split into
 * train and holdout like any other data.
 */
export function nodeDataFromArrays (records: RecordArrays, shape: { inputShape: readonly number[]; classes: number }, options: LoadNodeDataOptions): NodeData {
  const fraction = options.holdoutFraction ?? 0.1
  if (!Number.isFinite(fraction) || fraction < 0 || fraction >= 1) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `holdoutFraction must be in [0, 1), got ${fraction}`)
  }
  const name = records.name ?? 'arrays'
  const dataset = createDataset({ name, inputShape: shape.inputShape, classes: shape.classes, features: records.features, labels: records.labels })
  return holdOut(dataset, allRows(dataset), fraction, deriveSeed(options.seed, 0, 0x401d), name)
}

/** The seed of a node's holdout: a seed of its own, so it does not replay the partition's random numbers. */
export function holdoutSeed (seed: number, part: number): number {
  return deriveSeed(seed, part, 0x401d)
}

/** Checks a holdout fraction: in [0, 1). */
export function checkHoldoutFraction (fraction: number): number {
  if (!Number.isFinite(fraction) || fraction < 0 || fraction >= 1) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `holdoutFraction must be in [0, 1), got ${fraction}`)
  }
  return fraction
}

/**
 * Part `part` (1-based) of `parts` of a train/test split, as every node computes it from the shared
 * seed (no coordination needed for the parts to be disjoint), split into train and holdout; the
 * shared test split comes along. A process node (`--data mnist:I/N`) and a browser node given the
 * same split, part and seed hold the same records.
 */
export function nodeDataFromPart (split: TrainTestSplit, part: number, parts: number, partition: Partition, options: LoadNodeDataOptions, what: string): NodeData {
  const { train, test } = split
  const rows = partRows(train.labels, train.classes, part, parts, partition, options, what)
  const own = { train: subset(train, rows.train), holdout: subset(train, rows.holdout) }
  return options.withTest === false ? own : { ...own, test }
}

/**
 * The rows of a train split (given by its labels) that part `part` of `parts` trains on and holds
 * out: what nodeDataFromPart copies, for a loader that reads only those rows from a file.
 */
export function partRows (labels: Int32Array, classes: number, part: number, parts: number, partition: Partition, options: LoadNodeDataOptions, what: string): { train: number[]; holdout: number[] } {
  const fraction = checkHoldoutFraction(options.holdoutFraction ?? 0.1)
  const mine = partitionIndices(labels, classes, parts, partition, options.seed)[part - 1]
  if (mine === undefined) throw new MurmurError('ERR_INVALID_DATA_SPEC', `${what}: part ${part} is not between 1 and ${parts}`)
  return holdOutRows(mine, fraction, holdoutSeed(options.seed, part), `part ${part}/${parts} of ${what}`)
}

/** All rows of a dataset (a CSV, an IDX train split) as a node's data, split into train and holdout. */
export function nodeDataFromDataset (dataset: Dataset, options: LoadNodeDataOptions, what: string, test?: Dataset): NodeData {
  const fraction = checkHoldoutFraction(options.holdoutFraction ?? 0.1)
  const data = holdOut(dataset, allRows(dataset), fraction, holdoutSeed(options.seed, 0), what)
  return test === undefined || options.withTest === false ? data : { ...data, test }
}
