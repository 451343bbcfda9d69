import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, it, expect } from 'vitest'
import { subset, type Dataset } from '../src/data/dataset.js'
import { loadMnist } from '../src/data/mnist.js'
import { isMurmurError } from '../src/errors.js'
import { selectBackend } from '../src/learning/backend.js'
import { shiftedCopies } from '../src/learning/augmentation.js'
import { createRandom } from '../src/data/random.js'
import { DpSgd } from '../src/learning/dp-sgd.js'
import { MAX_NOISE_MULTIPLIER, planDpSgd, type DpSgdPlan } from '../src/learning/dp-sgd-plan.js'
import { LocalTrainer } from '../src/learning/local-trainer.js'
import { createManifest } from '../src/learning/manifest.js'
import { Dct2dLayer, dctMatrix } from '../src/learning/dct-layer.js'
import { modelSpec, type LayerListModelSpec, type LayerSpec } from '../src/learning/models.js'
import { clippedGradientSum, perExampleMethod } from '../src/learning/per-example-gradients.js'
import { RdpAccountant } from '../src/learning/privacy.js'
import { SecureUniform } from '../src/learning/secure-random.js'
import { errorOf } from './helpers.js'

const MNIST = { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }

const DENSE: LayerListModelSpec = { name: 'test-mlp', layers: [{ type: 'flatten' }, { type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 12, activation: 'tanh' }, { type: 'dense', units: 10, activation: 'softmax' }] }
/** Weightless max pooling of the input before dense layers: still ghost norms. */
const POOLED: LayerListModelSpec = { name: 'test-pooled-mlp', layers: [{ type: 'maxPooling2d', poolSize: 2 }, { type: 'flatten' }, { type: 'dense', units: 16, activation: 'tanh' }, { type: 'dense', units: 10, activation: 'softmax' }] }
/** The dct-mlp's shape: a fixed DCT of the input before dense layers, still ghost norms. */
const TRANSFORMED: LayerListModelSpec = { name: 'test-dct-mlp', layers: [{ type: 'dct2d', size: 6 }, { type: 'flatten' }, { type: 'dense', units: 16, activation: 'tanh' }, { type: 'dense', units: 10, activation: 'softmax' }] }
const CONVOLUTIONAL: LayerListModelSpec = {
  name: 'test-cnn',
  layers: [
    { type: 'conv2d', filters: 2, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu' },
    { type: 'maxPooling2d', poolSize: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 10, activation: 'softmax' }
  ]
}

/** The model as LocalTrainer builds it, so ghost norms and tfjs-layers' own gradients can be compared. */
function build (spec: LayerListModelSpec): tf.Sequential {
  const model = tf.sequential()
  spec.layers.forEach((layer: LayerSpec, index) => {
    const input = index === 0 ? { inputShape: MNIST.inputShape } : {}
    if (layer.type === 'flatten') model.add(tf.layers.flatten(input))
    if (layer.type === 'dense') model.add(tf.layers.dense({ ...input, units: layer.units, activation: layer.activation, kernelInitializer: tf.initializers.glorotUniform({ seed: 7 + index }) }))
    if (layer.type === 'conv2d') model.add(tf.layers.conv2d({ ...input, filters: layer.filters, kernelSize: layer.kernelSize, strides: layer.strides, padding: layer.padding, activation: layer.activation, kernelInitializer: tf.initializers.glorotUniform({ seed: 7 + index }) }))
    if (layer.type === 'maxPooling2d') model.add(tf.layers.maxPooling2d({ ...input, poolSize: layer.poolSize }))
    if (layer.type === 'dct2d') model.add(new Dct2dLayer({ ...input, size: layer.size }))
  })
  model.compile({ optimizer: tf.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy' })
  return model
}

function tensors (dataset: Dataset, indices: readonly number[]): { x: tf.Tensor; y: tf.Tensor1D } {
  const size = 28 * 28
  const features = new Float32Array(indices.length * size)
  const labels = new Int32Array(indices.length)
  indices.forEach((index, row) => {
    features.set(dataset.features.subarray(index * size, (index + 1) * size), row * size)
    labels[row] = dataset.labels[index] as number
  })
  return { x: tf.tensor(features, [indices.length, 28, 28, 1]), y: tf.tensor1d(labels, 'int32') }
}

/** Each example's unclipped gradient, from tfjs-layers' own autodiff: the reference. */
function referenceGradients (model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D): Float32Array[] {
  const variables = model.trainableWeights.map(weight => weight.read() as tf.Variable)
  const gradients: Float32Array[] = []
  for (let i = 0; i < (x.shape[0] ?? 0); i++) {
    gradients.push(tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const probabilities = model.apply(x.slice(i, 1), { training: true }) as tf.Tensor
        return tf.losses.softmaxCrossEntropy(tf.oneHot(y.slice(i, 1), 10), probabilities.clipByValue(1e-7, 1 - 1e-7).log(), undefined, undefined, tf.Reduction.SUM)
      }, variables)
      return Float32Array.from(variables.flatMap(variable => Array.from((grads[variable.name] as tf.Tensor).dataSync())))
    }))
  }
  return gradients
}

