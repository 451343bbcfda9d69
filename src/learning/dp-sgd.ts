import * as tf from '@tensorflow/tfjs'
import type { DpSgdPlan } from './dp-sgd-plan.js'
import type { ModelSpec } from './models.js'
import { clippedGradientSum, perExampleMethod, type PerExampleMethod } from './per-example-gradients.js'
import { SecureUniform } from './secure-random.js'
import type { TrainResult } from './trainer.js'

/** Builds the input and label tensors of the given records (the caller's own layout). */
export type BatchLoader = (indices: readonly number[]) => { x: tf.Tensor; y: tf.Tensor }

export interface DpSgdInit {
  readonly model: tf.LayersModel
  readonly spec: ModelSpec
  /** the optimizer that takes the noisy gradient: the model's own, so its state carries over */
  readonly optimizer: tf.Optimizer
  readonly records: number
  readonly load: BatchLoader
  readonly plan: DpSgdPlan
  /** for tests only: the default draws sampling and noise from Web Crypto, as privacy requires */
  readonly random?: SecureUniform
}

/**
 * DP-SGD (Abadi et al. 2016, Algorithm 1) for one node's records:
 * 1. Poisson sampling — every record joins the step's batch independently with probability q, so
 *    the batch size varies; the accountant composes exactly this subsampled Gaussian mechanism
 *    (Mironov, Talwar, Zhang 2019). The draw is secret (Web Crypto), as the amplification assumes.
 * 2. each record's gradient is clipped to L2 norm ≤ C (per-example-gradients.ts);
 * 3. N(0, (zC)²) is added to every coordinate of the clipped sum, which is divided by the expected
 *    batch size qN (a constant: dividing by the drawn size would make the scale data-dependent);
 * 4. the model's optimizer (Adam or SGD) takes that noisy gradient: post-processing, free of charge.
 * A step whose draw is empty still adds its noise and moves the model, as the analysis assumes.
 */
export class DpSgd {
  readonly method: PerExampleMethod
  private readonly init: DpSgdInit
  private readonly random: SecureUniform
  private readonly variables: tf.Variable[]

  constructor (init: DpSgdInit) {
    this.init = init
    this.method = perExampleMethod(init.spec)
    this.random = init.random ?? new SecureUniform()
    this.variables = init.model.trainableWeights.map(weight => weight.read() as tf.Variable)
  }

  get plan (): DpSgdPlan {
    return this.init.plan
  }

  /**
   * The noisy, clipped gradient of one Poisson-sampled batch, one tensor per trainable weight (the
   * caller disposes them), and the batch's summed loss.
   */
  noisyGradient (indices: readonly number[] = this.sample()): { gradients: tf.Tensor[]; lossSum: number; batch: number } {
    const { clip, noiseMultiplier, expectedBatchSize } = this.init.plan
    let sums: tf.Tensor[]
    let lossSum = 0
    if (indices.length === 0) {
      sums = this.variables.map(variable => tf.zerosLike(variable))
    } else {
      const { x, y } = this.init.load(indices)
      const labels = tf.tidy(() => y.cast<tf.Tensor1D>('int32'))
      try {
        const result = clippedGradientSum(this.init.model, this.init.spec, x, labels, clip, this.method)
        sums = result.gradients
        lossSum = result.lossSum.dataSync()[0] ?? 0
        result.lossSum.dispose()
        result.norms.dispose()
      } finally {
        tf.dispose([x, y, labels])
      }
    }
    const gradients = sums.map(sum => {
      const values = Float32Array.from(sum.dataSync())
      this.random.addGaussian(values, noiseMultiplier * clip)
      for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) / expectedBatchSize
      const noisy = tf.tensor(values, sum.shape)
      sum.dispose()
      return noisy
    })
    return { gradients, lossSum, batch: indices.length }
  }

  /** This step's Poisson sample of the node's records. */
  sample (): number[] {
    return this.random.poissonSample(this.init.records, this.init.plan.samplingRate)
  }

  /** One DP-SGD step: the optimizer applies one noisy gradient. Returns the drawn batch's summed loss and size. */
  step (): { lossSum: number; batch: number } {
    const { gradients, lossSum, batch } = this.noisyGradient()
    try {
      const named: tf.NamedTensorMap = {}
      this.variables.forEach((variable, index) => { named[variable.name] = gradients[index] as tf.Tensor })
      this.init.optimizer.applyGradients(named)
    } finally {
      tf.dispose(gradients)
    }
    return { lossSum, batch }
  }

  /** `steps` DP-SGD steps; samples are counted as steps × the expected batch size (the drawn sizes are private). */
  train (steps: number): Promise<TrainResult> {
    let lossTotal = 0
    let drawn = 0
    for (let step = 0; step < steps; step++) {
      const { lossSum, batch } = this.step()
      lossTotal += lossSum
      drawn += batch
    }
    return Promise.resolve({ steps, samples: steps * this.init.plan.expectedBatchSize, loss: drawn > 0 ? lossTotal / drawn : 0 })
  }
}
