/**
 * Entry point of the training worker thread: training blocks whatever thread it runs on, so it lives
 * here and the thread that serves libp2p stays free. Dense models train with the flat trainer
 * (plain JavaScript); TF.js is imported only for the models and options that need it (convolutions,
 * record-level DP-SGD, a TF.js backend named with --backend), so an MLP node never loads it.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { labelCounts } from '../data/label-skew.js'
import { collectGarbage, MemoryReclaimer } from '../memory-reclaimer.js'
import { createNodeTrainer, loadTrainerData } from './trainer-setup.js'
import { createRequestDispatcher, describeWorkerError } from './worker-dispatch.js'
import type { TrainingRequest, TrainingWorkerInit, TrainingWorkerMessage } from './worker-protocol.js'

async function main (): Promise<void> {
  const port = parentPort
  if (port === null) throw new Error('training-worker must run in a worker thread')
  const send = (message: TrainingWorkerMessage): void => { port.postMessage(message) }
  const init = workerData as TrainingWorkerInit
  let trainer
  let data
  try {
    data = await loadTrainerData(init)
    trainer = await createNodeTrainer(init, data)
  } catch (error) {
    send({ type: 'failed', error: describeWorkerError(error) })
    return
  }
  // Loading left the whole dataset behind as garbage, and each round leaves copies of the weights.
  collectGarbage()
  new MemoryReclaimer().start()
  const dispatch = createRequestDispatcher(Promise.resolve(trainer), send)
  port.on('message', (request: TrainingRequest) => { dispatch(request) })
  send({ type: 'ready', backend: trainer.backend, trainSamples: data.train.count, holdoutSamples: data.holdout.count, labelCounts: labelCounts(data.train.labels, data.train.classes), dpSgd: trainer.dpSgdPlan })
}

await main()
