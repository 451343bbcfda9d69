import { afterAll, beforeAll, describe, it, expect } from 'vitest'
import { createDataset, subset, type Dataset } from '../src/data/dataset.js'
import { loadMnist } from '../src/data/mnist.js'
import { isMurmurError } from '../src/errors.js'
import { initialWeights } from '../src/learning/initial-weights.js'
import { LocalTrainer } from '../src/learning/local-trainer.js'
import { createManifest, type Manifest } from '../src/learning/manifest.js'
import { modelSpec } from '../src/learning/models.js'
import type { Weights } from '../src/learning/weights.js'
import { rejectionOf } from './helpers.js'

const MNIST = { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }
const TRAIN_SAMPLES = 2000

function mlpManifest (): Manifest {
  return createManifest({ model: 'mlp', dataset: MNIST })
}

/** Bit-exact equality of two models, without vitest's slow deep equality on big typed arrays. */
function sameWeights (a: Weights, b: Weights): boolean {
  if (a.length !== b.length) return false
  return a.every((tensor, index) => {
    const other = b[index]!
    if (tensor.shape.join() !== other.shape.join() || tensor.values.length !== other.values.length) return false
    const x = Buffer.from(tensor.values.buffer, tensor.values.byteOffset, tensor.values.byteLength)
    const y = Buffer.from(other.values.buffer, other.values.byteOffset, other.values.byteLength)
    return Buffer.compare(x, y) === 0
  })
}

/** Copies, so that later training cannot change what a test holds on to. */
function copyOf (weights: Weights): Weights {
  return weights.map(tensor => ({ shape: [...tensor.shape], values: Float32Array.from(tensor.values) }))
}

