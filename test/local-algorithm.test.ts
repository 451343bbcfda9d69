import { describe, expect, it } from 'vitest'
import { createDataset, type Dataset } from '../src/data/dataset.js'
import { isMurmurError } from '../src/errors.js'
import { createLocalAlgorithm, DriftCorrection, formatLocalAlgorithm, parseLocalAlgorithm, ProximalTerm, QuasiGlobalMomentum } from '../src/learning/local-algorithm.js'
import { LocalTrainer } from '../src/learning/local-trainer.js'
import { createManifest, parseManifest, swarmIdOf } from '../src/learning/manifest.js'
import { distance, type Weights } from '../src/learning/weights.js'
import { errorOf } from './helpers.js'

function model (...values: number[]): Weights {
  return [{ shape: [values.length], values: Float32Array.from(values) }]
}

function valuesOf (weights: Weights): number[] {
  return Array.from(weights[0]?.values ?? [])
}

describe('training algorithms as data', () => {
  it('reads back what it writes', () => {
    for (const text of ['dsgd', 'fedprox:0.01', 'fedprox:10', 'qgm:0.9', 'qgm:.5']) {
      const spec = parseLocalAlgorithm(text)
      expect(parseLocalAlgorithm(formatLocalAlgorithm(spec))).toEqual(spec)
    }
    expect(formatLocalAlgorithm(parseLocalAlgorithm('qgm:.5'))).toBe('qgm:0.5')
  })

  it('refuses unknown names and out-of-range parameters with a clear error', () => {
    for (const text of ['', 'sgd', 'fedprox', 'fedprox:0', 'fedprox:-1', 'qgm:1', 'qgm:0', 'qgm:1.5', 'qgm:x', 'fedprox:1e999']) {
      const error = errorOf(() => parseLocalAlgorithm(text))
      expect(isMurmurError(error) && error.code === 'ERR_INVALID_ARGUMENT').toBe(true)
      expect(String(error)).toContain('dsgd, fedprox:MU')
    }
  })

  it('is a manifest field outside the swarm id, older manifests reading as the default', () => {
    const dataset = { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }
    const plain = createManifest({ model: 'logistic', dataset })
    const prox = createManifest({ model: 'logistic', dataset, training: { algorithm: 'fedprox:1' } })
    expect(plain.training.algorithm).toBe('qgm:0.9')
    expect(prox.training.algorithm).toBe('fedprox:1')
    expect(swarmIdOf(prox)).toBe(swarmIdOf(plain))
    const older = JSON.parse(JSON.stringify(plain)) as { training: Record<string, unknown> }
    delete older.training.algorithm
    expect(parseManifest(older).training.algorithm).toBe('qgm:0.9')
    expect(() => parseManifest({ ...plain, training: { ...plain.training, algorithm: 'qgm:2' } })).toThrow(/training.algorithm/)
  })
})

describe('FedProx proximal term (Li et al. 2020)', () => {
  it('pulls every step towards the model the round started from, by learningRate × MU of the distance', () => {
    const prox = new ProximalTerm(100, 0.001)
    expect(prox.pull).toBeCloseTo(0.1, 12)
    prox.beginRound(model(0, 0, 1))
    const after = prox.afterStep(model(1, -2, 1))
    expect(valuesOf(after).map(v => Number(v.toFixed(6)))).toEqual([0.9, -1.8, 1])
    // The anchor is a copy: changing what was passed in does not move it.
    const start = model(0)
    prox.beginRound(start)
    ;(start[0]?.values as Float32Array)[0] = 5
    expect(valuesOf(prox.afterStep(model(1)))[0]).toBeCloseTo(0.9, 6)
  })

  it('never overshoots the anchor, and does nothing before a round starts', () => {
    const prox = new ProximalTerm(1e9, 0.1)
    expect(prox.pull).toBe(1)
    expect(valuesOf(prox.afterStep(model(3)))).toEqual([3])
    prox.beginRound(model(2))
    expect(valuesOf(prox.afterStep(model(3)))).toEqual([2])
  })
})

