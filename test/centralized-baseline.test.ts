import { describe, it, expect } from 'vitest'
import { loadMnist } from '../src/data/mnist.js'
import { subset } from '../src/data/dataset.js'
import { createManifest } from '../src/learning/manifest.js'
import { centralizedBaseline } from '../src/swarm/centralized-baseline.js'

describe('the centralized baseline', () => {
  it('trains with DP-SGD\'s clipping when the swarm runs record-level DP, so its rate does not diverge', async () => {
    const { test } = await loadMnist()
    const scored = subset(test, Array.from({ length: 500 }, (_, index) => index))
    // DP-SGD's training defaults: SGD at rate 2 is set for clipped per-record gradients.
    const training = { optimizer: 'sgd' as const, learningRate: 2, batchSize: 64, localSteps: 10 }
    const dataset = { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }
    const parts = ['mnist:1/8', 'mnist:2/8']
    const samples = 64 * 150
    const clipped = await centralizedBaseline(createManifest({ model: 'dct-mlp', dataset, training, privacy: { level: 'record', epsilon: 8 } }), parts, scored, samples)
    // Control: the same model and rate with plain steps, what the baseline did before.
    const plain = await centralizedBaseline(createManifest({ model: 'dct-mlp', dataset, training }), parts, scored, samples)
    expect(clipped.samplesProcessed).toBe(samples)
    expect(clipped.accuracy).toBeGreaterThan(0.8)
    expect(clipped.accuracy).toBeGreaterThan(plain.accuracy + 0.2)
  }, 300_000)
})
