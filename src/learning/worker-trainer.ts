import { Worker } from 'node:worker_threads'
import { compiledModule } from '../paths.js'
import { MurmurError } from '../errors.js'
import type { DpSgdPlan } from './dp-sgd-plan.js'
import type { EvaluationSplit, Trainer, TrainOptions, TrainResult } from './trainer.js'
import type { Weights } from './weights.js'
import type { TrainingWorkerInit, TrainingWorkerMessage, TrainingWorkerReady } from './worker-protocol.js'
import { TrainingRequests, workerError, type TrainingCall } from './worker-requests.js'

/**
 * The young generation of the worker's JavaScript heap, in MiB. V8 sizes it for throughput and lets
 * it grow to 3 × 16 MiB or more, kept resident once grown; training allocates mostly short-lived
 * batch arrays and tensor wrappers (the tensors themselves live in the wasm backend's memory), so a
 * small one costs no measurable training speed and keeps a node process about 100 MiB smaller
 * (docs/architecture.md, "Memory of a node process").
 */
export const WORKER_YOUNG_GENERATION_MB = 4

/** A Trainer in a worker thread (TF.js, or the flat trainer); every call is a message to it. */
export class WorkerTrainer implements Trainer {
  readonly backend: string
  readonly trainSamples: number
  readonly holdoutSamples: number
  readonly labelCounts: readonly number[]
  /** the worker's DP-SGD plan; null without record-level privacy */
  readonly dpSgdPlan: DpSgdPlan | null
  private readonly worker: Worker
  private readonly requests: TrainingRequests

  private constructor (worker: Worker, ready: TrainingWorkerReady) {
    this.worker = worker
    this.backend = ready.backend
    this.trainSamples = ready.trainSamples
    this.holdoutSamples = ready.holdoutSamples
    this.labelCounts = ready.labelCounts
    this.dpSgdPlan = ready.dpSgd
    this.requests = new TrainingRequests(request => { worker.postMessage(request) })
    worker.on('message', (message: TrainingWorkerMessage) => {
      if (message.type === 'response') this.requests.settle(message)
    })
    worker.on('error', (error: Error) => { this.requests.failAll(new MurmurError('ERR_WORKER', `the training worker crashed: ${error.message}`, { cause: error })) })
    worker.on('exit', code => { this.requests.failAll(new MurmurError('ERR_WORKER', `the training worker exited (code ${code})`)) })
  }

  /** Starts the worker and waits until it has loaded its data and model. */
  static async start (init: TrainingWorkerInit, signal?: AbortSignal): Promise<WorkerTrainer> {
    const worker = new Worker(compiledModule('learning/training-worker.js'), { workerData: init, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } })
    try {
      const ready = await new Promise<TrainingWorkerReady>((resolve, reject) => {
        const onAbort = (): void => { reject(new MurmurError('ERR_WORKER', 'start of the training worker was aborted')) }
        signal?.addEventListener('abort', onAbort, { once: true })
        worker.once('message', (message: TrainingWorkerMessage) => {
          signal?.removeEventListener('abort', onAbort)
          if (message.type === 'ready') resolve(message)
          else if (message.type === 'failed') reject(workerError(message.error))
          else reject(new MurmurError('ERR_WORKER', 'the training worker answered before it was ready'))
        })
        worker.once('error', reject)
        worker.once('exit', code => { reject(new MurmurError('ERR_WORKER', `the training worker exited during start-up (code ${code})`)) })
      })
      return new WorkerTrainer(worker, ready)
    } catch (error) {
      await worker.terminate()
      throw error
    }
  }

  private call<T>(request: TrainingCall): Promise<T> {
    return this.requests.call<T>(request)
  }

  train (steps: number, options?: TrainOptions): Promise<TrainResult> {
    return this.call({ method: 'train', steps, ...(options === undefined ? {} : { options }) })
  }

  getWeights (): Promise<Weights> {
    return this.call({ method: 'getWeights' })
  }

  setWeights (weights: Weights): Promise<void> {
    return this.call({ method: 'setWeights', weights })
  }

  evaluate (split: EvaluationSplit): Promise<number | null> {
    return this.call({ method: 'evaluate', split })
  }

  async close (): Promise<void> {
    this.requests.failAll(new MurmurError('ERR_WORKER', 'the trainer is closed'))
    this.worker.removeAllListeners('exit')
    await this.worker.terminate()
  }
}
