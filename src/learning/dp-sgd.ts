import * as tf from '@tensorflow/tfjs'
import { createRandom, type Random } from '../data/random.js'
import { shiftedCopies } from './augmentation.js'
import { learningRateScale, type DpSgdPlan } from './dp-sgd-plan.js'
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
  /** the manifest's learning rate: what the schedule (learningRateScale) scales for an SGD optimizer */
  readonly learningRate: number
  readonly records: number
  readonly load: BatchLoader
  readonly plan: DpSgdPlan
  /** for tests only: the default draws sampling and noise from Web Crypto, as privacy requires */
  readonly random?: SecureUniform
  /** seeds the shifts of augmented copies (default 0); they need not be secret */
  readonly augmentationSeed?: number
}

/**
 * The optimizer when its learning rate can be set (SGD and momentum), else null (Adam). Checked by
 * method: TF.js optimizers answer `instanceof` by duck typing, so an Adam optimizer passes
 * `instanceof tf.SGDOptimizer`.
 */
function scheduled (optimizer: tf.Optimizer): { setLearningRate: (rate: number) => void } | null {
  const candidate = optimizer as tf.Optimizer & { setLearningRate?: unknown }
  return typeof candidate.setLearningRate === 'function' ? candidate as unknown as { setLearningRate: (rate: number) => void } : null
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
 *    SGD's learning rate follows a cosine decay over the budget's horizon (learningRateScale), set
 *    from the node's step count over all its runs (stepsTaken, restored from the privacy ledger).
 * A step whose draw is empty still adds its noise and moves the model, as the analysis assumes.
 * With plan.augmentations = K > 1, each drawn record enters as K shifted copies whose gradients are
 * averaged before clipping (augmentation.ts): the bound C per record, hence the privacy, is unchanged.
 */
export class DpSgd {
  readonly method: PerExampleMethod
  private readonly init: DpSgdInit
  private readonly random: SecureUniform
  private readonly variables: tf.Variable[]
  private readonly shifts: Random
  /**
   * DP-SGD steps this node has taken, over all its runs: where the learning-rate schedule stands. The
   * trainer sets it from the privacy ledger before each round; it counts on from there.
   */
  stepsTaken = 0

  constructor (init: DpSgdInit) {
    this.init = init
    this.method = perExampleMethod(init.spec)
    this.random = init.random ?? new SecureUniform()
    this.shifts = createRandom(init.augmentationSeed ?? 0)
    this.variables = init.model.trainableWeights.map(weight => weight.read() as tf.Variable)
  }

  /** The batch's rows: each drawn record as it is, or as plan.augmentations shifted copies in a row. */
  private rows (indices: readonly number[]): { x: tf.Tensor; labels: tf.Tensor1D } {
    const copies = this.init.plan.augmentations
    const { x, y } = this.init.load(indices)
    try {
      if (copies === 1) return { x, labels: tf.tidy(() => y.cast<tf.Tensor1D>('int32')) }
      const [height, width, channels] = x.shape.slice(1) as [number, number, number]
      const features = shiftedCopies(x.dataSync() as Float32Array, [height, width, channels], copies, this.shifts)
      const classes = y.dataSync()
      const labels = new Int32Array(indices.length * copies)
      for (let row = 0; row < labels.length; row++) labels[row] = classes[Math.floor(row / copies)] as number
      return { x: tf.tensor(features, [indices.length * copies, height, width, channels]), labels: tf.tensor1d(labels, 'int32') }
    } finally {
      if (copies !== 1) x.dispose()
      y.dispose()
    }
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
      const { x, labels } = this.rows(indices)
      try {
        const result = clippedGradientSum(this.init.model, this.init.spec, x, labels, clip, this.method, this.init.plan.augmentations)
        sums = result.gradients
        lossSum = result.lossSum.dataSync()[0] ?? 0
        result.lossSum.dispose()
        result.norms.dispose()
      } finally {
        tf.dispose([x, labels])
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

  /** The learning rate of the next step under the schedule (the manifest's for Adam, which sizes its own steps). */
  learningRate (): number {
    return scheduled(this.init.optimizer) === null ? this.init.learningRate : this.init.learningRate * learningRateScale(this.init.plan, this.stepsTaken)
  }

  /** One DP-SGD step: the optimizer applies one noisy gradient. Returns the drawn batch's summed loss and size. */
  step (): { lossSum: number; batch: number } {
    scheduled(this.init.optimizer)?.setLearningRate(this.learningRate())
    const { gradients, lossSum, batch } = this.noisyGradient()
    this.stepsTaken++
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
