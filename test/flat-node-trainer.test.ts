import { describe, expect, it } from 'vitest'
import type { NodeTrainer } from '../src/core/node-trainer.js'
import { createManifest } from '../src/learning/manifest.js'
import type { Weights } from '../src/learning/weights.js'
import { WorkerTrainer } from '../src/learning/worker-trainer.js'
import { startTrainer } from '../src/node/trainer-start.js'

function largestDifference (a: Weights, b: Weights): number {
  let largest = 0
  for (const [index, tensor] of a.entries()) {
    const other = (b[index] as Weights[number]).values
    for (let i = 0; i < tensor.values.length; i++) largest = Math.max(largest, Math.abs((tensor.values[i] as number) - (other[i] as number)))
  }
  return largest
}

describe('a process node\'s trainer for an mlp', () => {
  it('is the flat trainer, on the node\'s thread or in a worker, and reaches the weights TF.js reaches on the same samples', async () => {
    const manifest = createManifest({ model: 'mlp', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }, training: { optimizer: 'sgd', learningRate: 0.1, algorithm: 'qgm:0.9' } })
    const options = { manifest, dataSpec: 'mnist:1/8' }
    const trainers: NodeTrainer[] = []
    try {
      // What `murmur start` runs, the same in a worker thread, and TF.js (a TF.js backend named: a worker thread).
      const node = await startTrainer(options, 5)
      trainers.push(node)
      const worker = await WorkerTrainer.start({ manifest, data: 'mnist:1/8', seed: 5 })
      trainers.push(worker)
      const reference = await startTrainer({ ...options, backend: 'cpu' }, 5)
      trainers.push(reference)
      expect([node.backend, worker.backend, reference.backend]).toEqual(['flat', 'flat', 'cpu'])
      expect(node.trainSamples).toBe(reference.trainSamples)
      expect(node.holdoutSamples).toBe(reference.holdoutSamples)
      const start = await node.getWeights()
      expect(largestDifference(start, await reference.getWeights())).toBe(0)
      // Three rounds (qgm's momentum starts in the second), with the weights set between rounds as a merge does.
      for (let round = 0; round < 3; round++) {
        const [actual, inWorker, expected] = await Promise.all(trainers.map(trainer => trainer.train(8)))
        expect(actual?.samples).toBe(expected?.samples)
        expect(actual?.loss).toBeCloseTo(expected?.loss as number, 3)
        expect(inWorker?.loss).toBe(actual?.loss)
        const merged = await reference.getWeights()
        await Promise.all(trainers.map(async trainer => { await trainer.setWeights(merged) }))
        await Promise.all(trainers.map(async trainer => await trainer.train(2)))
      }
      const weights = await node.getWeights()
      const moved = largestDifference(weights, start)
      expect(moved).toBeGreaterThan(1e-3)
      // float32 rounding in a different order: far below how far the weights moved
      expect(largestDifference(weights, await reference.getWeights())).toBeLessThan(moved / 100)
      expect(largestDifference(weights, await worker.getWeights())).toBe(0)
      for (const split of ['holdout', 'test'] as const) {
        expect(await node.evaluate(split)).toBeCloseTo(await reference.evaluate(split) as number, 2)
      }
    } finally {
      await Promise.all(trainers.map(async trainer => { await trainer.close() }))
    }
  })
})

describe('training on a node\'s own thread', () => {
  it('gives the event loop a turn within a slice of time, also when every round is shorter than a slice', async () => {
    const manifest = createManifest({ model: 'logistic', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 } })
    const trainer = await startTrainer({ manifest, dataSpec: 'mnist:1/8' }, 5)
    try {
      await trainer.train(1)
      let turned = false
      setImmediate(() => { turned = true })
      // One-step rounds, back to back, as a node whose rounds are short runs them: a few ms each,
      // so a slice spans many rounds. Without a pause across rounds the callback above never runs.
      let rounds = 0
      const started = performance.now()
      while (!turned && performance.now() - started < 10_000) {
        await trainer.train(1)
        rounds++
      }
      expect(turned).toBe(true)
      expect(rounds).toBeGreaterThan(1)
    } finally {
      await trainer.close()
    }
  })
})
