import { idle, type Clock } from '../../src/core/clock.js'
import type { NodeTrainer } from '../../src/core/node-trainer.js'
import { createRandom, type Random } from '../../src/data/random.js'
import type { EvaluationSplit, TrainResult } from '../../src/learning/trainer.js'
import type { Weights } from '../../src/learning/weights.js'

/** Records as arrays: `features` row-major, `count` rows of `inputs` values. */
export interface Records {
  readonly features: Float32Array
  readonly labels: Int32Array
  readonly count: number
}

export interface SoftmaxTrainerInit {
  readonly inputs: number
  readonly classes: number
  readonly train: Records
  readonly holdout: Records
  readonly test?: Records
  /** the manifest's initial weights: [kernel inputs × classes, bias classes], as the 'logistic' model has them */
  readonly initial: Weights
  readonly batchSize: number
  readonly learningRate: number
  readonly seed: number
  readonly clock: Clock
  /** virtual time one step takes (the trainer's compute speed) */
  readonly msPerStep: number
}

/**
 * A real learner at test scale: multinomial logistic regression (the manifest's 'logistic' model:
 * one dense softmax layer) trained by minibatch SGD in plain JavaScript, its weights in the same
 * layout TF.js uses. A step takes `msPerStep` of the test's clock, so nodes on a virtual clock run
 * at a speed the test chooses, and a thousand steps cost milliseconds of real time.
 */
export class SoftmaxTrainer implements NodeTrainer {
  readonly backend = 'javascript'
  readonly dpSgdPlan = null
  readonly trainSamples: number
  readonly holdoutSamples: number
  private kernel: Float32Array
  private bias: Float32Array
  private readonly random: Random
  private readonly init: SoftmaxTrainerInit
  private readonly probabilities: Float64Array
  closed = false

  constructor (init: SoftmaxTrainerInit) {
    this.init = init
    this.trainSamples = init.train.count
    this.holdoutSamples = init.holdout.count
    this.kernel = Float32Array.from((init.initial[0] as { values: Float32Array }).values)
    this.bias = Float32Array.from((init.initial[1] as { values: Float32Array }).values)
    this.random = createRandom(init.seed)
    this.probabilities = new Float64Array(init.classes)
  }

  /** softmax of one row's logits into this.probabilities */
  private forward (features: Float32Array, row: number): void {
    const { inputs, classes } = this.init
    const offset = row * inputs
    let max = -Infinity
    for (let c = 0; c < classes; c++) {
      let sum = this.bias[c] as number
      for (let i = 0; i < inputs; i++) sum += (features[offset + i] as number) * (this.kernel[i * classes + c] as number)
      this.probabilities[c] = sum
      if (sum > max) max = sum
    }
    let total = 0
    for (let c = 0; c < classes; c++) {
      const value = Math.exp((this.probabilities[c] as number) - max)
      this.probabilities[c] = value
      total += value
    }
    for (let c = 0; c < classes; c++) this.probabilities[c] = (this.probabilities[c] as number) / total
  }

  async train (steps: number): Promise<TrainResult> {
    if (this.closed) throw new Error('the trainer is closed')
    const { inputs, classes, batchSize, learningRate, train } = this.init
    let loss = 0
    const kernelGradient = new Float64Array(inputs * classes)
    const biasGradient = new Float64Array(classes)
    for (let step = 0; step < steps; step++) {
      kernelGradient.fill(0)
      biasGradient.fill(0)
      for (let b = 0; b < batchSize; b++) {
        const row = this.random.integer(train.count)
        this.forward(train.features, row)
        const label = train.labels[row] as number
        loss -= Math.log(Math.max(this.probabilities[label] as number, 1e-12))
        for (let c = 0; c < classes; c++) {
          const error = (this.probabilities[c] as number) - (c === label ? 1 : 0)
          biasGradient[c] = (biasGradient[c] as number) + error
          for (let i = 0; i < inputs; i++) kernelGradient[i * classes + c] = (kernelGradient[i * classes + c] as number) + error * (train.features[row * inputs + i] as number)
        }
      }
      const scale = learningRate / batchSize
      for (let j = 0; j < kernelGradient.length; j++) this.kernel[j] = (this.kernel[j] as number) - scale * (kernelGradient[j] as number)
      for (let c = 0; c < classes; c++) this.bias[c] = (this.bias[c] as number) - scale * (biasGradient[c] as number)
    }
    await idle(this.init.clock, steps * this.init.msPerStep, new AbortController().signal)
    return { steps, samples: steps * batchSize, loss: steps === 0 ? 0 : loss / (steps * batchSize) }
  }

  async getWeights (): Promise<Weights> {
    return [
      { shape: [this.init.inputs, this.init.classes], values: Float32Array.from(this.kernel) },
      { shape: [this.init.classes], values: Float32Array.from(this.bias) }
    ]
  }

  async setWeights (weights: Weights): Promise<void> {
    this.kernel = Float32Array.from((weights[0] as { values: Float32Array }).values)
    this.bias = Float32Array.from((weights[1] as { values: Float32Array }).values)
  }

  /** the class the current weights predict for each record */
  predictions (records: Records): number[] {
    return Array.from({ length: records.count }, (_, row) => {
      this.forward(records.features, row)
      let best = 0
      for (let c = 1; c < this.init.classes; c++) if ((this.probabilities[c] as number) > (this.probabilities[best] as number)) best = c
      return best
    })
  }

  /** accuracy of the current weights on some records */
  accuracyOn (records: Records): number {
    if (records.count === 0) return 0
    return this.predictions(records).filter((label, row) => label === records.labels[row]).length / records.count
  }

  async evaluate (split: EvaluationSplit): Promise<number | null> {
    const records = split === 'holdout' ? this.init.holdout : this.init.test
    return records === undefined ? null : this.accuracyOn(records)
  }

  async close (): Promise<void> {
    this.closed = true
  }
}
