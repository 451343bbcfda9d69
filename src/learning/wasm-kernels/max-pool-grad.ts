import * as tf from '@tensorflow/tfjs'
import { MurmurError } from '../../errors.js'
import { inputOf, poolAttributes, requireShape, type Shape4 } from './conv-attributes.js'

const NAME = tf.MaxPoolGrad

/** The parts of the wasm backend that let a kernel read and write tensors in its heap directly. */
interface HeapBackend {
  makeOutput (shape: number[], dtype: 'float32'): tf.TensorInfo
  typedArrayFromHeap (info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array
}

function isHeapBackend (backend: object): backend is HeapBackend {
  const candidate = backend as { makeOutput?: unknown; typedArrayFromHeap?: unknown }
  return typeof candidate.makeOutput === 'function' && typeof candidate.typedArrayFromHeap === 'function'
}

function floats (backend: HeapBackend, info: tf.TensorInfo): Float32Array {
  const values = backend.typedArrayFromHeap(info)
  if (!(values instanceof Float32Array)) throw new MurmurError('ERR_INVALID_ARGUMENT', `${NAME} on wasm: expected float32 tensors`)
  return values
}

/** One pooling window: rows [rowStart, rowEnd) and columns [columnStart, columnEnd) of one sample's image. */
interface Window {
  readonly first: number
  readonly rows: number
  readonly columns: number
  readonly rowStride: number
  readonly channels: number
}

/** Index of the first largest value in the window (NaN never wins), or -1 when there is none above -Infinity. */
function firstMaximum (values: Float32Array, window: Window): number {
  let best = Number.NEGATIVE_INFINITY
  let where = -1
  for (let row = 0, start = window.first; row < window.rows; row++, start += window.rowStride) {
    for (let column = 0, index = start; column < window.columns; column++, index += window.channels) {
      const value = values[index] as number
      if (value > best) {
        best = value
        where = index
      }
    }
  }
  return where
}

/** Index of the first value equal to target in the window, or -1. */
function firstEqual (values: Float32Array, window: Window, target: number): number {
  for (let row = 0, start = window.first; row < window.rows; row++, start += window.rowStride) {
    for (let column = 0, index = start; column < window.columns; column++, index += window.channels) {
      if (values[index] === target) return index
    }
  }
  return -1
}

/** firstEqual for a whole 2x2 window, by far the most common: unrolled, it runs a third faster. */
function firstEqualInSquare (values: Float32Array, first: number, columnStep: number, rowStep: number, target: number): number {
  if (values[first] === target) return first
  if (values[first + columnStep] === target) return first + columnStep
  if (values[first + rowStep] === target) return first + rowStep
  if (values[first + rowStep + columnStep] === target) return first + rowStep + columnStep
  return -1
}

/**
 * Routes each output gradient to the first largest input of its pooling window (row-major order, as
 * the cpu backend and TensorFlow do); windows that overlap add up. The wasm backend's own kernel
 * recomputes the maxima through a generic 3-D pooling loop and takes several milliseconds per batch
 * of a small CNN; one pass over the windows in plain JavaScript takes a fraction of that.
 * (That kernel also drops the gradient of every window whose maximum is zero or less: it starts its
 * search from the smallest positive float. This version does not copy that.)
 */
export function maxPoolGrad ({ inputs, backend, attrs = {} }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  if (!isHeapBackend(backend)) throw new MurmurError('ERR_BACKEND_UNAVAILABLE', `${NAME}: this kernel needs the wasm backend's heap`)
  const dy = inputOf(NAME, inputs, 'dy')
  const x = inputOf(NAME, inputs, 'input')
  const { filterSize, strides, pad, dimRoundingMode } = poolAttributes(NAME, attrs)
  const info = tf.backend_util.computePool2DInfo(x.shape as Shape4, filterSize, strides, 1, pad, dimRoundingMode)
  requireShape(NAME, 'dy', dy, info.outShape)
  const pooled = inputs.output
  if (pooled !== undefined) requireShape(NAME, 'output', pooled, info.outShape)
  const [batch, height, width, channels] = x.shape as Shape4
  const { outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info

  const output = backend.makeOutput([...x.shape], 'float32')
  // Views are taken after the allocation above: growing the heap detaches older ones.
  const dx = floats(backend, output).fill(0)
  const xValues = floats(backend, x)
  const dyValues = floats(backend, dy)
  // The forward pass's maxima, when given, turn each search into "find the first equal value", whose
  // branch mispredicts far less often than a running maximum's.
  const maxima = pooled === undefined ? undefined : floats(backend, pooled)
  const rowStride = width * channels
  for (let sample = 0; sample < batch; sample++) {
    for (let row = 0; row < outHeight; row++) {
      const top = row * strideHeight - info.padInfo.top
      const rowStart = Math.max(0, top)
      const rows = Math.min(height, top + filterHeight) - rowStart
      for (let column = 0; column < outWidth; column++) {
        const left = column * strideWidth - info.padInfo.left
        const columnStart = Math.max(0, left)
        const columns = Math.min(width, left + filterWidth) - columnStart
        const gradientBase = ((sample * outHeight + row) * outWidth + column) * channels
        const corner = ((sample * height + rowStart) * width + columnStart) * channels
        const square = rows === 2 && columns === 2
        for (let channel = 0; channel < channels; channel++) {
          const first = corner + channel
          const target = maxima === undefined ? Number.NaN : maxima[gradientBase + channel] as number
          let where = -1
          if (target > Number.NEGATIVE_INFINITY) {
            where = square
              ? firstEqualInSquare(xValues, first, channels, rowStride, target)
              : firstEqual(xValues, { first, rows, columns, rowStride, channels }, target)
          }
          // A NaN or -Infinity maximum (or none given) takes the full search, which matches the cpu backend there.
          if (where < 0) where = firstMaximum(xValues, { first, rows, columns, rowStride, channels })
          if (where >= 0) dx[where] = (dx[where] as number) + (dyValues[gradientBase + channel] as number)
        }
      }
    }
  }
  return output
}
