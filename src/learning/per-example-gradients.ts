import * as tf from '@tensorflow/tfjs'
import { MurmurError } from '../errors.js'
import { dct2d, dctMatrix } from './dct-layer.js'
import { isTopologySpec, type Activation, type LayerListModelSpec, type LayerSpec, type ModelSpec } from './models.js'

/*
 * The sum over a batch of each example's loss gradient, every example's gradient first clipped to
 * L2 norm ≤ C over all the model's weights together: the sensitivity-bounded part of DP-SGD (Abadi,
 * Chu, Goodfellow, McMahan, Mironov, Talwar, Zhang 2016, "Deep Learning with Differential Privacy",
 * Algorithm 1).
 *
 * Fast path — models of dense layers (flatten, dense with relu / linear / tanh / sigmoid, softmax
 * output with cross-entropy), optionally after max-pooling or DCT layers on the input (fixed
 * transforms of each record with no weights: they only shrink what the dense layers see, as the
 * `dct-mlp` model's DCT does). For a dense layer z = aW + b, example i's weight gradient is the outer
 * product a_iᵀ g_i of its input a_i and the gradient g_i of its loss at the layer's output z_i, so its
 * squared norm is ‖a_i‖²·‖g_i‖² and the bias adds ‖g_i‖² (Goodfellow 2015, "Efficient Per-Example
 * Gradient Computations"; the "ghost norm" of Li, Tramèr, Liang, Hashimoto 2022). Every example's
 * norm comes from the activations and output gradients of one ordinary forward and backward pass,
 * and the clipped sum is Aᵀ·diag(c)·G — one matrix product per layer, as in plain training: no
 * per-example gradient is ever materialised (Lee & Kifer 2021 do the same for more layer types).
 *
 * Fallback — anything else (convolutions, pooling): the gradient of each example on its own
 * (microbatches of one), clipped and summed. Exact, and as many backward passes as examples.
 *
 * Augmentation multiplicity (augmentation.ts): with `copies` = K > 1 the batch holds K consecutive
 * rows per example and an example's gradient is the MEAN of its rows' gradients, clipped as one. For
 * a dense layer that mean is (1/K)·A_iᵀG_i (A_i, G_i: the example's K rows of inputs and output
 * gradients), whose squared norm is (1/K²)·Σ_jk (a_j·a_k)(g_j·g_k): two K × K Gram matrices per
 * example, still no per-example gradient materialised.
 */

export interface ClippedGradientSum {
  /** Σ_i clip(∇ℓ_i), one tensor per trainable weight in the model's order (caller disposes) */
  readonly gradients: tf.Tensor[]
  /** Σ_i ℓ_i, the batch's summed loss (caller disposes) */
  readonly lossSum: tf.Scalar
  /** each example's gradient norm before clipping (caller disposes) */
  readonly norms: tf.Tensor1D
}

/** Which of the two ways a model's per-example gradients are computed. */
export type PerExampleMethod = 'ghost-norm' | 'microbatch'

const HIDDEN_ACTIVATIONS: ReadonlySet<Activation> = new Set(['relu', 'linear', 'tanh', 'sigmoid'])

type InputTransform = Extract<LayerSpec, { type: 'maxPooling2d' | 'dct2d' }>

/** The max-pooling and DCT layers a model starts with: weightless, applied to the input before anything trains. */
function leadingTransforms (spec: LayerListModelSpec): InputTransform[] {
  const transforms: InputTransform[] = []
  for (const layer of spec.layers) {
    if (layer.type !== 'maxPooling2d' && layer.type !== 'dct2d') break
    transforms.push(layer)
  }
  return transforms
}

/** DCT matrices by input size, kept for the process: every step of a node uses the same one. */
const dctMatrices = new Map<string, tf.Tensor2D>()

function dctMatrixTensor (height: number, width: number, size: number): tf.Tensor2D {
  const key = `${height}x${width}:${size}`
  let matrix = dctMatrices.get(key)
  if (matrix === undefined || matrix.isDisposed) {
    matrix = tf.keep(tf.tensor2d(dctMatrix(height, width, size), [height * width, size * size]))
    dctMatrices.set(key, matrix)
  }
  return matrix
}

/** A leading transform as tfjs-layers applies it: pooling with stride = pool size and 'valid' padding; the DCT of dct-layer.ts. */
function transformInput (input: tf.Tensor4D, transform: InputTransform): tf.Tensor4D {
  if (transform.type === 'maxPooling2d') return tf.maxPool(input, transform.poolSize, transform.poolSize, 'valid')
  return dct2d(input, dctMatrixTensor(input.shape[1], input.shape[2], transform.size), transform.size)
}

/**
 * 'ghost-norm' when every layer is flatten or dense (after leading max-pooling or DCT layers, if any) and the
 * output is a softmax, else 'microbatch'.
 */
