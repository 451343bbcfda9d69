import type { NodeTrainer } from '../core/node-trainer.js'
import type { NodeData } from '../data/node-data.js'
import { MurmurError } from '../errors.js'
import type { BackendName } from '../learning/backend-names.js'
import type { DpSgdPlan } from '../learning/dp-sgd-plan.js'
import type { Manifest } from '../learning/manifest.js'
import type { EvaluationSplit, TrainOptions, TrainResult } from '../learning/trainer.js'
import type { Weights } from '../learning/weights.js'
import type { TrainingWorkerMessage, TrainingWorkerReady } from '../learning/worker-protocol.js'
import { TrainingRequests, workerError, type TrainingCall } from '../learning/worker-requests.js'
import type { BrowserWorkerInit } from './worker-messages.js'

export interface BrowserTrainerInit {
  /** URL of the training worker's script (training-worker.ts, bundled) */
  readonly workerUrl: string
  /** where TF.js finds its .wasm files (a URL ending in /) */
  readonly wasmPath: string
  readonly manifest: Manifest
  readonly data: NodeData
  readonly seed: number
  /** a backend to use instead of the fastest that loads */
  readonly backend?: BackendName
  readonly signal?: AbortSignal
}

/**
 * The core's trainer port in a browser: TF.js runs in a Web Worker (training-worker.ts) and every
 * call is a message to it, as a process node's WorkerTrainer does with a worker thread. It also
 * measures its own training speed (samples a second while training), for the page.
 */
export class BrowserTrainer implements NodeTrainer {
  readonly backend: string
  readonly trainSamples: number
  readonly holdoutSamples: number
  readonly labelCounts: readonly number[]
  readonly dpSgdPlan: DpSgdPlan | null = null
  private readonly worker: Worker
  private readonly requests: TrainingRequests
  private trainingMs = 0
  private trainedSamples = 0

  private constructor (worker: Worker, ready: TrainingWorkerReady) {
    this.worker = worker
    this.backend = ready.backend
    this.trainSamples = ready.trainSamples
    this.holdoutSamples = ready.holdoutSamples
    this.labelCounts = ready.labelCounts
    this.requests = new TrainingRequests(request => { worker.postMessage(request) })
    worker.onmessage = (event: MessageEvent<TrainingWorkerMessage>) => {
      if (event.data.type === 'response') this.requests.settle(event.data)
    }
    worker.onerror = event => { this.requests.failAll(new MurmurError('ERR_WORKER', `the training worker crashed: ${event.message}`)) }
  }

  /** Starts the worker and waits until it has built its model on its backend. */
  static async start (init: BrowserTrainerInit): Promise<BrowserTrainer> {
    const worker = new Worker(init.workerUrl)
    try {
      const ready = await new Promise<TrainingWorkerReady>((resolve, reject) => {
        init.signal?.addEventListener('abort', () => { reject(new MurmurError('ERR_WORKER', 'start of the training worker was aborted')) }, { once: true })
        worker.onmessage = (event: MessageEvent<TrainingWorkerMessage>) => {
          const message = event.data
          if (message.type === 'ready') resolve(message)
          else if (message.type === 'failed') reject(workerError(message.error))
        }
        worker.onerror = event => { reject(new MurmurError('ERR_WORKER', `the training worker failed to start: ${event.message}`)) }
        const start: BrowserWorkerInit = { type: 'init', manifest: init.manifest, data: init.data, seed: init.seed, wasmPath: init.wasmPath, ...(init.backend === undefined ? {} : { backend: init.backend }) }
        worker.postMessage(start)
      })
      return new BrowserTrainer(worker, ready)
    } catch (error) {
      worker.terminate()
      throw error
    }
  }

  private call<T>(request: TrainingCall): Promise<T> {
    return this.requests.call<T>(request)
  }

  async train (steps: number, options?: TrainOptions): Promise<TrainResult> {
    const started = performance.now()
    const result = await this.call<TrainResult>({ method: 'train', steps, ...(options === undefined ? {} : { options }) })
    this.trainingMs += performance.now() - started
    this.trainedSamples += result.samples
    return result
  }

  /** samples a second while training (local steps only, merging and evaluation excluded); 0 before any */
  get samplesPerSecond (): number {
    return this.trainingMs > 0 ? this.trainedSamples / (this.trainingMs / 1000) : 0
  }

  async getWeights (): Promise<Weights> {
    return this.call({ method: 'getWeights' })
  }

  async setWeights (weights: Weights): Promise<void> {
    return this.call({ method: 'setWeights', weights })
  }

  async evaluate (split: EvaluationSplit): Promise<number | null> {
    return this.call({ method: 'evaluate', split })
  }

  async close (): Promise<void> {
    this.requests.failAll(new MurmurError('ERR_WORKER', 'the trainer is closed'))
    this.worker.terminate()
  }
}
