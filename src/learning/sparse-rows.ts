import { sampleSize, type Dataset } from '../data/dataset.js'

/**
 * A dataset's rows with their zero features left out (compressed sparse rows). MNIST-like images are
 * mostly background: about a fifth of the pixels are non-zero, so a dense first layer costs a fifth
 * as much on these rows. Loaded once per simulation; nodes hold lists of row numbers into it.
 */
export interface SparseRows {
  readonly count: number
  /** features per row (the dense width) */
  readonly width: number
  /** row r's entries are offsets[r] to offsets[r + 1] − 1 */
  readonly offsets: Int32Array
  readonly columns: Int32Array
  readonly values: Float32Array
  readonly labels: Int32Array
  readonly classes: number
}

export function sparseRows (dataset: Dataset): SparseRows {
  const width = sampleSize(dataset)
  const features = dataset.features
  let nonZero = 0
  for (let i = 0; i < features.length; i++) if (features[i] !== 0) nonZero++
  const offsets = new Int32Array(dataset.count + 1)
  const columns = new Int32Array(nonZero)
  const values = new Float32Array(nonZero)
  let entry = 0
  for (let row = 0; row < dataset.count; row++) {
    offsets[row] = entry
    const base = row * width
    for (let column = 0; column < width; column++) {
      const value = features[base + column] as number
      if (value !== 0) {
        columns[entry] = column
        values[entry] = value
        entry++
      }
    }
  }
  offsets[dataset.count] = entry
  return { count: dataset.count, width, offsets, columns, values, labels: dataset.labels, classes: dataset.classes }
}