function flat (list: readonly tf.Tensor[]): Float32Array {
  return Float32Array.from(list.flatMap(tensor => Array.from(tensor.dataSync())))
}

function l2 (values: ArrayLike<number>): number {
  let sum = 0
  for (let i = 0; i < values.length; i++) sum += (values[i] as number) ** 2
  return Math.sqrt(sum)
}

function difference (a: ArrayLike<number>, b: ArrayLike<number>): Float32Array {
  return Float32Array.from({ length: a.length }, (_, i) => (a[i] as number) - (b[i] as number))
}

function plan (overrides: Partial<DpSgdPlan> = {}): DpSgdPlan {
  return { clip: 1, noiseMultiplier: 1, samplingRate: 0.1, expectedBatchSize: 10, delta: 1e-5, epsilonBudget: null, horizonSteps: null, augmentations: 1, ...overrides }
}

describe('DP-SGD', () => {
  let train: Dataset
  let test: Dataset

  beforeAll(async () => {
    await selectBackend()
    const mnist = await loadMnist()
    train = subset(mnist.train, Array.from({ length: 1000 }, (_, i) => i))
    test = mnist.test
  })

  afterAll(() => {
    tf.disposeVariables()
  })

  it('the DCT layer is the orthonormal 2-D DCT-II, keeps the low frequencies, and loses no energy at full size', () => {
    const full = dctMatrix(4, 4, 4)
    // Orthonormal: MᵀM = I, so ‖DCT(x)‖ = ‖x‖ (clipping bounds carry over) and nothing is lost.
    for (let a = 0; a < 16; a++) {
      for (let b = 0; b < 16; b++) {
        let dot = 0
        for (let k = 0; k < 16; k++) dot += (full[k * 16 + a] as number) * (full[k * 16 + b] as number)
        expect(dot).toBeCloseTo(a === b ? 1 : 0, 5)
      }
    }
    // A constant image has only the zero frequency: its value × √(h·w).
    const layer = new Dct2dLayer({ size: 3, inputShape: [4, 4, 1] })
    const model = tf.sequential({ layers: [layer] })
    const out = tf.tidy(() => Array.from((model.predict(tf.fill([1, 4, 4, 1], 0.5)) as tf.Tensor).dataSync()))
    expect(out[0]).toBeCloseTo(2, 5)
    out.slice(1).forEach(value => { expect(Math.abs(value)).toBeLessThan(1e-5) })
    expect(model.outputs[0]?.shape).toEqual([null, 3, 3, 1])
    model.dispose()
  })

  it('picks ghost norms for dense models and per-example microbatches for convolutions', () => {
    expect(perExampleMethod(DENSE)).toBe('ghost-norm')
    expect(perExampleMethod(POOLED)).toBe('ghost-norm')
    expect(perExampleMethod(TRANSFORMED)).toBe('ghost-norm')
    expect(perExampleMethod(modelSpec('dct-mlp', 10))).toBe('ghost-norm')
    expect(perExampleMethod(CONVOLUTIONAL)).toBe('microbatch')
    expect(perExampleMethod({ name: 'x', layers: [{ type: 'flatten' }, { type: 'dense', units: 10, activation: 'linear' }] })).toBe('microbatch')
  })

  for (const spec of [DENSE, POOLED, TRANSFORMED, CONVOLUTIONAL]) {
    it(`${spec.name}: per-example norms and the clipped sum match autodiff, example by example`, () => {
      const model = build(spec)
      const { x, y } = tensors(train, [0, 1, 2, 3, 4, 5])
      const reference = referenceGradients(model, x, y)
      const clip = 0.5 * Math.min(...reference.map(l2)) + 0.5 * Math.max(...reference.map(l2)) // clips some, not all
      const result = clippedGradientSum(model, spec, x, y, clip)
      const norms = Array.from(result.norms.dataSync())
      reference.forEach((gradient, i) => { expect(norms[i]).toBeCloseTo(l2(gradient), 3) })
      const expected = new Float32Array(reference[0]!.length)
      for (const gradient of reference) {
        const factor = Math.min(1, clip / l2(gradient))
        gradient.forEach((value, j) => { expected[j] = (expected[j] as number) + factor * value })
      }
      const actual = flat(result.gradients)
      expect(l2(difference(actual, expected))).toBeLessThan(1e-3 * l2(expected))
      tf.dispose([x, y, result.norms, result.lossSum, ...result.gradients])
      model.dispose()
    })

    it(`${spec.name}: one huge outlier moves the clipped sum by at most the clip`, () => {
      const model = build(spec)
      const indices = Array.from({ length: 16 }, (_, i) => i)
      const clean = tensors(train, indices)
      // The outlier: example 0 scaled tenfold and mislabelled (more saturates the softmax and flattens its gradient).
      const outlierX = tf.tidy(() => tf.concat([clean.x.slice(0, 1).mul(10), clean.x.slice(1)]))
      const outlierY = tf.tidy(() => tf.concat([clean.y.slice(0, 1).add(1).mod(10), clean.y.slice(1)]).cast<tf.Tensor1D>('int32'))
      // Control: unclipped, the outlier's gradient is enormous next to the clip (a model with fewer
      // inputs to its first dense layer, as after a DCT, has a smaller gradient: a smaller clip).
      const raw = referenceGradients(model, outlierX.slice(0, 1), outlierY.slice(0, 1))[0]!
      const clip = Math.min(0.05, l2(raw) / 200)
      expect(l2(raw)).toBeGreaterThan(100 * clip)
      const a = clippedGradientSum(model, spec, clean.x, clean.y, clip)
      const b = clippedGradientSum(model, spec, outlierX, outlierY, clip)
      expect(b.norms.dataSync()[0]).toBeCloseTo(l2(raw), 2)
      // Swapping one example changes the sum by ≤ 2C (each of the two contributes ≤ C)…
      const change = l2(difference(flat(b.gradients), flat(a.gradients)))
      expect(change).toBeLessThanOrEqual(2 * clip * (1 + 1e-4))
      // …and adding it to the others moves it by exactly its clipped gradient, of norm ≤ C.
      const rest = tf.tidy(() => ({ x: outlierX.slice(1), y: outlierY.slice<tf.Tensor1D>(1) }))
      const without = clippedGradientSum(model, spec, rest.x, rest.y, clip)
      const added = l2(difference(flat(b.gradients), flat(without.gradients)))
      expect(added).toBeLessThanOrEqual(clip * (1 + 1e-4))
      expect(added).toBeGreaterThan(0.99 * clip)
      tf.dispose([clean.x, clean.y, outlierX, outlierY, rest.x, rest.y])
      for (const r of [a, b, without]) tf.dispose([r.norms, r.lossSum, ...r.gradients])
      model.dispose()
    })
  }

  it('shifted copies: the first is the record, the others the record moved by at most a pixel, zeros shifted in', () => {
    const image = Float32Array.from({ length: 5 * 5 }, (_, i) => i + 1)
    const copies = shiftedCopies(image, [5, 5, 1], 6, createRandom(3))
    expect(copies.length).toBe(6 * 25)
    expect(Array.from(copies.subarray(0, 25))).toEqual(Array.from(image))
    const shifted = (down: number, right: number): number[] => Array.from({ length: 25 }, (_, i) => {
      const row = Math.floor(i / 5) - down
      const column = (i % 5) - right
      return row < 0 || row >= 5 || column < 0 || column >= 5 ? 0 : image[row * 5 + column] as number
    })
    const candidates = [-1, 0, 1].flatMap(down => [-1, 0, 1].map(right => shifted(down, right)))
    for (let copy = 1; copy < 6; copy++) {
      const values = Array.from(copies.subarray(copy * 25, (copy + 1) * 25))
      expect(candidates.some(candidate => candidate.every((value, i) => value === values[i]))).toBe(true)
    }
  })

  for (const spec of [DENSE, TRANSFORMED, CONVOLUTIONAL]) {
    it(`${spec.name}: with augmented copies an example's gradient is the MEAN of its copies', clipped as one`, () => {
      const model = build(spec)
      const copies = 3
      const base = tensors(train, [0, 1, 2, 3])
      const rows = shiftedCopies(base.x.dataSync() as Float32Array, [28, 28, 1], copies, createRandom(5))
      const x = tf.tensor(rows, [4 * copies, 28, 28, 1])
      const y = tf.tensor1d(Array.from(base.y.dataSync()).flatMap(label => new Array<number>(copies).fill(label)), 'int32')
      const perRow = referenceGradients(model, x, y)
      const means = [0, 1, 2, 3].map(example => {
        const mean = new Float32Array(perRow[0]!.length)
        for (let copy = 0; copy < copies; copy++) perRow[example * copies + copy]!.forEach((value, j) => { mean[j] = (mean[j] as number) + value / copies })
        return mean
      })
      const clip = 0.5 * Math.min(...means.map(l2)) + 0.5 * Math.max(...means.map(l2))
      const result = clippedGradientSum(model, spec, x, y, clip, perExampleMethod(spec), copies)
      const norms = Array.from(result.norms.dataSync())
      expect(norms.length).toBe(4)
      means.forEach((mean, i) => { expect(norms[i]).toBeCloseTo(l2(mean), 3) })
      const expected = new Float32Array(means[0]!.length)
      for (const mean of means) {
        const factor = Math.min(1, clip / l2(mean))
        mean.forEach((value, j) => { expected[j] = (expected[j] as number) + factor * value })
      }
      expect(l2(difference(flat(result.gradients), expected))).toBeLessThan(1e-3 * l2(expected))
      tf.dispose([base.x, base.y, x, y, result.norms, result.lossSum, ...result.gradients])
      model.dispose()
    })
  }

  it('averaging copies BEFORE clipping keeps one record\'s influence within C; clipping each copy would not', () => {
    const model = build(TRANSFORMED)
    const copies = 4
    const rowsOf = (indices: number[], scale: number): { x: tf.Tensor; y: tf.Tensor1D } => {
      const { x, y } = tensors(train, indices)
      const rows = shiftedCopies(x.dataSync() as Float32Array, [28, 28, 1], copies, createRandom(11))
      const labels = Array.from(y.dataSync()).flatMap(label => new Array<number>(copies).fill((label + (scale > 1 ? 1 : 0)) % 10))
      tf.dispose([x, y])
      return { x: tf.tensor(rows.map(value => value * scale), [indices.length * copies, 28, 28, 1]), y: tf.tensor1d(labels, 'int32') }
    }
    const rest = rowsOf([1, 2, 3, 4, 5, 6, 7], 1)
    const outlier = rowsOf([0], 10) // ten times brighter and mislabelled
    const all = { x: tf.concat([outlier.x, rest.x]), y: tf.concat([outlier.y, rest.y]) }
    const clip = 0.01
    const sumOf = (batch: { x: tf.Tensor; y: tf.Tensor1D }, perCopy: boolean): Float32Array => {
      const result = clippedGradientSum(model, TRANSFORMED, batch.x, batch.y, clip, 'ghost-norm', perCopy ? 1 : copies)
      const values = flat(result.gradients)
      tf.dispose([result.norms, result.lossSum, ...result.gradients])
      return values
    }
    // Averaged before clipping: adding the record moves the sum by its one clipped gradient, ≤ C.
    const added = l2(difference(sumOf(all, false), sumOf(rest, false)))
    expect(added).toBeLessThanOrEqual(clip * (1 + 1e-4))
    expect(added).toBeGreaterThan(0.99 * clip)
    // Control: clipped copy by copy, the same record would move it by up to K·C.
    expect(l2(difference(sumOf(all, true), sumOf(rest, true)))).toBeGreaterThan(2 * clip)
    tf.dispose([rest.x, rest.y, outlier.x, outlier.y, all.x, all.y])
    model.dispose()
  })

  it('the learning rate follows the schedule from the step the node says it is at: 0 at the horizon, no move', async () => {
    const manifest = createManifest({ model: 'logistic', dataset: MNIST, training: { optimizer: 'sgd', batchSize: 50, learningRate: 0.5 } })
    const trainer = await LocalTrainer.create(manifest, { train, test }, { recordPrivacy: { level: 'record', clip: 1, delta: 1e-5, epsilonBudget: 8, epochs: 10 } })
    try {
      const horizon = trainer.dpSgdPlan?.horizonSteps ?? 0
      expect(horizon).toBe(200)
      const weights = async (): Promise<Float32Array> => Float32Array.from((await trainer.getWeights()).flatMap(weight => Array.from(weight.values)))
      const start = await weights()
      await trainer.train(2, { dpSgdStepsTaken: horizon })
      expect(l2(difference(await weights(), start))).toBeLessThan(1e-6)
      // Control: at the start of the horizon the same steps move the model.
      await trainer.train(2, { dpSgdStepsTaken: 0 })
      expect(l2(difference(await weights(), start))).toBeGreaterThan(0.01)
    } finally {
      await trainer.close()
    }
  })

  it('adds noise of standard deviation z·C / B to every coordinate (and none when the draw is empty is still noise)', () => {
    const model = build(DENSE)
    const z = 1.3
    const clip = 0.7
    const settings = plan({ clip, noiseMultiplier: z, expectedBatchSize: 8 })
    const dp = new DpSgd({ model, spec: DENSE, optimizer: tf.train.sgd(0.1), learningRate: 0.1, records: train.count, load: indices => tensors(train, indices), plan: settings })
    // An empty draw: the released gradient is pure noise.
    const empty = dp.noisyGradient([])
    const noise = flat(empty.gradients)
    const mean = noise.reduce((a, b) => a + b, 0) / noise.length
    const std = Math.sqrt(noise.reduce((a, b) => a + (b - mean) ** 2, 0) / (noise.length - 1))
    expect(noise.length).toBeGreaterThan(10_000)
    expect(Math.abs(std / (z * clip / 8) - 1)).toBeLessThan(0.03)
    expect(Math.abs(mean)).toBeLessThan(5 * z * clip / 8 / Math.sqrt(noise.length))
    // A real batch: noisy gradient minus the clipped sum / B is that same noise.
    const indices = [3, 5, 8, 13, 21]
    const { x, y } = tensors(train, indices)
    const exact = clippedGradientSum(model, DENSE, x, y, clip)
    const noisy = dp.noisyGradient(indices)
    const residual = difference(flat(noisy.gradients), Array.from(flat(exact.gradients), value => value / 8))
    expect(Math.abs(l2(residual) / Math.sqrt(residual.length) / (z * clip / 8) - 1)).toBeLessThan(0.03)
    tf.dispose([x, y, exact.norms, exact.lossSum, ...exact.gradients, ...noisy.gradients, ...empty.gradients])
    model.dispose()
  })

  it('samples each record independently with the plan\'s rate (Poisson)', () => {
    const random = new SecureUniform()
    const sizes = Array.from({ length: 400 }, () => random.poissonSample(1000, 0.05).length)
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length
    const variance = sizes.reduce((a, b) => a + (b - mean) ** 2, 0) / (sizes.length - 1)
    // Binomial(1000, 0.05): mean 50, variance 47.5; a fixed-size batch would have variance 0.
    expect(Math.abs(mean - 50)).toBeLessThan(2)
    expect(variance).toBeGreaterThan(30)
    expect(variance).toBeLessThan(70)
    const hits = new Array<number>(1000).fill(0)
    for (let i = 0; i < 400; i++) for (const index of random.poissonSample(1000, 0.05)) hits[index]!++
    expect(hits.filter(count => count > 0).length).toBeGreaterThan(990) // every record gets its chances
  })

  it('learns MNIST through LocalTrainer on this backend, and counts the expected batch size', async () => {
    const manifest = createManifest({ model: 'mlp', dataset: MNIST, training: { optimizer: 'adam', batchSize: 50, learningRate: 0.005 } })
    const trainer = await LocalTrainer.create(manifest, { train, test }, { recordPrivacy: { level: 'record', clip: 1, delta: 1e-5, noiseMultiplier: 0.8 } })
    try {
      expect(trainer.dpSgdPlan).toMatchObject({ samplingRate: 0.05, noiseMultiplier: 0.8, expectedBatchSize: 50 })
      const before = await trainer.evaluate('test')
      const result = await trainer.train(150)
      expect(result).toMatchObject({ steps: 150, samples: 7500 })
      const after = await trainer.evaluate('test')
      expect(before).toBeLessThan(0.2)
      expect(after).toBeGreaterThan(0.7)
    } finally {
      await trainer.close()
    }
  })

  it('applies the local algorithm\'s hooks to DP-SGD steps (a FedProx pull of 1 undoes every noisy step)', async () => {
    const privacy = { level: 'record', clip: 1, delta: 1e-5, noiseMultiplier: 1 } as const
    const training = { batchSize: 50, optimizer: 'sgd', learningRate: 0.5 } as const
    const pulled = await LocalTrainer.create(createManifest({ model: 'logistic', dataset: MNIST, training }), { train, test }, { recordPrivacy: privacy, algorithm: 'fedprox:2' })
    const control = await LocalTrainer.create(createManifest({ model: 'logistic', dataset: MNIST, training }), { train, test }, { recordPrivacy: privacy })
    try {
      const start = flat((await pulled.getWeights()).map(weight => tf.tensor(weight.values)))
      await Promise.all([pulled.train(3), control.train(3)])
      const moved = (trainer: LocalTrainer): Promise<number> => trainer.getWeights().then(weights => l2(difference(Float32Array.from(weights.flatMap(weight => Array.from(weight.values))), start)))
      expect(await moved(control)).toBeGreaterThan(0.01)
      expect(await moved(pulled)).toBeLessThan(1e-6)
    } finally {
      await pulled.close()
      await control.close()
    }
  })

  it('trains the dct-mlp (fixed DCT, then dense layers) with ghost norms and augmented copies through LocalTrainer', async () => {
    const manifest = createManifest({ model: 'dct-mlp', dataset: MNIST, training: { batchSize: 50, optimizer: 'sgd', learningRate: 2 } })
    const trainer = await LocalTrainer.create(manifest, { train, test }, { recordPrivacy: { level: 'record', clip: 1, delta: 1e-5, noiseMultiplier: 0.8, augmentations: 2 } })
    // Shifted copies need image records: a model of flat records refuses them.
    const flatManifest = createManifest({ model: 'logistic', dataset: { ...MNIST, inputShape: [784] } })
    const refusal = await LocalTrainer.create(flatManifest, { train, test }, { recordPrivacy: { level: 'record', clip: 1, delta: 1e-5, noiseMultiplier: 0.8, augmentations: 2 } }).then(() => null, (error: unknown) => error)
    expect(isMurmurError(refusal) && refusal.code).toBe('ERR_INVALID_ARGUMENT')
    try {
      expect(trainer.dpSgdPlan?.augmentations).toBe(2)
      const before = await trainer.evaluate('test')
      await trainer.train(100)
      const after = await trainer.evaluate('test')
      expect(before).toBeLessThan(0.2)
      expect(after).toBeGreaterThan(0.7)
      // The DCT has no weights: only the two dense layers are exchanged (64 × 64 + 64, 64 × 10 + 10).
      expect((await trainer.getWeights()).map(weight => weight.shape)).toEqual([[64, 64], [64], [64, 10], [10]])
    } finally {
      await trainer.close()
    }
  })
})

