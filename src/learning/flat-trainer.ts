import { labelCounts } from '../data/label-skew.js'
import { createRandom, type Random } from '../data/random.js'
import { MurmurError } from '../errors.js'
import type { Manifest } from './manifest.js'
import type { TrainResult } from './trainer.js'
import type { Weights } from './weights.js'
import type { DenseNetwork } from './dense-network.js'
import { createFlatLocalAlgorithm, type FlatLocalAlgorithm } from './flat-local-algorithm.js'
import { createFlatOptimizer, type FlatOptimizer } from './flat-optimizer.js'
import type { SparseRows } from './sparse-rows.js'

/** The rows of the shared data one simulated node holds (row numbers, not copies). */
export interface NodeRows {
  readonly train: Int32Array
  readonly holdout: Int32Array
}

export interface FlatTrainerInit {
  readonly manifest: Manifest
  /** the one network every node of the simulation shares (its scratch buffers too) */
  readonly network: DenseNetwork
  readonly data: SparseRows
  readonly rows: NodeRows
  /** the order the node visits its rows */
  readonly seed: number
  /** the node's starting weights */
  readonly initial: Weights
  /** a scratch array for gradients, shared by all nodes (training is one node at a time) */
  readonly gradient: Float32Array
}

/**
 * One simulated node's training, synchronous, on flat arrays: its parameters, its optimizer's state
 * and its local algorithm's state are all it owns; the network, the data and the gradient buffer are
 * shared. It does what LocalTrainer does per round: beginRound, then per step a batch in the node's
 * own shuffled order, an optimizer step and the local algorithm's correction.
 */
export class FlatTrainer {
  readonly parameters: Float32Array
  private readonly optimizer: FlatOptimizer
  private readonly algorithm: FlatLocalAlgorithm
  private readonly random: Random
  private readonly batchSize: number
  private order: Int32Array
  private cursor: number
  private readonly batch: Int32Array

  constructor (private readonly init: FlatTrainerInit) {
    if (init.rows.train.length === 0) throw new MurmurError('ERR_INVALID_DATA', 'a node needs at least one training sample')
    const { manifest, network } = init
    this.parameters = network.flatten(init.initial)
    this.optimizer = createFlatOptimizer(manifest.training.optimizer, manifest.training.learningRate, network.parameterCount)
    this.algorithm = createFlatLocalAlgorithm(manifest.training.algorithm, manifest.training.learningRate)
    this.random = createRandom(init.seed)
    this.batchSize = manifest.training.batchSize
    this.order = new Int32Array(init.rows.train.length)
    this.cursor = this.order.length
    this.batch = new Int32Array(this.batchSize)
  }

  get trainSamples (): number {
    return this.init.rows.train.length
  }

  get holdoutSamples (): number {
    return this.init.rows.holdout.length
  }

  /** how many of its training records carry each class */
  get labelCounts (): number[] {
    return labelCounts(this.init.data.labels, this.init.data.classes, this.init.rows.train)
  }

  private nextBatch (): Int32Array {
    const train = this.init.rows.train
    for (let i = 0; i < this.batchSize; i++) {
      if (this.cursor >= this.order.length) {
        // A fresh shuffle of the node's rows every epoch (LocalTrainer's order, on row positions).
        for (let j = 0; j < this.order.length; j++) this.order[j] = j
        for (let j = this.order.length - 1; j > 0; j--) {
          const k = Math.floor(this.random.next() * (j + 1))
          const swap = this.order[j] as number
          this.order[j] = this.order[k] as number
          this.order[k] = swap
        }
        this.cursor = 0
      }
      this.batch[i] = train[this.order[this.cursor++] as number] as number
    }
    return this.batch
  }

  train (steps: number): TrainResult {
    this.beginRound(steps)
    let loss = 0
    for (let step = 0; step < steps; step++) loss += this.step()
    return { steps, samples: steps * this.batchSize, loss: steps > 0 ? loss / steps : 0 }
  }

  /**
   * A round taken one step at a time (`train` is this, then `steps` calls of `step`), for a caller
   * that must do other work between steps.
   */
  beginRound (steps: number): void {
    this.algorithm.beginRound(this.parameters, steps)
  }

  /** one batch: gradient, optimizer step, the local algorithm's correction; returns the batch's mean loss */
  step (): number {
    const { network, data, gradient } = this.init
    const loss = network.gradient(this.parameters, data, this.nextBatch(), gradient)
    this.optimizer.apply(this.parameters, gradient)
    this.algorithm.afterStep(this.parameters)
    return loss
  }

  /** samples per step */
  get samplesPerStep (): number {
    return this.batchSize
  }

  /** A copy of the node's weights, as tensors. */
  getWeights (): Weights {
    return this.init.network.weights(Float32Array.from(this.parameters))
  }

  setWeights (weights: Weights): void {
    this.init.network.flatten(weights, this.parameters)
  }

  /** accuracy on the node's held-out rows; null when it holds none */
  holdoutAccuracy (): number | null {
    return this.init.rows.holdout.length === 0 ? null : this.init.network.accuracy(this.parameters, this.init.data, this.init.rows.holdout)
  }
}
