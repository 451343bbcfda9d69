import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { subset } from '../src/data/dataset.js'
import { loadMnist } from '../src/data/mnist.js'
import { createRandom } from '../src/data/random.js'
import { isMurmurError } from '../src/errors.js'
import { selectBackend } from '../src/learning/backend.js'
import { LocalTrainer } from '../src/learning/local-trainer.js'
import { createManifest } from '../src/learning/manifest.js'
import { registerWasmGradientKernels } from '../src/learning/wasm-kernels/index.js'
import type { Weights } from '../src/learning/weights.js'

type Pair = [number, number]
type Shape4 = [number, number, number, number]
type Padding = 'valid' | 'same' | [Pair, Pair, Pair, Pair]
type Backend = 'wasm' | 'cpu'

const TOLERANCE = 1e-4
const PADDINGS: Padding[] = ['valid', 'same', [[0, 0], [1, 2], [2, 0], [0, 0]]]
// tfjs refuses strides > 1 together with dilations > 1, so the grid leaves those out.
const STRIDE_DILATIONS: Array<{ strides: number; dilations: number }> = [
  { strides: 1, dilations: 1 }, { strides: 2, dilations: 1 }, { strides: 1, dilations: 2 }
]

interface Result { readonly values: Float32Array; readonly shape: readonly number[] }

/** max |a - b| / max |b|: one number per tensor, insensitive to the tensor's scale. */
function relativeError (actual: Result, expected: Result): number {
  expect(actual.shape).toEqual(expected.shape)
  let difference = 0
  let scale = 0
  expected.values.forEach((value, index) => {
    difference = Math.max(difference, Math.abs((actual.values[index] ?? NaN) - value))
    scale = Math.max(scale, Math.abs(value))
  })
  return difference / Math.max(1e-6, scale)
}

function randomValues (shape: number[], seed: number): Float32Array {
  const random = createRandom(seed)
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random.next() * 2 - 1)
}

/** Runs one computation on a backend (releasing its inputs) and brings its result back as plain numbers. */
async function on (backend: Backend, compute: () => tf.Tensor): Promise<Result> {
  await tf.setBackend(backend)
  const tensor = tf.tidy(compute)
  const result = { values: Float32Array.from(await tensor.data()), shape: [...tensor.shape] }
  tensor.dispose()
  return result
}

function runKernel (kernelName: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap): tf.Tensor {
  return tf.engine().runKernel<tf.Tensor>(kernelName, inputs, attrs)
}

function outputShape (xShape: Shape4, filterShape: Shape4, strides: number, dilations: number, pad: Padding, depthwise: boolean): Shape4 {
  return tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, dilations, pad, undefined, depthwise).outShape
}

/** The filter a dilated convolution effectively applies: the taps spread out with zeros between. */
function spreadFilterShape ([height, width, inChannels, outChannels]: Shape4, dilations: number): Shape4 {
  return [(height - 1) * dilations + 1, (width - 1) * dilations + 1, inChannels, outChannels]
}

function spreadFilter (filter: tf.Tensor4D, dilations: number): tf.Tensor4D {
  if (dilations === 1) return filter.clone()
  const [height, width, inChannels, outChannels] = filter.shape
  const apart = filter.reshape([height, 1, width, 1, inChannels * outChannels])
    .pad([[0, 0], [0, dilations - 1], [0, 0], [0, dilations - 1], [0, 0]])
    .reshape([height * dilations, width * dilations, inChannels, outChannels])
  return apart.slice([0, 0, 0, 0], spreadFilterShape(filter.shape, dilations)) as tf.Tensor4D
}

/** Reference gradients on the cpu backend. Its kernels ignore dilations, so a dilated filter is handled as the spread-out filter it equals. */
function cpuFilterGradient (kernelName: string, x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: Shape4, attrs: tf.NamedAttrMap, dilations: number): tf.Tensor {
  const spread = runKernel(kernelName, { x, dy }, { ...attrs, dilations: 1, filterShape: spreadFilterShape(filterShape, dilations) })
  const taps = tf.stridedSlice(spread, [0, 0, 0, 0], spread.shape, [dilations, dilations, 1, 1])
  spread.dispose()
  return taps
}