export function perExampleMethod (spec: ModelSpec): PerExampleMethod {
  // A user's TF.js topology may hold any supported layer (docs/models.md): one example at a time.
  if (isTopologySpec(spec)) return 'microbatch'
  const dense = spec.layers.filter((layer): layer is Extract<LayerSpec, { type: 'dense' }> => layer.type === 'dense')
  const onlyDense = spec.layers.slice(leadingTransforms(spec).length).every(layer => layer.type === 'flatten' || layer.type === 'dense')
  const last = spec.layers[spec.layers.length - 1]
  if (!onlyDense || last?.type !== 'dense' || last.activation !== 'softmax') return 'microbatch'
  return dense.slice(0, -1).every(layer => HIDDEN_ACTIVATIONS.has(layer.activation)) ? 'ghost-norm' : 'microbatch'
}

/** Probabilities are clipped as tfjs-layers' sparseCategoricalCrossentropy does. */
const PROBABILITY_FLOOR = 1e-7
/** keeps C / norm finite for an all-zero gradient */
const NORM_FLOOR = 1e-12

function activate (z: tf.Tensor, activation: Activation): tf.Tensor {
  switch (activation) {
    case 'relu': return tf.relu(z)
    case 'tanh': return tf.tanh(z)
    case 'sigmoid': return tf.sigmoid(z)
    case 'softmax': return tf.softmax(z)
    case 'linear': return z
  }
}

/** dℓ/dz from dℓ/da for a = act(z), written with the layer's output a (softmax never gets here). */
function backThroughActivation (gradient: tf.Tensor, output: tf.Tensor, activation: Activation): tf.Tensor {
  switch (activation) {
    case 'relu': return gradient.mul(output.greater(0).cast('float32'))
    case 'tanh': return gradient.mul(tf.scalar(1).sub(output.square()))
    case 'sigmoid': return gradient.mul(output.mul(tf.scalar(1).sub(output)))
    case 'linear':
    case 'softmax': return gradient
  }
}

/** min(1, C / norm) for each example. */
function clipFactors (squaredNorms: tf.Tensor1D, clip: number): { factors: tf.Tensor1D; norms: tf.Tensor1D } {
  const norms = squaredNorms.sqrt()
  const factors = tf.minimum(tf.scalar(1), tf.scalar(clip).div(norms.maximum(NORM_FLOOR)))
  return { factors: factors as tf.Tensor1D, norms: norms }
}

/**
 * Ghost-norm clipping for a model of dense layers; `weights` are its trainable weights (kernel, bias
 * per dense layer), `x` a batch of inputs and `labels` their classes (int32).
 */
function ghostNormClippedSum (spec: LayerListModelSpec, weights: readonly tf.Tensor[], x: tf.Tensor, labels: tf.Tensor1D, clip: number, copies: number): ClippedGradientSum {
  return tf.tidy(() => {
    const count = x.shape[0] ?? 0
    const examples = count / copies
    const layers = spec.layers.filter((layer): layer is Extract<LayerSpec, { type: 'dense' }> => layer.type === 'dense')
    const inputs: tf.Tensor2D[] = []
    const outputs: tf.Tensor2D[] = []
    const transformed = leadingTransforms(spec).reduce<tf.Tensor4D>(transformInput, x as tf.Tensor4D)
    let activation: tf.Tensor2D = transformed.reshape([count, -1])
    let logits: tf.Tensor2D | null = null
    layers.forEach((layer, index) => {
      const kernel = weights[2 * index] as tf.Tensor2D
      const bias = weights[2 * index + 1] as tf.Tensor1D
      inputs.push(activation)
      const z: tf.Tensor2D = activation.matMul(kernel).add(bias)
      if (index === layers.length - 1) logits = z
      activation = activate(z, layer.activation) as tf.Tensor2D
      outputs.push(activation)
    })
    if (logits === null) throw new Error('unreachable: a ghost-norm model ends in a dense layer')
    const probabilities = outputs[outputs.length - 1] as tf.Tensor2D
    const oneHot = tf.oneHot(labels, probabilities.shape[1] ?? 0).cast<tf.Tensor2D>('float32')
    // An example's loss is the mean over its copies.
    const lossSum = probabilities.clipByValue(PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR).log().mul(oneHot).sum().neg().div<tf.Scalar>(copies)
    // Softmax with cross-entropy: each row's gradient at the logits is p_i − onehot(y_i), over K for the mean of K copies.
    const outputGradients: tf.Tensor2D[] = new Array<tf.Tensor2D>(layers.length)
    let gradient: tf.Tensor2D = copies === 1 ? probabilities.sub(oneHot) : probabilities.sub(oneHot).div(copies)
    for (let index = layers.length - 1; index >= 0; index--) {
      outputGradients[index] = gradient
      if (index > 0) {
        const kernel = weights[2 * index] as tf.Tensor2D
        const previous = layers[index - 1] as Extract<LayerSpec, { type: 'dense' }>
        gradient = backThroughActivation(gradient.matMul(kernel, false, true), outputs[index - 1] as tf.Tensor2D, previous.activation) as tf.Tensor2D
      }
    }
    // ‖∇ℓ_i‖² = Σ_layers (‖a_i‖² + 1)·‖g_i‖²: the kernel's outer product and the bias; with copies,
    // Σ_layers Σ_jk (a_j·a_k + 1)(g_j·g_k) over the example's rows (g already divided by K).
    let squaredNorms: tf.Tensor1D = tf.zeros([examples])
    layers.forEach((_, index) => {
      const input = inputs[index] as tf.Tensor2D
      const output = outputGradients[index] as tf.Tensor2D
      if (copies === 1) {
        squaredNorms = squaredNorms.add(input.square().sum(1).add(1).mul(output.square().sum(1)))
      } else {
        const rows = input.reshape([examples, copies, -1])
        const gradientRows = output.reshape([examples, copies, -1])
        const inputGram = rows.matMul(rows, false, true).add(1)
        const gradientGram = gradientRows.matMul(gradientRows, false, true)
        squaredNorms = squaredNorms.add(inputGram.mul(gradientGram).sum([1, 2]))
      }
    })
    const { factors, norms } = clipFactors(squaredNorms, clip)
    // Every row of an example is scaled by that example's factor.
    const rowFactors = copies === 1 ? factors.expandDims(1) : factors.expandDims(1).tile([1, copies]).reshape([count, 1])
    const gradients: tf.Tensor[] = []
    layers.forEach((_, index) => {
      const scaled = (outputGradients[index] as tf.Tensor2D).mul<tf.Tensor2D>(rowFactors)
      gradients.push((inputs[index] as tf.Tensor2D).matMul(scaled, true, false), scaled.sum(0))
    })
    return { gradients, lossSum, norms }
  })
}

