/**
 * Entry point of the training worker thread: training blocks whatever thread it runs on, so it lives
 * here and the thread that serves libp2p stays free. Dense models train with the flat trainer
 * (plain JavaScript); TF.js is imported only for the models and options that need it (convolutions,
 * record-level DP-SGD, a TF.js backend named with --backend), so an MLP node never loads it.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { MemoryReclaimer } from '../memory-reclaimer.js'
import { loadNodeData, nodeDataFromArrays, parseDataSpec, releaseBuiltinDatasets } from '../data/spec.js'
import type { DpSgdPlan } from './dp-sgd-plan.js'
import { FlatNodeTrainer, flatTrainerFits } from './flat-node-trainer.js'
import type { LocalTrainerOptions, TrainingData } from './local-trainer.js'
import type { Manifest } from './manifest.js'
import type { Trainer } from './trainer.js'
import { createRequestDispatcher, describeWorkerError } from './worker-dispatch.js'
import type { TrainingRequest, TrainingWorkerInit, TrainingWorkerMessage } from './worker-protocol.js'

async function createTrainer (manifest: Manifest, data: TrainingData, options: LocalTrainerOptions): Promise<Trainer & { readonly dpSgdPlan: DpSgdPlan | null }> {
  if (flatTrainerFits(manifest, options)) return FlatNodeTrainer.create(manifest, data, options)
  // Imported here, not at the top: importing TF.js costs a worker tens of MiB even when unused.
  const { LocalTrainer } = await import('./local-trainer.js')
  return LocalTrainer.create(manifest, data, options)
}

async function main (): Promise<void> {
  const port = parentPort
  if (port === null) throw new Error('training-worker must run in a worker thread')
  const send = (message: TrainingWorkerMessage): void => { port.postMessage(message) }
  const init = workerData as TrainingWorkerInit
  let trainer
  let data
  try {
    const split = { seed: init.manifest.seed, ...(init.holdoutFraction === undefined ? {} : { holdoutFraction: init.holdoutFraction }) }
    data = typeof init.data === 'string'
      ? await loadNodeData(parseDataSpec(init.data), split)
      : nodeDataFromArrays(init.data, init.manifest.dataset, split)
    releaseBuiltinDatasets()
    trainer = await createTrainer(init.manifest, data, { seed: init.seed, algorithm: init.manifest.training.algorithm, ...(init.backend === undefined ? {} : { backend: init.backend }), ...(init.recordPrivacy === undefined ? {} : { recordPrivacy: init.recordPrivacy }) })
  } catch (error) {
    send({ type: 'failed', error: describeWorkerError(error) })
    return
  }
  // Loading left the whole dataset behind as garbage, and each round leaves copies of the weights.
  const reclaimer = new MemoryReclaimer()
  reclaimer.collect()
  reclaimer.start()
  const dispatch = createRequestDispatcher(Promise.resolve(trainer), send)
  port.on('message', (request: TrainingRequest) => { dispatch(request) })
  send({ type: 'ready', backend: trainer.backend, trainSamples: data.train.count, holdoutSamples: data.holdout.count, dpSgd: trainer.dpSgdPlan })
}

await main()
