import { MurmurError } from '../errors.js'

/**
 * A labelled classification dataset as plain typed arrays, so it can cross worker threads and be
 * handed to any training backend. Rows are stored back to back in `features`.
 * Datasets may be shared (e.g. the cached MNIST split): treat the arrays as read-only.
 */
export interface Dataset {
  /** Where the data came from, e.g. 'mnist', 'fashion-mnist', 'csv:file.csv'. */
  readonly name: string
  /** Shape of one sample, e.g. [28, 28, 1] for images or [featureCount] for CSV rows. */
  readonly inputShape: readonly number[]
  /** Number of label classes; every label is in [0, classes). */
  readonly classes: number
  readonly count: number
  /** count × sampleSize values, row-major; image pixels are scaled to [0, 1]. */
  readonly features: Float32Array
  /** One class index per sample. */
  readonly labels: Int32Array
}

export interface TrainTestSplit {
  train: Dataset
  test: Dataset
}

/** Number of feature values in one sample: the product of inputShape. */
export function sampleSize (dataset: Pick<Dataset, 'inputShape'>): number {
  return dataset.inputShape.reduce((a, b) => a * b, 1)
}

/** Builds a dataset after checking that its arrays agree with its shape and classes. */
export function createDataset (fields: Omit<Dataset, 'count'>): Dataset {
  const { name, inputShape, classes, features, labels } = fields
  if (inputShape.length === 0 || !inputShape.every((size) => Number.isInteger(size) && size > 0)) {
    throw new MurmurError('ERR_INVALID_DATA', `dataset ${name}: input shape [${inputShape.join(', ')}] must list positive integers`)
  }
  if (!Number.isInteger(classes) || classes < 1) {
    throw new MurmurError('ERR_INVALID_DATA', `dataset ${name}: class count must be a positive integer, got ${classes}`)
  }
  const count = labels.length
  const size = sampleSize({ inputShape })
  if (features.length !== count * size) {
    throw new MurmurError('ERR_INVALID_DATA', `dataset ${name}: ${count} labels need ${count * size} feature values (${size} per sample), got ${features.length}`)
  }
  for (let i = 0; i < count; i++) {
    const label = labels[i] as number
    if (label < 0 || label >= classes) {
      throw new MurmurError('ERR_INVALID_DATA', `dataset ${name}: sample ${i} has label ${label}, outside [0, ${classes})`)
    }
  }
  return { name, inputShape: [...inputShape], classes, count, features, labels }
}

/** A new dataset holding copies of the given rows, in the given order. */
export function subset (dataset: Dataset, indices: readonly number[]): Dataset {
  const size = sampleSize(dataset)
  const features = new Float32Array(indices.length * size)
  const labels = new Int32Array(indices.length)
  indices.forEach((index, row) => {
    if (!Number.isInteger(index) || index < 0 || index >= dataset.count) {
      throw new MurmurError('ERR_INVALID_ARGUMENT', `dataset ${dataset.name}: row index ${index} is outside [0, ${dataset.count})`)
    }
    features.set(dataset.features.subarray(index * size, (index + 1) * size), row * size)
    labels[row] = dataset.labels[index] as number
  })
  return { name: dataset.name, inputShape: [...dataset.inputShape], classes: dataset.classes, count: indices.length, features, labels }
}

/** One dataset holding the rows of all the given ones, in order; they must agree on shape and classes. */
export function concatenate (datasets: Dataset[]): Dataset {
  const first = datasets[0]
  if (first === undefined) throw new MurmurError('ERR_INVALID_ARGUMENT', 'cannot concatenate zero datasets')
  const shape = first.inputShape.join('×')
  for (const dataset of datasets) {
    if (dataset.inputShape.join('×') !== shape || dataset.classes !== first.classes) {
      throw new MurmurError('ERR_INVALID_ARGUMENT', `cannot concatenate dataset ${dataset.name} (shape [${dataset.inputShape.join(', ')}], ${dataset.classes} classes) with ${first.name} (shape [${first.inputShape.join(', ')}], ${first.classes} classes)`)
    }
  }
  const count = datasets.reduce((total, dataset) => total + dataset.count, 0)
  const features = new Float32Array(count * sampleSize(first))
  const labels = new Int32Array(count)
  let row = 0
  for (const dataset of datasets) {
    features.set(dataset.features, row * sampleSize(first))
    labels.set(dataset.labels, row)
    row += dataset.count
  }
  return { name: first.name, inputShape: [...first.inputShape], classes: first.classes, count, features, labels }
}
