import { describe, expect, it } from 'vitest'
import { subset } from '../src/data/dataset.js'
import { loadMnist } from '../src/data/mnist.js'
import { createRandom } from '../src/data/random.js'
import { initialWeights } from '../src/learning/initial-weights.js'
import { createLocalAlgorithm } from '../src/learning/local-algorithm.js'
import { LocalTrainer } from '../src/learning/local-trainer.js'
import { createManifest, type OptimizerName } from '../src/learning/manifest.js'
import type { Weights } from '../src/learning/weights.js'
import { DenseNetwork } from '../src/learning/dense-network.js'
import { createFlatLocalAlgorithm } from '../src/learning/flat-local-algorithm.js'
import { FlatTrainer } from '../src/learning/flat-trainer.js'
import { sparseRows } from '../src/learning/sparse-rows.js'

function largestDifference (a: Weights, b: Weights): number {
  let largest = 0
  a.forEach((tensor, index) => {
    const other = b[index]!.values
    tensor.values.forEach((value, i) => { largest = Math.max(largest, Math.abs(value - other[i]!)) })
  })
  return largest
}

describe('fast trainer', () => {
  it('runs the local algorithms exactly as local-algorithm.ts does, in place', () => {
    const random = createRandom(3)
    const shapes = [[4, 3], [3]]
    const weights = (): Weights => shapes.map(shape => ({ shape, values: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random.normal()) }))
    for (const name of ['dsgd', 'fedprox:0.5', 'qgm:0.9', 'scaffold:0.5']) {
      const reference = createLocalAlgorithm(name, { learningRate: 0.1 })
      const flat = createFlatLocalAlgorithm(name, 0.1)
      for (let round = 0; round < 4; round++) {
        const start = weights()
        reference.beginRound(start, 5)
        const flatStart = Float32Array.from(start.flatMap(tensor => [...tensor.values]))
        flat.beginRound(flatStart, 5)
        let current = weights()
        const flatCurrent = Float32Array.from(current.flatMap(tensor => [...tensor.values]))
        for (let step = 0; step < 5; step++) {
          current = reference.afterStep(current)
          flat.afterStep(flatCurrent)
        }
        const expected = current.flatMap(tensor => [...tensor.values])
        expected.forEach((value, i) => { expect(flatCurrent[i]).toBeCloseTo(value, 5) })
      }
    }
  })

  it('follows the TF.js trainer step for step on the same batches (logistic and mlp, adam and sgd, with qgm)', async () => {
    const { train, test } = await loadMnist()
    const rows = Array.from({ length: 320 }, (_, i) => i)
    const data = subset(train, rows)
    const cases: Array<[string, OptimizerName]> = [['logistic', 'adam'], ['mlp', 'sgd'], ['mlp', 'adam']]
    for (const [model, optimizer] of cases) {
      const manifest = createManifest({ model, dataset: { name: 'mnist', inputShape: train.inputShape, classes: 10 }, training: { optimizer, learningRate: optimizer === 'sgd' ? 0.1 : 0.001, algorithm: 'qgm:0.9' } })
      const reference = await LocalTrainer.create(manifest, { train: data, test }, { backend: 'cpu', seed: 11, algorithm: manifest.training.algorithm })
      const network = DenseNetwork.create(manifest.model, train.inputShape)
      const fast = new FlatTrainer({
        manifest,
        network,
        data: sparseRows(train),
        rows: { train: Int32Array.from(rows), holdout: new Int32Array(0) },
        seed: 11,
        initial: initialWeights(manifest.model, train.inputShape, manifest.seed),
        gradient: new Float32Array(network.parameterCount)
      })
      try {
        const start = fast.getWeights()
        // Three rounds of 5 steps (the qgm momentum needs two rounds to start), an epoch boundary crossed.
        for (let round = 0; round < 3; round++) {
          const expected = await reference.train(5)
          const actual = fast.train(5)
          expect(actual.samples).toBe(expected.samples)
          expect(actual.loss).toBeCloseTo(expected.loss, 3)
        }
        const moved = largestDifference(fast.getWeights(), start)
        const apart = largestDifference(fast.getWeights(), await reference.getWeights())
        expect(moved).toBeGreaterThan(1e-3)
        // float32 rounding in a different order: far below how far the weights moved
        expect(apart).toBeLessThan(moved / 100)
        expect(fast.holdoutAccuracy()).toBeNull()
        const sparseTest = sparseRows(test)
        const testRows = Int32Array.from({ length: 500 }, (_, i) => i)
        expect(network.accuracy(fast.parameters, sparseTest, testRows)).toBeCloseTo(reference.accuracy(subset(test, [...testRows])), 2)
      } finally {
        await reference.close()
      }
    }
  })
})
