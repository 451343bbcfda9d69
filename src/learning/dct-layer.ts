import * as tf from '@tensorflow/tfjs'

/*
 * A fixed two-dimensional discrete cosine transform (orthonormal DCT-II, the basis of JPEG) of each
 * channel of an image, keeping the size × size lowest frequencies: [n, h, w, c] → [n, size, size, c].
 *
 * Why murmur has it: under record-level DP-SGD the noise is added to every trainable weight, so the
 * noise a model takes grows with its number of weights, while a small training set (a node's few
 * hundred records) cannot pay for many. A data-independent transform of the input chosen in advance
 * (Tramèr & Boneh, "Differentially Private Learning Needs Better Features (or Much More Data)", ICLR
 * 2021) shrinks the first layer without spending privacy: it has no weights and looks at no data but
 * the one record it transforms. The low DCT frequencies keep most of a handwritten digit's energy
 * (64 of 784 values). The `dct-mlp` model starts with it.
 */

/** Orthonormal DCT-II basis, `size` rows of `length` values: row u is √(a/length)·cos(π(i + ½)u / length). */
function basis (size: number, length: number): Float32Array {
  const rows = new Float32Array(size * length)
  for (let u = 0; u < size; u++) {
    const scale = Math.sqrt((u === 0 ? 1 : 2) / length)
    for (let i = 0; i < length; i++) rows[u * length + i] = scale * Math.cos(Math.PI * (i + 0.5) * u / length)
  }
  return rows
}

/**
 * The transform of one channel as a matrix from the height × width pixels (row-major) to the
 * size × size coefficients (row-major, u over v): M[(i·w + j), (u·size + v)] = D_h[u, i] · D_w[v, j].
 */
export function dctMatrix (height: number, width: number, size: number): Float32Array {
  const rows = basis(size, height)
  const columns = basis(size, width)
  const matrix = new Float32Array(height * width * size * size)
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      const row = (i * width + j) * size * size
      for (let u = 0; u < size; u++) {
        const a = rows[u * height + i] as number
        for (let v = 0; v < size; v++) matrix[row + u * size + v] = a * (columns[v * width + j] as number)
      }
    }
  }
  return matrix
}

/** The transform applied to a batch [n, h, w, c]; differentiable (reshapes, transposes, one matMul). */
export function dct2d (input: tf.Tensor4D, matrix: tf.Tensor2D, size: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [count, height, width, channels] = input.shape
    const perChannel = channels === 1 ? input.reshape([count, height * width]) : input.transpose([0, 3, 1, 2]).reshape([count * channels, height * width])
    const coefficients = perChannel.matMul(matrix)
    return channels === 1
      ? coefficients.reshape([count, size, size, 1])
      : coefficients.reshape([count, channels, size, size]).transpose([0, 2, 3, 1])
  })
}

interface Dct2dArgs {
  size: number
  inputShape?: number[]
  name?: string
}

/**
 * The transform as a tfjs-layers layer (class name MurmurDct2d, registered with TF.js's serializer, so
 * a model murmur exports loads where this module has been imported). No weights.
 */
export class Dct2dLayer extends tf.layers.Layer {
  static readonly className = 'MurmurDct2d'
  readonly size: number
  private matrix: tf.Tensor2D | null = null

  constructor (args: Dct2dArgs) {
    super(args)
    this.size = args.size
  }

  override build (inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape
    const height = shape[1] ?? 0
    const width = shape[2] ?? 0
    this.matrix?.dispose()
    this.matrix = tf.keep(tf.tensor2d(dctMatrix(height, width, this.size), [height * width, this.size * this.size]))
    super.build(inputShape)
  }

  override computeOutputShape (inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape
    return [shape[0] ?? null, this.size, this.size, shape[3] ?? null]
  }

  override call (inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const input = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D
    if (this.matrix === null) throw new Error('unreachable: tfjs-layers builds a layer before calling it')
    return dct2d(input, this.matrix, this.size)
  }

  override getConfig (): tf.serialization.ConfigDict {
    return { ...super.getConfig(), size: this.size }
  }

  override dispose (): ReturnType<tf.layers.Layer['dispose']> {
    this.matrix?.dispose()
    this.matrix = null
    return super.dispose()
  }
}

tf.serialization.registerClass(Dct2dLayer)