describe('quasi-global momentum (Lin et al. 2021)', () => {
  it('builds its buffer from how the round-start model moved, not from local gradients', () => {
    const qgm = new QuasiGlobalMomentum(0.5)
    qgm.beginRound(model(0, 0), 4)
    expect(qgm.buffer).toBeNull()
    expect(valuesOf(qgm.afterStep(model(1, 1)))).toEqual([1, 1])
    // moved by (4, −8) over a round of 4 steps: m = (1 − β)·(1, −2) = (0.5, −1)
    qgm.beginRound(model(4, -8), 2)
    expect(valuesOf(qgm.buffer ?? [])).toEqual([0.5, -1])
    // each step adds β·m
    expect(valuesOf(qgm.afterStep(model(10, 10)))).toEqual([10.25, 9.5])
    // moved by (2, 0) over 2 steps: m = β·(0.5, −1) + (1 − β)·(1, 0) = (0.75, −0.5)
    qgm.beginRound(model(6, -8), 2)
    expect(valuesOf(qgm.buffer ?? [])).toEqual([0.75, -0.5])
  })

  it('with no movement the momentum decays geometrically', () => {
    const qgm = new QuasiGlobalMomentum(0.9)
    qgm.beginRound(model(0), 1)
    qgm.beginRound(model(1), 1)
    const first = valuesOf(qgm.buffer ?? [])[0] ?? 0
    qgm.beginRound(model(1), 1)
    qgm.beginRound(model(1), 1)
    expect(valuesOf(qgm.buffer ?? [])[0]).toBeCloseTo(first * 0.81, 6)
  })

  it('is created from its manifest name', () => {
    expect(createLocalAlgorithm('qgm:0.9', { learningRate: 0.001 }).name).toBe('qgm:0.9')
    expect(createLocalAlgorithm('fedprox:10', { learningRate: 0.001 }).name).toBe('fedprox:10')
    expect(createLocalAlgorithm('dsgd', { learningRate: 0.001 }).perStep).toBe(false)
  })
})

describe('SCAFFOLD-style drift correction (Karimireddy et al. 2020)', () => {
  it('adds the swarm\'s displacement per step minus the node\'s own, both read from round starts and ends', () => {
    const scaffold = new DriftCorrection(0)
    scaffold.beginRound(model(0, 0), 2)
    expect(scaffold.buffer).toBeNull()
    // round 1 without a correction: the node moved itself by (4, 0) in 2 steps
    scaffold.afterStep(model(2, 0))
    scaffold.afterStep(model(4, 0))
    // the merged model moved by (2, 2): c = (1, 1) per step, cᵢ = (2, 0), so c − cᵢ = (−1, 1)
    scaffold.beginRound(model(2, 2), 2)
    expect(valuesOf(scaffold.buffer ?? [])).toEqual([-1, 1])
    expect(valuesOf(scaffold.afterStep(model(3, 2)))).toEqual([2, 3])
    // round 2 ends at (4, 4) after two corrected steps: uncorrected the node moved (2, 2) − 2·(−1, 1) = (4, 0)
    scaffold.afterStep(model(5, 3))
    // the merged model moved by (2, 2) again: the correction is unchanged
    scaffold.beginRound(model(4, 4), 2)
    expect(valuesOf(scaffold.buffer ?? [])).toEqual([-1, 1])
    expect(createLocalAlgorithm('scaffold:0.5', { learningRate: 0.001 }).name).toBe('scaffold:0.5')
    expect(parseLocalAlgorithm('scaffold:0')).toEqual({ kind: 'scaffold', beta: 0 })
    expect(() => parseLocalAlgorithm('scaffold:1')).toThrow(/unknown training algorithm/)
  })
})

/** A one-class shard: the most skewed data a node can hold. */
function oneClass (count: number, label: number): Dataset {
  const features = new Float32Array(count * 784)
  for (let i = 0; i < features.length; i++) features[i] = ((i * 7919) % 101) / 101
  return createDataset({ name: 'one-class', features, labels: new Int32Array(count).fill(label), inputShape: [28, 28, 1], classes: 10 })
}

describe('the algorithms inside the local trainer', () => {
  const dataset = { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }
  const manifest = createManifest({ model: 'logistic', dataset, training: { learningRate: 0.01, batchSize: 16 } })
  const data = { train: oneClass(64, 3) }

  async function driftAfter (algorithm: string): Promise<number> {
    const trainer = await LocalTrainer.create(manifest, data, { seed: 1, backend: 'cpu', algorithm })
    try {
      const start = await trainer.getWeights()
      await trainer.train(10)
      return distance(start, await trainer.getWeights())
    } finally {
      await trainer.close()
    }
  }

  it('the proximal term keeps local steps on a one-class shard closer to the round start than plain steps', async () => {
    const plain = await driftAfter('dsgd')
    const prox = await driftAfter('fedprox:20')
    expect(plain).toBeGreaterThan(0)
    expect(prox).toBeLessThan(plain * 0.7)
    // γ = 1: every step ends back at the anchor.
    expect(await driftAfter('fedprox:1000')).toBe(0)
  })

  it('is off in a trainer made without one (the centralized baseline)', async () => {
    expect(await driftAfter('dsgd')).toBeGreaterThan(0)
    const error = await LocalTrainer.create(manifest, data, { backend: 'cpu', algorithm: 'nope' }).catch((e: unknown) => e)
    expect(isMurmurError(error) && error.code === 'ERR_INVALID_ARGUMENT').toBe(true)
  })
})