const CONV_SHAPES: Array<{ x: Shape4; filter: Shape4 }> = [
  { x: [1, 7, 7, 1], filter: [3, 3, 1, 4] },
  { x: [3, 9, 8, 3], filter: [2, 3, 3, 5] }
]

const DEPTHWISE_SHAPES: Array<{ x: Shape4; filter: Shape4 }> = [
  { x: [1, 7, 7, 2], filter: [3, 3, 2, 1] },
  { x: [3, 9, 8, 3], filter: [2, 3, 3, 2] }
]

function grid (shapes: Array<{ x: Shape4; filter: Shape4 }>): Array<{ x: Shape4; filter: Shape4; strides: number; dilations: number; pad: Padding }> {
  return shapes.flatMap(shape => STRIDE_DILATIONS.flatMap(combination => PADDINGS.map(pad => ({ ...shape, ...combination, pad }))))
}

function label (pad: Padding): string {
  return typeof pad === 'string' ? pad : 'explicit'
}

describe('wasm gradient kernels against the cpu backend', () => {
  beforeAll(async () => {
    await selectBackend({ preference: 'wasm' })
    await selectBackend({ preference: 'cpu' })
  })

  it.each(grid(CONV_SHAPES))('Conv2DBackpropFilter x $x filter $filter strides $strides dilations $dilations pad $pad', async ({ x: xShape, filter: filterShape, strides, dilations, pad }) => {
    const dyShape = outputShape(xShape, filterShape, strides, dilations, pad, false)
    const xValues = randomValues(xShape, 1)
    const dyValues = randomValues(dyShape, 2)
    const attrs = { strides, pad, dataFormat: 'NHWC', filterShape }
    const actual = await on('wasm', () => runKernel(tf.Conv2DBackpropFilter, { x: tf.tensor4d(xValues, xShape), dy: tf.tensor4d(dyValues, dyShape) }, { ...attrs, dilations }))
    const expected = await on('cpu', () => tf.tidy(() => cpuFilterGradient(tf.Conv2DBackpropFilter, tf.tensor4d(xValues, xShape), tf.tensor4d(dyValues, dyShape), filterShape, attrs, dilations)))
    expect(relativeError(actual, expected), label(pad)).toBeLessThanOrEqual(TOLERANCE)
  })

  it.each(grid(DEPTHWISE_SHAPES))('DepthwiseConv2dNativeBackpropFilter x $x filter $filter strides $strides dilations $dilations pad $pad', async ({ x: xShape, filter: filterShape, strides, dilations, pad }) => {
    const dyShape = outputShape(xShape, filterShape, strides, dilations, pad, true)
    const xValues = randomValues(xShape, 3)
    const dyValues = randomValues(dyShape, 4)
    const attrs = { strides, pad, filterShape }
    const actual = await on('wasm', () => runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x: tf.tensor4d(xValues, xShape), dy: tf.tensor4d(dyValues, dyShape) }, { ...attrs, dilations }))
    const expected = await on('cpu', () => tf.tidy(() => cpuFilterGradient(tf.DepthwiseConv2dNativeBackpropFilter, tf.tensor4d(xValues, xShape), tf.tensor4d(dyValues, dyShape), filterShape, attrs, dilations)))
    expect(relativeError(actual, expected), label(pad)).toBeLessThanOrEqual(TOLERANCE)
  })

  it.each(grid(DEPTHWISE_SHAPES))('DepthwiseConv2dNativeBackpropInput x $x filter $filter strides $strides dilations $dilations pad $pad', async ({ x: xShape, filter: filterShape, strides, dilations, pad }) => {
    const dyShape = outputShape(xShape, filterShape, strides, dilations, pad, true)
    const filterValues = randomValues(filterShape, 5)
    const dyValues = randomValues(dyShape, 6)
    const actual = await on('wasm', () => runKernel(tf.DepthwiseConv2dNativeBackpropInput,
      { dy: tf.tensor4d(dyValues, dyShape), filter: tf.tensor4d(filterValues, filterShape) },
      { strides, dilations, pad, inputShape: xShape }))
    const expected = await on('cpu', () => tf.tidy(() => runKernel(tf.DepthwiseConv2dNativeBackpropInput,
      { dy: tf.tensor4d(dyValues, dyShape), filter: spreadFilter(tf.tensor4d(filterValues, filterShape), dilations) },
      { strides, dilations: 1, pad, inputShape: xShape })))
    expect(relativeError(actual, expected), label(pad)).toBeLessThanOrEqual(TOLERANCE)
  })

  it.each(grid(CONV_SHAPES))('Conv2DBackpropInput x $x filter $filter strides $strides dilations $dilations pad $pad', async ({ x: xShape, filter: filterShape, strides, dilations, pad }) => {
    const dyShape = outputShape(xShape, filterShape, strides, dilations, pad, false)
    const filterValues = randomValues(filterShape, 13)
    const dyValues = randomValues(dyShape, 14)
    const attrs = { strides, pad, dataFormat: 'NHWC', inputShape: xShape }
    const actual = await on('wasm', () => runKernel(tf.Conv2DBackpropInput,
      { dy: tf.tensor4d(dyValues, dyShape), filter: tf.tensor4d(filterValues, filterShape) }, { ...attrs, dilations }))
    const expected = await on('cpu', () => tf.tidy(() => runKernel(tf.Conv2DBackpropInput,
      { dy: tf.tensor4d(dyValues, dyShape), filter: spreadFilter(tf.tensor4d(filterValues, filterShape), dilations) }, attrs)))
    expect(relativeError(actual, expected)).toBeLessThanOrEqual(TOLERANCE)
  })

  it('Conv2DBackpropInput still reads channels-first gradients (through the backend\'s own kernel)', async () => {
    const filterShape: Shape4 = [3, 3, 2, 4]
    const inputShape: Shape4 = [2, 2, 7, 8]
    const dyShape: Shape4 = [2, 4, 5, 6]
    const [filter, dy] = [randomValues(filterShape, 15), randomValues(dyShape, 16)]
    const compute = (): tf.Tensor => runKernel(tf.Conv2DBackpropInput, { dy: tf.tensor4d(dy, dyShape), filter: tf.tensor4d(filter, filterShape) },
      { strides: 1, pad: 'valid', dataFormat: 'NCHW', inputShape })
    expect(relativeError(await on('wasm', compute), await on('cpu', compute))).toBeLessThanOrEqual(TOLERANCE)
  })

  it.each([
    { x: [2, 8, 8, 3], filterSize: 2, strides: 2, pad: 'valid' },
    { x: [3, 9, 7, 2], filterSize: 2, strides: 2, pad: 'same' },
    { x: [2, 9, 9, 4], filterSize: 3, strides: 1, pad: 'same' },
    { x: [1, 10, 11, 2], filterSize: 3, strides: 2, pad: 'valid' }
  ] as Array<{ x: Shape4; filterSize: number; strides: number; pad: 'valid' | 'same' }>)('MaxPoolGrad x $x window $filterSize strides $strides pad $pad, with ties and negative windows', async ({ x: xShape, filterSize, strides, pad }) => {
    // Few distinct values, some negative: ties inside windows and all-negative windows both occur.
    const xValues = randomValues(xShape, 17).map(value => Math.round(value * 3) / 3 - 0.5)
    const dyShape = tf.backend_util.computePool2DInfo(xShape, filterSize, strides, 1, pad).outShape
    const dyValues = randomValues(dyShape, 18)
    const compute = (): tf.Tensor => tf.tidy(() => {
      const x = tf.tensor4d(xValues, xShape)
      return runKernel(tf.MaxPoolGrad, { dy: tf.tensor4d(dyValues, dyShape), input: x, output: tf.maxPool(x, filterSize, strides, pad) }, { filterSize, strides, pad })
    })
    expect(relativeError(await on('wasm', compute), await on('cpu', compute))).toBeLessThanOrEqual(TOLERANCE)
  })

  it('MaxPoolGrad treats NaN and -Infinity as the cpu backend does', async () => {
    const xShape: Shape4 = [1, 4, 6, 1]
    const xValues = Float32Array.from([
      NaN, 1, -Infinity, -Infinity, 2, NaN,
      0.5, 3, -Infinity, -Infinity, NaN, NaN,
      NaN, NaN, 4, 4, -1, -2,
      NaN, NaN, 4, 1, -2, -1
    ])
    const dyValues = Float32Array.from([1, 2, 3, 4, 5, 6])
    const compute = (): tf.Tensor => tf.tidy(() => {
      const x = tf.tensor4d(xValues, xShape)
      return runKernel(tf.MaxPoolGrad, { dy: tf.tensor4d(dyValues, [1, 2, 3, 1]), input: x, output: tf.maxPool(x, 2, 2, 'valid') }, { filterSize: 2, strides: 2, pad: 'valid' })
    })
    const [actual, expected] = [await on('wasm', compute), await on('cpu', compute)]
    expect(Array.from(actual.values)).toEqual(Array.from(expected.values))
  })

  it.each([
    { a: [5, 7], b: [7, 3], transposeA: false, transposeB: false },
    { a: [7, 5], b: [7, 3], transposeA: true, transposeB: false },
    { a: [5, 7], b: [3, 7], transposeA: false, transposeB: true },
    { a: [7, 5], b: [3, 7], transposeA: true, transposeB: true },
    { a: [1, 7, 5], b: [1, 7, 3], transposeA: true, transposeB: false },
    { a: [2, 7, 5], b: [2, 3, 7], transposeA: true, transposeB: true }
  ])('BatchMatMul a $a b $b transposeA $transposeA transposeB $transposeB', async ({ a: aShape, b: bShape, transposeA, transposeB }) => {
    const [a, b] = [randomValues(aShape, 19), randomValues(bShape, 20)]
    const compute = (): tf.Tensor => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), transposeA, transposeB)
    expect(relativeError(await on('wasm', compute), await on('cpu', compute))).toBeLessThanOrEqual(TOLERANCE)
  })

  // The whole tfjs gradient path (as model training takes it), relu, pooling and a dense layer included.
  it.each([
    { strides: 1, pad: 'valid' as const, batch: 1 },
    { strides: 2, pad: 'same' as const, batch: 4 },
    { strides: 2, pad: 'valid' as const, batch: 2 }
  ])('tf.grads of a conv, relu, pool, matMul and depthwise loss agree: strides $strides pad $pad batch $batch', async ({ strides, pad, batch }) => {
    const xShape: Shape4 = [batch, 9, 11, 3]
    const filterShape: Shape4 = [3, 3, 3, 4]
    const depthwiseShape: Shape4 = [3, 2, 3, 2]
    const [x, filter, depthwise] = [randomValues(xShape, 7), randomValues(filterShape, 8), randomValues(depthwiseShape, 9)]
    // the input gradient (of both convolutions together), the conv filter's and the depthwise filter's
    for (const part of [0, 1, 2]) {
      const compute = (): tf.Tensor => tf.tidy(() => {
        const gradients = tf.grads((input: tf.Tensor, weights: tf.Tensor, depthWeights: tf.Tensor) => {
          const convolved = tf.conv2d(input as tf.Tensor4D, weights as tf.Tensor4D, strides, pad)
          const pooled = tf.maxPool(tf.relu(convolved), 2, 2, 'same').reshape([batch, -1])
          const separate = tf.depthwiseConv2d(input as tf.Tensor4D, depthWeights as tf.Tensor4D, strides, pad)
          return tf.matMul(pooled, pooled, true, false).mean().add(separate.sin().sum())
        })([tf.tensor4d(x, xShape), tf.tensor4d(filter, filterShape), tf.tensor4d(depthwise, depthwiseShape)])
        return gradients[part] as tf.Tensor
      })
      expect(relativeError(await on('wasm', compute), await on('cpu', compute)), `part ${part}`).toBeLessThanOrEqual(TOLERANCE)
    }
  })

  it('releases every intermediate tensor', async () => {
    await tf.setBackend('wasm')
    const backend = tf.engine().backend
    const x = tf.tensor4d(randomValues([2, 9, 9, 3], 10), [2, 9, 9, 3])
    const dy = tf.tensor4d(randomValues([2, 5, 5, 6], 11), [2, 5, 5, 6])
    const filter = tf.tensor4d(randomValues([3, 3, 3, 2], 12), [3, 3, 3, 2])
    const wideFilter = tf.tensor4d(randomValues([3, 3, 3, 6], 13), [3, 3, 3, 6])
    const before = { tensors: tf.memory().numTensors, data: backend.numDataIds() }
    const attrs = { strides: 2, pad: 'same', dilations: 1 }
    const results = [
      runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, dataFormat: 'NHWC', filterShape: [3, 3, 3, 6] }),
      runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, { ...attrs, filterShape: [3, 3, 3, 2] }),
      runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter }, { ...attrs, inputShape: [2, 9, 9, 3] }),
      runKernel(tf.Conv2DBackpropInput, { dy, filter: wideFilter }, { ...attrs, dataFormat: 'NHWC', inputShape: [2, 9, 9, 3] })
    ]
    expect(tf.memory().numTensors).toBe(before.tensors + results.length)
    expect(backend.numDataIds()).toBe(before.data + results.length)
    tf.dispose([...results, x, dy, filter, wideFilter])
  })

  it('refuses channels-first data with a typed error instead of misreading it', async () => {
    await tf.setBackend('wasm')
    const x = tf.zeros([1, 1, 5, 5])
    const dy = tf.zeros([1, 1, 3, 3])
    let error: unknown
    try {
      runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NCHW', filterShape: [3, 3, 1, 1] })
    } catch (caught) {
      error = caught
    }
    expect(isMurmurError(error, 'ERR_INVALID_ARGUMENT')).toBe(true)
    expect(String(error)).toMatch(/NCHW/)
    tf.dispose([x, dy])
  })

  it('registers once: repeating it neither warns nor replaces the kernels', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const before = tf.getKernel(tf.Conv2DBackpropFilter, 'wasm').kernelFunc
    registerWasmGradientKernels()
    registerWasmGradientKernels()
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm').kernelFunc).toBe(before)
    expect(warn).not.toHaveBeenCalled()
    warn.mockRestore()
  })
})

