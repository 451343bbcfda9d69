import type { OptimizerName } from './manifest.js'

/**
 * The manifest's optimizers on flat parameter arrays, with TF.js's constants and update order
 * (tf.train.adam: β1 0.9, β2 0.999, ε 1e-7; bias correction by 1 − β^t), so a simulated node follows
 * the same trajectory as a node training with TF.js, up to float rounding.
 */
export interface FlatOptimizer {
  /** params ← params − update(gradient), in place */
  apply (parameters: Float32Array, gradient: Float32Array): void
}

const BETA1 = 0.9
const BETA2 = 0.999
const EPSILON = 1e-7

class Sgd implements FlatOptimizer {
  constructor (private readonly learningRate: number) {}

  apply (parameters: Float32Array, gradient: Float32Array): void {
    const rate = this.learningRate
    for (let i = 0; i < parameters.length; i++) parameters[i] = (parameters[i] as number) - rate * (gradient[i] as number)
  }
}

class Adam implements FlatOptimizer {
  private readonly first: Float32Array
  private readonly second: Float32Array
  /** β1^t and β2^t for the step being taken (TF.js's accBeta1/accBeta2) */
  private power1 = BETA1
  private power2 = BETA2

  constructor (private readonly learningRate: number, size: number) {
    this.first = new Float32Array(size)
    this.second = new Float32Array(size)
  }

  apply (parameters: Float32Array, gradient: Float32Array): void {
    const first = this.first
    const second = this.second
    const correction1 = 1 - this.power1
    const correction2 = 1 - this.power2
    const rate = this.learningRate
    for (let i = 0; i < parameters.length; i++) {
      const g = gradient[i] as number
      const m = BETA1 * (first[i] as number) + (1 - BETA1) * g
      const v = BETA2 * (second[i] as number) + (1 - BETA2) * g * g
      first[i] = m
      second[i] = v
      parameters[i] = (parameters[i] as number) - rate * (m / correction1) / (Math.sqrt(v / correction2) + EPSILON)
    }
    this.power1 *= BETA1
    this.power2 *= BETA2
  }
}

export function createFlatOptimizer (name: OptimizerName, learningRate: number, size: number): FlatOptimizer {
  return name === 'adam' ? new Adam(learningRate, size) : new Sgd(learningRate)
}