/** One example's loss under the model (softmax output and cross-entropy, as the model is compiled): the mean over its rows (copies). */
function exampleLoss (model: tf.LayersModel, x: tf.Tensor, oneHot: tf.Tensor): tf.Scalar {
  const probabilities = model.apply(x, { training: true }) as tf.Tensor
  return probabilities.clipByValue(PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR).log().mul(oneHot).sum().neg().div<tf.Scalar>(x.shape[0] ?? 1)
}

/** Per-example gradients one example (its `copies` rows) at a time, clipped and summed: works for any layer TF.js can differentiate. */
function microbatchClippedSum (model: tf.LayersModel, x: tf.Tensor, labels: tf.Tensor1D, classes: number, clip: number, copies: number): ClippedGradientSum {
  const variables = model.trainableWeights.map(weight => weight.read() as tf.Variable)
  const count = (x.shape[0] ?? 0) / copies
  let sums: tf.Tensor[] = variables.map(variable => tf.zerosLike(variable))
  let lossSum: tf.Scalar = tf.scalar(0)
  const norms: number[] = []
  const oneHots = tf.tidy(() => tf.oneHot(labels, classes).cast('float32'))
  try {
    for (let index = 0; index < count; index++) {
      const next = tf.tidy(() => {
        const example = x.slice(index * copies, copies)
        const oneHot = oneHots.slice(index * copies, copies)
        const { value, grads } = tf.variableGrads(() => exampleLoss(model, example, oneHot), variables)
        const gradients = variables.map(variable => grads[variable.name] as tf.Tensor)
        const squared = gradients.reduce<tf.Scalar>((total, gradient) => total.add(gradient.square().sum()), tf.scalar(0))
        const norm = squared.sqrt()
        const factor = tf.minimum(tf.scalar(1), tf.scalar(clip).div(norm.maximum(NORM_FLOOR)))
        return { sums: gradients.map((gradient, i) => (sums[i] as tf.Tensor).add(gradient.mul(factor))), loss: lossSum.add<tf.Scalar>(value), norm }
      })
      tf.dispose([...sums, lossSum])
      sums = next.sums
      lossSum = next.loss
      norms.push(next.norm.dataSync()[0] ?? 0)
      next.norm.dispose()
    }
  } finally {
    oneHots.dispose()
  }
  return { gradients: sums, lossSum, norms: tf.tensor1d(norms) }
}

/**
 * Σ_i clip_C(∇ℓ_i) over the batch (x, labels) for the model built from `spec`: ghost norms for dense
 * models, one example at a time otherwise (see the top of this file). With `copies` = K, the batch
 * holds K consecutive rows per example (its augmented copies, same label) and ∇ℓ_i is their mean.
 */
export function clippedGradientSum (model: tf.LayersModel, spec: ModelSpec, x: tf.Tensor, labels: tf.Tensor1D, clip: number, method: PerExampleMethod = perExampleMethod(spec), copies = 1): ClippedGradientSum {
  const classes = model.outputs[0]?.shape[1] ?? 0
  if (!Number.isInteger(copies) || copies < 1 || (x.shape[0] ?? 0) % copies !== 0) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `a batch of ${x.shape[0] ?? 0} rows does not hold ${copies} copies of each example`)
  }
  if (method === 'ghost-norm' && !isTopologySpec(spec)) {
    return ghostNormClippedSum(spec, model.trainableWeights.map(weight => weight.read()), x, labels, clip, copies)
  }
  return microbatchClippedSum(model, x, labels, classes, clip, copies)
}