describe('planDpSgd', () => {
  it('calibrates the noise so the horizon spends the budget, with q = batch / records', () => {
    const plan = planDpSgd({ level: 'record', clip: 1, delta: 1e-5, epsilonBudget: 4, epochs: 10 }, 900, 30)
    expect(plan.samplingRate).toBeCloseTo(30 / 900, 12)
    expect(plan.horizonSteps).toBe(300)
    const spent = new RdpAccountant().compose(plan.noiseMultiplier, 300, plan.samplingRate).epsilon(1e-5).epsilon
    expect(spent).toBeLessThanOrEqual(4)
    expect(spent).toBeGreaterThan(3.99)
  })

  it('refuses, saying what to change, when the budget cannot be met', () => {
    const tight = errorOf(() => planDpSgd({ level: 'record', clip: 1, delta: 1e-5, epsilonBudget: 0.01, epochs: 100 }, 900, 30))
    expect(isMurmurError(tight, 'ERR_PRIVACY_BUDGET')).toBe(true)
    expect((tight as Error).message).toMatch(new RegExp(`cannot be met.*above the ${MAX_NOISE_MULTIPLIER}.*--dp-epsilon`))
    const bigDelta = errorOf(() => planDpSgd({ level: 'record', clip: 1, delta: 1e-2, epsilonBudget: 8, epochs: 10 }, 900, 30))
    expect((bigDelta as Error).message).toMatch(/not below 1 \/ 900/)
    const tooFew = errorOf(() => planDpSgd({ level: 'record', clip: 1, delta: 1e-5, noiseMultiplier: 1 }, 20, 32))
    expect((tooFew as Error).message).toMatch(/fewer than the batch size/)
  })
})
