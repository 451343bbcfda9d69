import * as tf from '@tensorflow/tfjs'
import { createRandom, type Random } from '../data/random.js'
import type { Dataset } from '../data/dataset.js'
import { MurmurError } from '../errors.js'
import { hasConvolutions } from './models.js'
import { buildModel } from './layers-model.js'
import { initialWeights } from './initial-weights.js'
import { selectBackend, type BackendName } from './backend.js'
import { sameShapes, type Weights } from './weights.js'
import type { Manifest, RecordPrivacySettings } from './manifest.js'
import { DpSgd } from './dp-sgd.js'
import { planDpSgd, type DpSgdPlan } from './dp-sgd-plan.js'
import type { EvaluationSplit, Trainer, TrainOptions, TrainResult } from './trainer.js'
import { checkAugmentable } from './augmentation.js'
import { createLocalAlgorithm, type LocalAlgorithm } from './local-algorithm.js'
import { assertDataFitsManifest } from './data-fit.js'

export interface TrainingData {
  readonly train: Dataset
  readonly holdout?: Dataset
  readonly test?: Dataset
}

export interface LocalTrainerOptions {
  readonly backend?: BackendName
  /** seeds the order in which this trainer visits its samples */
  readonly seed?: number
  /**
   * what the local steps do besides the optimizer's update (manifest training.algorithm, see
   * local-algorithm.ts); default dsgd: nothing, as for the launcher's centralized baseline
   */
  readonly algorithm?: string
  /**
   * record-level DP-SGD settings: with them every step is a DP-SGD step. Not taken from the manifest
   * here, so that evaluators and baselines built from a private swarm's manifest train plainly.
   */
  readonly recordPrivacy?: RecordPrivacySettings
}

async function compiledModel (manifest: Manifest): Promise<tf.LayersModel> {
  const model = await buildModel(manifest)
  const { optimizer, learningRate } = manifest.training
  model.compile({
    optimizer: optimizer === 'adam' ? tf.train.adam(learningRate) : tf.train.sgd(learningRate),
    loss: 'sparseCategoricalCrossentropy'
  })
  return model
}

const EVALUATION_CHUNK = 512

/** Trains a manifest's model on this thread with TF.js. */
export class LocalTrainer implements Trainer {
  readonly backend: BackendName
  private readonly model: tf.LayersModel
  private readonly data: TrainingData
  private readonly batchSize: number
  private readonly random: Random
  private order: number[] = []
  private cursor = 0
  private readonly algorithm: LocalAlgorithm
  /** record-level DP-SGD, which replaces plain training steps when on */
  private dpSgd: DpSgd | null = null

  private constructor (model: tf.LayersModel, manifest: Manifest, data: TrainingData, backend: BackendName, seed: number, algorithm: string) {
    this.model = model
    this.algorithm = createLocalAlgorithm(algorithm, { learningRate: manifest.training.learningRate })
    this.data = data
    this.backend = backend
    this.batchSize = manifest.training.batchSize
    this.random = createRandom(seed)
  }

  static async create (manifest: Manifest, data: TrainingData, options: LocalTrainerOptions = {}): Promise<LocalTrainer> {
    assertDataFitsManifest(manifest, data.train)
    const backend = await selectBackend({
      ...(options.backend === undefined ? {} : { preference: options.backend }),
      needsConvolutionGradients: hasConvolutions(manifest.model)
    })
    const algorithm = options.algorithm ?? 'dsgd'
    // Checked before the model is built, so a bad name leaks no tensors.
    createLocalAlgorithm(algorithm, { learningRate: manifest.training.learningRate })
    checkAugmentable(manifest.dataset.inputShape, options.recordPrivacy?.augmentations ?? 1)
    const model = await compiledModel(manifest)
    const trainer = new LocalTrainer(model, manifest, data, backend, options.seed ?? manifest.seed, algorithm)
    await trainer.setWeights(initialWeights(manifest.model, manifest.dataset.inputShape, manifest.seed))
    if (options.recordPrivacy !== undefined) {
      const plan = planDpSgd(options.recordPrivacy, data.train.count, manifest.training.batchSize)
      trainer.dpSgd = new DpSgd({ model, spec: manifest.model, optimizer: model.optimizer, learningRate: manifest.training.learningRate, records: data.train.count, load: indices => trainer.batchTensors(data.train, indices), plan, augmentationSeed: options.seed ?? manifest.seed })
    }
    return trainer
  }

