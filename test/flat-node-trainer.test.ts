import { describe, expect, it } from 'vitest'
import { createManifest } from '../src/learning/manifest.js'
import type { Weights } from '../src/learning/weights.js'
import { WorkerTrainer } from '../src/learning/worker-trainer.js'

function largestDifference (a: Weights, b: Weights): number {
  let largest = 0
  for (const [index, tensor] of a.entries()) {
    const other = (b[index] as Weights[number]).values
    for (let i = 0; i < tensor.values.length; i++) largest = Math.max(largest, Math.abs((tensor.values[i] as number) - (other[i] as number)))
  }
  return largest
}

describe('a process node\'s training worker', () => {
  it('trains an mlp with the flat trainer by default, to the weights TF.js reaches on the same samples', async () => {
    const manifest = createManifest({ model: 'mlp', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }, training: { optimizer: 'sgd', learningRate: 0.1, algorithm: 'qgm:0.9' } })
    const init = { manifest, data: 'mnist:1/8', seed: 5 }
    const flat = await WorkerTrainer.start(init)
    // The same node with TF.js, by naming a TF.js backend.
    const reference = await WorkerTrainer.start({ ...init, backend: 'cpu' })
    try {
      expect(flat.backend).toBe('flat')
      expect(reference.backend).toBe('cpu')
      expect(flat.trainSamples).toBe(reference.trainSamples)
      const start = await flat.getWeights()
      expect(largestDifference(start, await reference.getWeights())).toBe(0)
      // Three rounds (qgm's momentum starts in the second), with the weights set between rounds as a merge does.
      for (let round = 0; round < 3; round++) {
        const [actual, expected] = await Promise.all([flat.train(8), reference.train(8)])
        expect(actual.samples).toBe(expected.samples)
        expect(actual.loss).toBeCloseTo(expected.loss, 3)
        const merged = await reference.getWeights()
        await Promise.all([flat.setWeights(merged), reference.setWeights(merged)])
        await Promise.all([flat.train(2), reference.train(2)])
      }
      const moved = largestDifference(await flat.getWeights(), start)
      const apart = largestDifference(await flat.getWeights(), await reference.getWeights())
      expect(moved).toBeGreaterThan(1e-3)
      // float32 rounding in a different order: far below how far the weights moved
      expect(apart).toBeLessThan(moved / 100)
      for (const split of ['holdout', 'test'] as const) {
        expect(await flat.evaluate(split)).toBeCloseTo(await reference.evaluate(split) as number, 2)
      }
    } finally {
      await Promise.all([flat.close(), reference.close()])
    }
  })
})
