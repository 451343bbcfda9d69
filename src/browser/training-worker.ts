/**
 * Entry point of a browser node's training worker (a Web Worker): TF.js blocks whatever thread it
 * trains on, so training lives here and the page's thread, which runs libp2p and the core, stays
 * free. The same LocalTrainer as a process node's worker thread, on WebGL where the browser has it,
 * else wasm (with murmur's gradient kernels), else plain JS. Requests are the worker protocol of
 * src/learning/worker-protocol.ts.
 */
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import { isMurmurError } from '../errors.js'
import { BROWSER_BACKEND_NAMES, selectBackend } from '../learning/backend.js'
import { softwareWebGl } from './software-webgl.js'
import { hasConvolutions } from '../learning/models.js'
import { LocalTrainer } from '../learning/local-trainer.js'
import type { TrainingRequest, TrainingWorkerMessage } from '../learning/worker-protocol.js'
import type { BrowserWorkerInit } from './worker-messages.js'

/** The parts of a dedicated worker's global scope used here (the project's types are DOM's, not WebWorker's). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<BrowserWorkerInit | TrainingRequest>) => void) | null
  postMessage: (message: TrainingWorkerMessage) => void
}
const scope = globalThis as unknown as WorkerScope

function describe (error: unknown): { code: string; message: string } {
  if (isMurmurError(error)) return { code: error.code, message: error.message }
  return { code: 'ERR_WORKER', message: error instanceof Error ? error.message : String(error) }
}

async function handle (trainer: LocalTrainer, request: TrainingRequest): Promise<unknown> {
  switch (request.method) {
    case 'train': return trainer.train(request.steps, request.options)
    case 'getWeights': return trainer.getWeights()
    case 'setWeights': return trainer.setWeights(request.weights)
    case 'evaluate': return trainer.evaluate(request.split)
  }
}

async function start (init: BrowserWorkerInit): Promise<LocalTrainer> {
  setWasmPaths(init.wasmPath)
  // A software-rendered WebGL is slower than wasm: skip it unless asked for (?backend=webgl).
  const chain = softwareWebGl() ? BROWSER_BACKEND_NAMES.filter(name => name !== 'webgl') : BROWSER_BACKEND_NAMES
  const backend = await selectBackend({ chain, needsConvolutionGradients: hasConvolutions(init.manifest.model), ...(init.backend === undefined ? {} : { preference: init.backend }) })
  return LocalTrainer.create(init.manifest, init.data, { backend, seed: init.seed, algorithm: init.manifest.training.algorithm })
}

let trainer: Promise<LocalTrainer> | null = null
// Requests are served one at a time, in order: the model is not safe to train and read at once.
let queue = Promise.resolve()
scope.onmessage = event => {
  const message = event.data
  if ('type' in message) {
    if (trainer !== null) return
    const starting = start(message)
    trainer = starting
    starting.then(
      started => { scope.postMessage({ type: 'ready', backend: started.backend, trainSamples: message.data.train.count, holdoutSamples: message.data.holdout.count, dpSgd: null }) },
      (error: unknown) => { scope.postMessage({ type: 'failed', error: describe(error) }) })
    return
  }
  const request = message
  queue = queue.then(async () => {
    try {
      if (trainer === null) throw new Error('the worker has not been started')
      scope.postMessage({ type: 'response', id: request.id, ok: true, result: await handle(await trainer, request) })
    } catch (error) {
      scope.postMessage({ type: 'response', id: request.id, ok: false, error: describe(error) })
    }
  })
}
