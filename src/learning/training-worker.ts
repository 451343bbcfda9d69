/**
 * Entry point of the training worker thread. TF.js blocks whatever thread it trains on, so training
 * lives here and the thread that serves libp2p stays free.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { loadNodeData, nodeDataFromArrays, parseDataSpec, releaseBuiltinDatasets } from '../data/spec.js'
import { isMurmurError } from '../errors.js'
import { LocalTrainer } from './local-trainer.js'
import type { TrainingRequest, TrainingWorkerInit, TrainingWorkerMessage } from './worker-protocol.js'

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

async function main (): Promise<void> {
  const port = parentPort
  if (port === null) throw new Error('training-worker must run in a worker thread')
  const send = (message: TrainingWorkerMessage): void => { port.postMessage(message) }
  const init = workerData as TrainingWorkerInit
  let trainer: LocalTrainer
  let data
  try {
    const split = { seed: init.manifest.seed, ...(init.holdoutFraction === undefined ? {} : { holdoutFraction: init.holdoutFraction }) }
    data = typeof init.data === 'string'
      ? await loadNodeData(parseDataSpec(init.data), split)
      : nodeDataFromArrays(init.data, init.manifest.dataset, split)
    releaseBuiltinDatasets()
    trainer = await LocalTrainer.create(init.manifest, data, { seed: init.seed, algorithm: init.manifest.training.algorithm, ...(init.backend === undefined ? {} : { backend: init.backend }), ...(init.recordPrivacy === undefined ? {} : { recordPrivacy: init.recordPrivacy }) })
  } catch (error) {
    send({ type: 'failed', error: describe(error) })
    return
  }
  // Requests are served one at a time, in order: the model is not safe to train and read at once.
  let queue = Promise.resolve()
  port.on('message', (request: TrainingRequest) => {
    queue = queue.then(async () => {
      try {
        send({ type: 'response', id: request.id, ok: true, result: await handle(trainer, request) })
      } catch (error) {
        send({ type: 'response', id: request.id, ok: false, error: describe(error) })
      }
    })
  })
  send({ type: 'ready', backend: trainer.backend, trainSamples: data.train.count, holdoutSamples: data.holdout.count, dpSgd: trainer.dpSgdPlan })
}

await main()
