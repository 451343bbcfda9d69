/**
 * Entry point of a browser node's training worker (a Web Worker): TF.js blocks whatever thread it
 * trains on, so training lives here and the page's thread, which runs libp2p and the core, stays
 * free. It trains with TF.js's LocalTrainer, on WebGL where the browser has it, else wasm (with
 * murmur's gradient kernels), else plain JS. Requests are the worker protocol of
 * src/learning/worker-protocol.ts, served by the same dispatcher as a process node's worker thread.
 */
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import { labelCounts } from '../data/label-skew.js'
import { BROWSER_BACKEND_NAMES, selectBackend } from '../learning/backend.js'
import { softwareWebGl } from './software-webgl.js'
import { hasConvolutions } from '../learning/models.js'
import { LocalTrainer } from '../learning/local-trainer.js'
import { createRequestDispatcher, describeWorkerError } from '../learning/worker-dispatch.js'
import type { TrainingRequest, TrainingWorkerMessage } from '../learning/worker-protocol.js'
import type { BrowserWorkerInit } from './worker-messages.js'

/** The parts of a dedicated worker's global scope used here (the project's types are DOM's, not WebWorker's). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<BrowserWorkerInit | TrainingRequest>) => void) | null
  postMessage: (message: TrainingWorkerMessage) => void
}
const scope = globalThis as unknown as WorkerScope

async function start (init: BrowserWorkerInit): Promise<LocalTrainer> {
  setWasmPaths(init.wasmPath)
  // A software-rendered WebGL is slower than wasm: skip it unless asked for (?backend=webgl).
  const chain = softwareWebGl() ? BROWSER_BACKEND_NAMES.filter(name => name !== 'webgl') : BROWSER_BACKEND_NAMES
  const backend = await selectBackend({ chain, needsConvolutionGradients: hasConvolutions(init.manifest.model), ...(init.backend === undefined ? {} : { preference: init.backend }) })
  return LocalTrainer.create(init.manifest, init.data, { backend, seed: init.seed, algorithm: init.manifest.training.algorithm })
}

let dispatch: ((request: TrainingRequest) => void) | null = null
scope.onmessage = event => {
  const message = event.data
  if ('type' in message) {
    if (dispatch !== null) return
    const starting = start(message)
    dispatch = createRequestDispatcher(starting, response => { scope.postMessage(response) })
    starting.then(
      started => { scope.postMessage({ type: 'ready', backend: started.backend, trainSamples: message.data.train.count, holdoutSamples: message.data.holdout.count, labelCounts: labelCounts(message.data.train.labels, message.data.train.classes), dpSgd: null }) },
      (error: unknown) => { scope.postMessage({ type: 'failed', error: describeWorkerError(error) }) })
    return
  }
  if (dispatch === null) {
    scope.postMessage({ type: 'response', id: message.id, ok: false, error: { code: 'ERR_WORKER', message: 'the worker has not been started' } })
    return
  }
  dispatch(message)
}
