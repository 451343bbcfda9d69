import * as tf from '@tensorflow/tfjs'
import { batchMatMulWithFallback } from './batch-mat-mul.js'
import { conv2dBackpropFilter } from './conv2d-backprop-filter.js'
import { conv2dBackpropInputWithFallback } from './conv2d-backprop-input.js'
import { depthwiseConv2dBackpropFilter } from './depthwise-backprop-filter.js'
import { depthwiseConv2dBackpropInput } from './depthwise-backprop-input.js'
import { maxPoolGrad } from './max-pool-grad.js'

interface KernelPlan {
  readonly kernelName: string
  /** builds our kernel; given the backend's own one, if it has one, to fall back on */
  readonly build: (native: tf.KernelFunc | undefined) => tf.KernelFunc
}

/**
 * The gradient kernels TF.js's wasm backend lacks, built from kernels it has. Without them training
 * any convolutional model on wasm throws at the first backward pass.
 */
const MISSING: readonly KernelPlan[] = [
  { kernelName: tf.Conv2DBackpropFilter, build: () => conv2dBackpropFilter },
  { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, build: () => depthwiseConv2dBackpropFilter },
  { kernelName: tf.DepthwiseConv2dNativeBackpropInput, build: () => depthwiseConv2dBackpropInput }
]

/**
 * Kernels the wasm backend has but runs as plain loops in some cases that training always hits: the
 * first two took over half of each step of a small CNN, the third most of each step of an MLP. Ours
 * give the same results (up to float summation order) several times faster.
 */
const FASTER: readonly KernelPlan[] = [
  { kernelName: tf.Conv2DBackpropInput, build: conv2dBackpropInputWithFallback },
  { kernelName: tf.MaxPoolGrad, build: () => maxPoolGrad },
  { kernelName: tf.BatchMatMul, build: batchMatMulWithFallback }
]

/** Every kernel function murmur registered, so that registering again can recognise them. */
const ours = new WeakSet<tf.KernelFunc>()

function registeredKernel (kernelName: string): tf.KernelConfig | undefined {
  // tfjs types this as always found, but it returns undefined for an unregistered kernel
  return tf.getKernel(kernelName, 'wasm')
}

function register (plan: KernelPlan, native: tf.KernelConfig | undefined): void {
  const kernelFunc = plan.build(native?.kernelFunc)
  ours.add(kernelFunc)
  if (native !== undefined) tf.unregisterKernel(plan.kernelName, 'wasm')
  // The backend's own setup and disposal still run, so the fallback works after a re-initialisation.
  tf.registerKernel({
    kernelName: plan.kernelName,
    backendName: 'wasm',
    kernelFunc,
    ...(native?.setupFunc === undefined ? {} : { setupFunc: native.setupFunc }),
    ...(native?.disposeFunc === undefined ? {} : { disposeFunc: native.disposeFunc })
  })
}

/**
 * Registers murmur's wasm kernels: the missing gradients, and faster versions of slow ones. Safe
 * to call any number of times. A missing kernel that the backend turns out to provide (a later TF.js
 * release may ship native ones) is left alone.
 */
export function registerWasmGradientKernels (): void {
  for (const plan of MISSING) {
    if (registeredKernel(plan.kernelName) === undefined) register(plan, undefined)
  }
  for (const plan of FASTER) {
    const current = registeredKernel(plan.kernelName)
    if (current === undefined || !ours.has(current.kernelFunc)) register(plan, current)
  }
}
