import * as tf from '@tensorflow/tfjs'
import { MurmurError } from '../../errors.js'
import { KernelScope } from './kernel-scope.js'

const NAME = tf.BatchMatMul

function isSingleMatrix (info: tf.TensorInfo | undefined): info is tf.TensorInfo {
  return info !== undefined && info.dtype === 'float32' && info.shape.length >= 2 && info.shape.slice(0, -2).every(size => size === 1)
}

/** Swaps the last two axes. */
function transposeLastTwo (scope: KernelScope, x: tf.TensorInfo): tf.TensorInfo {
  const perm = x.shape.map((_, axis) => axis)
  const rank = perm.length
  perm[rank - 2] = rank - 1
  perm[rank - 1] = rank - 2
  return scope.transpose(x, perm)
}

/**
 * The wasm backend multiplies single matrices with XNNPACK only when neither is transposed; with a
 * transpose (every dense layer's backward pass: x^T dy and dy W^T) it falls back to a plain triple
 * loop that is an order of magnitude slower. Transposing the operand first (one cheap copy) and
 * multiplying untransposed gives the same product through XNNPACK.
 */
export function batchMatMulWithFallback (native: tf.KernelFunc | undefined): tf.KernelFunc {
  if (native === undefined) throw new MurmurError('ERR_BACKEND_UNAVAILABLE', `the wasm backend has no ${NAME} kernel to speed up`)
  return parameters => {
    const { inputs, backend, attrs = {} } = parameters
    const { a, b } = inputs
    const transposeA = attrs.transposeA === true
    const transposeB = attrs.transposeB === true
    if ((!transposeA && !transposeB) || !isSingleMatrix(a) || !isSingleMatrix(b)) return native(parameters)
    const scope = new KernelScope(backend)
    try {
      return scope.keep(scope.call(NAME, native, {
        a: transposeA ? transposeLastTwo(scope, a) : a,
        b: transposeB ? transposeLastTwo(scope, b) : b
      }, { ...attrs, transposeA: false, transposeB: false }))
    } finally {
      scope.close()
    }
  }
}