describe('LocalTrainer on MNIST', () => {
  let train: Dataset
  let test: Dataset
  const trainers: LocalTrainer[] = []

  async function newTrainer (manifest = mlpManifest(), seed?: number): Promise<LocalTrainer> {
    const trainer = await LocalTrainer.create(manifest, { train, test }, seed === undefined ? {} : { seed })
    trainers.push(trainer)
    return trainer
  }

  beforeAll(async () => {
    const mnist = await loadMnist()
    train = subset(mnist.train, Array.from({ length: TRAIN_SAMPLES }, (_, i) => i))
    test = mnist.test
  })

  afterAll(async () => {
    await Promise.all(trainers.map(trainer => trainer.close()))
  })

  it('uses the built-in split: 2,000 train samples here and a 2,000-sample test split', () => {
    expect(train.count).toBe(TRAIN_SAMPLES)
    expect(test.count).toBe(2000)
    expect(train.inputShape).toEqual([28, 28, 1])
  })

  it('learns: test accuracy rises from chance to at least 0.8 in 300 steps', async () => {
    const manifest = mlpManifest()
    const trainer = await newTrainer(manifest)
    expect(['tensorflow', 'wasm', 'cpu']).toContain(trainer.backend)

    const before = await trainer.evaluate('test')
    expect(before).not.toBeNull()
    expect(before).toBeLessThanOrEqual(0.2)
    expect(await trainer.evaluate('holdout')).toBeNull()

    const first = await trainer.train(20)
    expect(first.steps).toBe(20)
    expect(first.samples).toBe(20 * manifest.training.batchSize)
    expect(Number.isFinite(first.loss)).toBe(true)
    expect(first.loss).toBeGreaterThan(0)

    const rest = await trainer.train(280)
    expect(rest.steps).toBe(280)
    expect(rest.samples).toBe(280 * 32)
    expect(Number.isFinite(rest.loss)).toBe(true)
    // later batches fit better than the first ones
    expect(rest.loss).toBeLessThan(first.loss)

    const after = await trainer.evaluate('test')
    expect(after).toBeGreaterThanOrEqual(0.8)
    expect(trainer.accuracy(test)).toBe(after)
    // it fits its own training data at least as well as unseen data, give or take
    expect(trainer.accuracy(train)).toBeGreaterThan(0.8)
  })

  it('reports zero steps, zero samples and zero loss for train(0), leaving the weights alone', async () => {
    const trainer = await newTrainer()
    const before = copyOf(await trainer.getWeights())
    expect(await trainer.train(0)).toEqual({ steps: 0, samples: 0, loss: 0 })
    expect(sameWeights(await trainer.getWeights(), before)).toBe(true)
  })

  it('starts from the manifest\'s initial weights, and training moves them', async () => {
    const manifest = mlpManifest()
    const trainer = await newTrainer(manifest)
    const start = initialWeights(manifest.model, manifest.dataset.inputShape, manifest.seed)
    expect(sameWeights(await trainer.getWeights(), start)).toBe(true)
    await trainer.train(3)
    expect(sameWeights(await trainer.getWeights(), start)).toBe(false)
  })

  it('setWeights with another trainer\'s weights makes the two models equal', async () => {
    const teacher = await newTrainer()
    await teacher.train(60)
    const student = await newTrainer()
    const teacherAccuracy = await teacher.evaluate('test')
    // they really differ before the copy
    expect(await student.evaluate('test')).not.toBe(teacherAccuracy)
    expect(sameWeights(await student.getWeights(), await teacher.getWeights())).toBe(false)

    await student.setWeights(await teacher.getWeights())
    expect(await student.evaluate('test')).toBe(teacherAccuracy)
    expect(sameWeights(await student.getWeights(), await teacher.getWeights())).toBe(true)
  })

  it('sees the same batches for the same seed and different ones for another seed', async () => {
    const a = await newTrainer(mlpManifest(), 5)
    const b = await newTrainer(mlpManifest(), 5)
    const c = await newTrainer(mlpManifest(), 6)
    const [ra, rb, rc] = [await a.train(4), await b.train(4), await c.train(4)]
    expect(ra.loss).toBe(rb.loss)
    expect(ra.loss).not.toBe(rc.loss)
    expect(sameWeights(await a.getWeights(), await b.getWeights())).toBe(true)
    expect(sameWeights(await a.getWeights(), await c.getWeights())).toBe(false)
  })

  it('setWeights with the wrong shapes throws ERR_INVALID_ARGUMENT and keeps the old weights', async () => {
    const manifest = mlpManifest()
    const trainer = await newTrainer(manifest)
    const before = copyOf(await trainer.getWeights())
    const good = initialWeights(manifest.model, manifest.dataset.inputShape, 1)
    const wrong: Weights[] = [
      initialWeights(modelSpec('logistic', 10), [28, 28, 1], 1),
      good.slice(0, 3),
      [...good, { shape: [1], values: new Float32Array(1) }],
      good.map((tensor, index) => index === 2 ? { shape: [10, 128], values: tensor.values } : tensor)
    ]
    for (const weights of wrong) {
      const error = await rejectionOf(async () => { await trainer.setWeights(weights) })
      expect(isMurmurError(error, 'ERR_INVALID_ARGUMENT')).toBe(true)
    }
    expect(sameWeights(await trainer.getWeights(), before)).toBe(true)
  })

  it('refuses data that does not fit the manifest', async () => {
    const manifest = mlpManifest()
    const empty = createDataset({ name: 'empty', inputShape: [28, 28, 1], classes: 10, features: new Float32Array(0), labels: new Int32Array(0) })
    const wrongShape = createDataset({ name: 'small', inputShape: [4], classes: 10, features: new Float32Array(8), labels: new Int32Array(2) })
    const tooManyClasses = createDataset({ name: 'wide', inputShape: [28, 28, 1], classes: 11, features: new Float32Array(784), labels: Int32Array.from([10]) })
    for (const data of [empty, wrongShape, tooManyClasses]) {
      const error = await rejectionOf(async () => await LocalTrainer.create(manifest, { train: data }))
      expect(isMurmurError(error, 'ERR_INVALID_DATA'), data.name).toBe(true)
    }
  })
})