  private nextBatch (): number[] {
    const batch: number[] = []
    while (batch.length < this.batchSize) {
      if (this.cursor >= this.order.length) {
        this.order = this.random.shuffle(Array.from({ length: this.data.train.count }, (_, i) => i))
        this.cursor = 0
      }
      batch.push(this.order[this.cursor++] as number)
    }
    return batch
  }

  private batchTensors (dataset: Dataset, indices: readonly number[]): { x: tf.Tensor; y: tf.Tensor } {
    const size = dataset.features.length / Math.max(dataset.count, 1)
    const features = new Float32Array(indices.length * size)
    const labels = new Float32Array(indices.length)
    indices.forEach((index, row) => {
      features.set(dataset.features.subarray(index * size, (index + 1) * size), row * size)
      labels[row] = dataset.labels[index] as number
    })
    return { x: tf.tensor(features, [indices.length, ...this.model.inputs[0]?.shape.slice(1) as number[]]), y: tf.tensor1d(labels) }
  }

  /** the DP-SGD plan this trainer runs with; null without record-level privacy */
  get dpSgdPlan (): DpSgdPlan | null {
    return this.dpSgd?.plan ?? null
  }

  async train (steps: number, options: TrainOptions = {}): Promise<TrainResult> {
    if (this.dpSgd !== null && options.dpSgdStepsTaken !== undefined) this.dpSgd.stepsTaken = options.dpSgdStepsTaken
    let lossTotal = 0
    /** examples the loss total is over: DP-SGD's drawn batches vary in size */
    let examples = 0
    const algorithm = this.algorithm.perStep ? this.algorithm : null
    // Under DP-SGD the hooks stay free of privacy cost: they see only the merged model and the
    // node's own noisy steps (post-processing), never a record.
    if (algorithm !== null) algorithm.beginRound(await this.getWeights(), steps)
    for (let step = 0; step < steps; step++) {
      if (this.dpSgd !== null) {
        const { lossSum, batch } = this.dpSgd.step()
        lossTotal += lossSum
        examples += batch
      } else {
        const { x, y } = this.batchTensors(this.data.train, this.nextBatch())
        try {
          const loss = await this.model.trainOnBatch(x, y)
          lossTotal += (Array.isArray(loss) ? (loss[0] ?? 0) : loss) * this.batchSize
          examples += this.batchSize
        } finally {
          x.dispose()
          y.dispose()
        }
      }
      if (algorithm !== null) await this.setWeights(algorithm.afterStep(await this.getWeights()))
    }
    // Samples count the expected batch size under DP-SGD too: the drawn sizes are private.
    return { steps, samples: steps * this.batchSize, loss: examples > 0 ? lossTotal / examples : 0 }
  }

  // Copies both ways: the cpu backend would otherwise share its live arrays with the caller.
  async getWeights (): Promise<Weights> {
    return this.model.getWeights().map(tensor => ({ shape: [...tensor.shape], values: Float32Array.from(tensor.dataSync()) }))
  }

  async setWeights (weights: Weights): Promise<void> {
    const current = this.model.getWeights()
    if (!sameShapes(current, weights)) throw new MurmurError('ERR_INVALID_ARGUMENT', 'weights do not fit this model')
    const tensors = weights.map(w => tf.tensor(w.values.slice(), [...w.shape]))
    try {
      this.model.setWeights(tensors)
    } finally {
      tf.dispose(tensors)
    }
  }

  evaluate (split: EvaluationSplit): Promise<number | null> {
    const dataset = split === 'holdout' ? this.data.holdout : this.data.test
    if (dataset === undefined || dataset.count === 0) return Promise.resolve(null)
    return Promise.resolve(this.accuracy(dataset))
  }

  /** accuracy on any dataset of the right shape (the swarm launcher scores every node on one test split) */
  accuracy (dataset: Dataset): number {
    let correct = 0
    for (let start = 0; start < dataset.count; start += EVALUATION_CHUNK) {
      const indices = Array.from({ length: Math.min(EVALUATION_CHUNK, dataset.count - start) }, (_, i) => start + i)
      const { x, y } = this.batchTensors(dataset, indices)
      const matches = tf.tidy(() => {
        const predicted = (this.model.predict(x) as tf.Tensor).argMax(-1)
        return predicted.equal(y.cast('int32')).sum().dataSync()[0] ?? 0
      })
      x.dispose()
      y.dispose()
      correct += matches
    }
    return correct / dataset.count
  }

  close (): Promise<void> {
    this.model.dispose()
    return Promise.resolve()
  }
}
