import { describe, expect, it } from 'vitest'
import { labelCounts, labelSkew, SKEW_LOW } from '../src/data/label-skew.js'
import { subset, type Dataset } from '../src/data/dataset.js'
import { loadMnist } from '../src/data/mnist.js'
import { partitionIndices, parsePartition } from '../src/data/partition.js'
import { createRandom } from '../src/data/random.js'
import { DenseNetwork } from '../src/learning/dense-network.js'
import { FlatTrainer } from '../src/learning/flat-trainer.js'
import { initialWeights } from '../src/learning/initial-weights.js'
import { LocalTrainer } from '../src/learning/local-trainer.js'
import { createManifest, type Manifest } from '../src/learning/manifest.js'
import { SKEWED_LEARNING_RATE_FACTOR, skewLearningRate } from '../src/learning/skew-learning-rate.js'
import { sparseRows } from '../src/learning/sparse-rows.js'
import type { Weights } from '../src/learning/weights.js'

/** 8 parts of 8,000 records with balanced labels, split as the benchmarks split MNIST */
function partLabels (partition: string): number[][] {
  const random = createRandom(7)
  const labels = Int32Array.from({ length: 8_000 }, () => random.integer(10))
  return partitionIndices(labels, 10, 8, parsePartition(partition), 42).map(rows => labelCounts(labels, 10, Int32Array.from(rows)))
}

function flat (weights: Weights): Float32Array {
  return Float32Array.from(weights.flatMap(tensor => [...tensor.values]))
}

function distance (a: Float32Array, b: Float32Array): number {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2
  return Math.sqrt(sum)
}

function norm (values: Float32Array): number {
  return distance(values, new Float32Array(values.length))
}

/** MNIST rows: `perClass` of each of the classes given, in label order */
function rowsOf (labels: Int32Array, classes: readonly number[], perClass: number): number[] {
  const rows: number[] = []
  for (const wanted of classes) {
    let found = 0
    for (let row = 0; row < labels.length && found < perClass; row++) {
      if (labels[row] === wanted) {
        rows.push(row)
        found++
      }
    }
  }
  return rows
}

describe('a learning rate that follows label skew', () => {
  it('keeps the manifest rate for balanced labels and takes twice it for strongly skewed ones', () => {
    for (const counts of partLabels('iid')) expect(skewLearningRate(0.2, counts)).toBe(0.2)
    for (const counts of partLabels('shards:2')) expect(skewLearningRate(0.2, counts)).toBeCloseTo(0.2 * SKEWED_LEARNING_RATE_FACTOR, 12)
    expect(SKEWED_LEARNING_RATE_FACTOR).toBe(2)
    expect(skewLearningRate(0.2, undefined)).toBe(0.2)
    const partly = skewLearningRate(0.2, [55, 5, 5, 5, 5, 5, 5, 5, 5, 5])
    expect(partly).toBeGreaterThan(0.2)
    expect(partly).toBeLessThan(0.4)
  })

  // One step on a batch that is the whole of the trainer's rows (batch size = rows), so the
  // gradient does not depend on the order the rows are visited: the step is rate × gradient.
  const setUp = async (): Promise<{ train: Dataset, test: Dataset, manifest: Manifest, balanced: number[], skewed: number[] }> => {
    const { train, test } = await loadMnist()
    const balanced = rowsOf(train.labels, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3)
    const skewed = rowsOf(train.labels, [3, 8], 15)
    const manifest = createManifest({ model: 'logistic', dataset: { name: 'mnist', inputShape: train.inputShape, classes: 10 }, training: { optimizer: 'sgd', learningRate: 0.1, batchSize: 30, algorithm: 'dsgd' } })
    return { train, test, manifest, balanced, skewed }
  }

  it('a trainer on skewed records steps twice as far on the same gradient; on balanced records as the manifest says', async () => {
    const { train, manifest, balanced, skewed } = await setUp()
    // the two sets of rows, as the node would judge them
    expect(labelSkew(labelCounts(train.labels, 10, Int32Array.from(balanced)))).toBeLessThan(SKEW_LOW)
    expect(labelSkew(labelCounts(train.labels, 10, Int32Array.from(skewed)))).toBeCloseTo(0.8, 12)
    const data = sparseRows(train)
    const step = (rows: number[]): number => {
      const network = DenseNetwork.create(manifest.model, train.inputShape)
      const trainer = new FlatTrainer({ manifest, network, data, rows: { train: Int32Array.from(rows), holdout: new Int32Array(0) }, seed: 5, initial: initialWeights(manifest.model, train.inputShape, manifest.seed), gradient: new Float32Array(network.parameterCount) })
      const start = Float32Array.from(trainer.parameters)
      const gradient = new Float32Array(network.parameterCount)
      network.gradient(start, data, rows, gradient)
      trainer.train(1)
      return distance(trainer.parameters, start) / norm(gradient)
    }
    expect(step(balanced)).toBeCloseTo(0.1, 5)
    expect(step(skewed)).toBeCloseTo(0.1 * SKEWED_LEARNING_RATE_FACTOR, 5)
  })

  it('the TF.js trainer (convolutional models, DP-SGD) takes the same larger step as the flat trainer', async () => {
    const { train, test, manifest, skewed } = await setUp()
    const data = sparseRows(train)
    const network = DenseNetwork.create(manifest.model, train.inputShape)
    const flatTrainer = new FlatTrainer({ manifest, network, data, rows: { train: Int32Array.from(skewed), holdout: new Int32Array(0) }, seed: 5, initial: initialWeights(manifest.model, train.inputShape, manifest.seed), gradient: new Float32Array(network.parameterCount) })
    const reference = await LocalTrainer.create(manifest, { train: subset(train, skewed), test }, { backend: 'cpu', seed: 5 })
    try {
      const start = flat(await reference.getWeights())
      flatTrainer.train(1)
      await reference.train(1)
      const moved = distance(flatTrainer.parameters, start)
      // the flat trainer's step, twice the manifest's: the TF.js one lands where it does (float32 rounding apart)
      expect(distance(flat(await reference.getWeights()), flatTrainer.parameters)).toBeLessThan(moved / 100)
    } finally {
      await reference.close()
    }
  }, 60_000)
})
