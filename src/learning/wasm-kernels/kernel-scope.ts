import * as tf from '@tensorflow/tfjs'
import { MurmurError } from '../../errors.js'

/** What a kernel needs of the backend it runs on: releasing the intermediate tensors it made. */
interface ReleasingBackend {
  disposeData (dataId: tf.DataId, force?: boolean): boolean
}

function isReleasingBackend (backend: object): backend is ReleasingBackend {
  return typeof (backend as { disposeData?: unknown }).disposeData === 'function'
}

/**
 * Runs the wasm backend's own kernels from inside another kernel. High-level ops cannot be used there
 * (the engine is already inside a kernel call and would record them on the tape), so composite kernels
 * call kernel functions directly and must release every intermediate result themselves: this scope
 * remembers each one and releases all but the result in `close`.
 */
export class KernelScope {
  private readonly backend: object & ReleasingBackend
  private readonly intermediates: tf.TensorInfo[] = []

  constructor (backend: object) {
    if (!isReleasingBackend(backend)) throw new MurmurError('ERR_BACKEND_UNAVAILABLE', 'a wasm gradient kernel ran on a backend that cannot release tensors')
    this.backend = backend
  }

  /** Runs one single-output wasm kernel; its result is released on `close` unless it is kept. */
  run (kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const config = tf.getKernel(kernelName, 'wasm') as tf.KernelConfig | undefined
    if (config === undefined) throw new MurmurError('ERR_BACKEND_UNAVAILABLE', `the wasm backend has no ${kernelName} kernel to build gradients from`)
    return this.call(kernelName, config.kernelFunc, inputs, attrs)
  }

  /** Runs a given kernel function, for one that is no longer registered under its name. */
  call (kernelName: string, kernelFunc: tf.KernelFunc, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const output = kernelFunc({ inputs, backend: this.backend, attrs })
    if (Array.isArray(output)) throw new MurmurError('ERR_BACKEND_UNAVAILABLE', `the wasm ${kernelName} kernel returned several tensors where one was expected`)
    this.intermediates.push(output)
    return output
  }

  reshape (x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run(tf.Reshape, { x }, { shape })
  }

  transpose (x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run(tf.Transpose, { x }, { perm })
  }

  /** Takes the window [begin, begin + size) of x, or x itself when that window is all of it. */
  crop (x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
    const whole = begin.every(start => start === 0) && size.every((length, axis) => length === x.shape[axis])
    return whole ? x : this.run(tf.Slice, { x }, { begin, size })
  }

  /** Hands a result to the caller: `close` will not release it. */
  keep (result: tf.TensorInfo): tf.TensorInfo {
    const index = this.intermediates.lastIndexOf(result)
    if (index >= 0) this.intermediates.splice(index, 1)
    return result
  }

  /** Releases every intermediate; reshapes share storage, and the backend counts references for them. */
  close (): void {
    for (const info of this.intermediates.splice(0)) this.backend.disposeData(info.dataId)
  }
}