describe('the cnn model trains on wasm', () => {
  const manifest = createManifest({ model: 'cnn', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 } })

  async function trainedWeights (backend: Backend, steps: number): Promise<Weights> {
    const mnist = await loadMnist()
    const trainer = await LocalTrainer.create(manifest, { train: subset(mnist.train, Array.from({ length: 512 }, (_, i) => i)) }, { backend })
    try {
      await trainer.train(steps)
      return await trainer.getWeights()
    } finally {
      await trainer.close()
    }
  }

  it('reaches 0.8 test accuracy on 2,000 digits', async () => {
    const mnist = await loadMnist()
    const trainer = await LocalTrainer.create(manifest, { train: subset(mnist.train, Array.from({ length: 4000 }, (_, i) => i)), test: mnist.test }, { backend: 'wasm' })
    try {
      expect(trainer.backend).toBe('wasm')
      expect(mnist.test.count).toBe(2000)
      const result = await trainer.train(300)
      expect(Number.isFinite(result.loss)).toBe(true)
      expect(await trainer.evaluate('test')).toBeGreaterThanOrEqual(0.8)
    } finally {
      await trainer.close()
    }
  })

  it('takes the same steps as the cpu backend, up to float rounding', async () => {
    const steps = 4
    const wasm = await trainedWeights('wasm', steps)
    const cpu = await trainedWeights('cpu', steps)
    expect(wasm.map(tensor => tensor.shape)).toEqual(cpu.map(tensor => tensor.shape))
    wasm.forEach((tensor, index) => {
      const reference = cpu[index]!
      expect(relativeError(tensor, reference), `weight ${index}`).toBeLessThanOrEqual(1e-3)
    })
  })
})
