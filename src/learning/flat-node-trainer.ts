import type { Dataset } from '../data/dataset.js'
import { labelCounts } from '../data/label-skew.js'
import { assertDataFitsManifest } from './data-fit.js'
import type { DpSgdPlan } from './dp-sgd-plan.js'
import { DenseNetwork } from './dense-network.js'
import { FlatTrainer } from './flat-trainer.js'
import { initialWeights } from './initial-weights.js'
import type { LocalTrainerOptions, TrainingData } from './local-trainer.js'
import type { Manifest } from './manifest.js'
import { sparseRows, type SparseRows } from './sparse-rows.js'
import type { EvaluationSplit, Trainer, TrainResult } from './trainer.js'
import type { Weights } from './weights.js'

/** What a node's status names as its backend when it trains with the flat trainer. */
export const FLAT_BACKEND = 'flat'

/**
 * Whether a node trains with the flat trainer instead of TF.js: its model is dense layers with a
 * softmax output (logistic, mlp), it trains without record-level DP-SGD (per-example gradients are
 * TF.js's), and no TF.js backend was asked for by name.
 */
export function flatTrainerFits (manifest: Manifest, options: Pick<LocalTrainerOptions, 'backend' | 'recordPrivacy'> = {}): boolean {
  return options.backend === undefined && options.recordPrivacy === undefined && DenseNetwork.supports(manifest.model)
}

export interface FlatNodeTrainerOptions extends Pick<LocalTrainerOptions, 'seed' | 'algorithm'> {
  /**
   * awaited once a time slice of training or evaluation is used up, so that training on a thread
   * that has other work (a node's main thread) leaves it room; without it a round runs in one go
   */
  readonly pause?: () => Promise<void>
  /**
   * milliseconds of steps (or evaluation) between two pauses (default 20). One step per pause
   * would make a round take as many turns of the event loop as it has steps, and a flood of
   * connections makes every turn long: a node under a flood then all but stopped training and
   * sharing (test/attacks.test.ts, "hostile load")
   */
  readonly sliceMs?: number
}

export const DEFAULT_TRAINING_SLICE_MS = 20

/** rows scored between two looks at the clock */
const EVALUATION_SLICE = 128

/**
 * A node's trainer for dense models in plain JavaScript (dense-network.ts, flat-trainer.ts): the
 * same steps as LocalTrainer with TF.js — the same initial weights, batch order, optimizer and local
 * algorithm (test/flat-node-trainer.test.ts compares the weights) — without loading TF.js or its
 * wasm memory, which is most of a training worker's memory. The node's rows are kept once, sparse.
 */
export class FlatNodeTrainer implements Trainer {
  readonly backend = FLAT_BACKEND
  readonly trainSamples: number
  readonly holdoutSamples: number
  readonly labelCounts: readonly number[]
  /** record-level DP-SGD is TF.js's: a node with it never trains here */
  readonly dpSgdPlan: DpSgdPlan | null = null
  private readonly network: DenseNetwork
  private readonly trainer: FlatTrainer
  private readonly holdout: SparseRows | null
  private readonly test: SparseRows | null
  private readonly pause: (() => Promise<void>) | null
  private readonly sliceMs: number
  /**
   * when the current slice began: the last pause. Not reset when a round starts: rounds shorter
   * than a slice would then never pause, and a node whose rounds follow one another would never
   * give its event loop a turn
   */
  private sliceStart = 0

  private constructor (network: DenseNetwork, trainer: FlatTrainer, data: TrainingData, pause: (() => Promise<void>) | null, sliceMs: number) {
    this.network = network
    this.trainer = trainer
    this.pause = pause
    this.sliceMs = sliceMs
    this.trainSamples = data.train.count
    this.holdoutSamples = data.holdout?.count ?? 0
    this.labelCounts = labelCounts(data.train.labels, data.train.classes)
    this.holdout = sparseOrNull(data.holdout)
    this.test = sparseOrNull(data.test)
  }

  static create (manifest: Manifest, data: TrainingData, options: FlatNodeTrainerOptions = {}): FlatNodeTrainer {
    assertDataFitsManifest(manifest, data.train)
    const { inputShape } = manifest.dataset
    const network = DenseNetwork.create(manifest.model, inputShape)
    const algorithm = options.algorithm ?? 'dsgd'
    const trainer = new FlatTrainer({
      manifest: { ...manifest, training: { ...manifest.training, algorithm } },
      network,
      data: sparseRows(data.train),
      rows: { train: Int32Array.from({ length: data.train.count }, (_, row) => row), holdout: new Int32Array(0) },
      seed: options.seed ?? manifest.seed,
      initial: initialWeights(manifest.model, inputShape, manifest.seed),
      gradient: new Float32Array(network.parameterCount)
    })
    return new FlatNodeTrainer(network, trainer, data, options.pause ?? null, options.sliceMs ?? DEFAULT_TRAINING_SLICE_MS)
  }

  async train (steps: number): Promise<TrainResult> {
    if (this.pause === null) return this.trainer.train(steps)
    this.trainer.beginRound(steps)
    let loss = 0
    for (let step = 0; step < steps; step++) {
      loss += this.trainer.step()
      await this.pauseWhenSliceUsed()
    }
    return { steps, samples: steps * this.trainer.samplesPerStep, loss: steps > 0 ? loss / steps : 0 }
  }

  getWeights (): Promise<Weights> {
    return Promise.resolve(this.trainer.getWeights())
  }

  setWeights (weights: Weights): Promise<void> {
    this.trainer.setWeights(weights)
    return Promise.resolve()
  }

  async evaluate (split: EvaluationSplit): Promise<number | null> {
    const data = split === 'holdout' ? this.holdout : this.test
    if (data === null) return null
    const rows = allRows(data.count)
    if (this.pause === null) return this.network.accuracy(this.trainer.parameters, data, rows)
    let correct = 0
    for (let start = 0; start < rows.length; start += EVALUATION_SLICE) {
      const slice = rows.subarray(start, start + EVALUATION_SLICE)
      correct += this.network.accuracy(this.trainer.parameters, data, slice) * slice.length
      await this.pauseWhenSliceUsed()
    }
    return correct / rows.length
  }

  /** Pauses once this slice has run for sliceMs, then starts the next one. */
  private async pauseWhenSliceUsed (): Promise<void> {
    if (this.pause === null || performance.now() - this.sliceStart < this.sliceMs) return
    await this.pause()
    this.sliceStart = performance.now()
  }

  close (): Promise<void> {
    return Promise.resolve()
  }
}

function sparseOrNull (dataset: Dataset | undefined): SparseRows | null {
  return dataset === undefined || dataset.count === 0 ? null : sparseRows(dataset)
}

function allRows (count: number): Int32Array {
  return Int32Array.from({ length: count }, (_, row) => row)
}
