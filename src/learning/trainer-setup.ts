import { loadNodeData, nodeDataFromArrays, parseDataSpec, releaseBuiltinDatasets, type NodeData } from '../data/spec.js'
import { FlatNodeTrainer, flatTrainerFits } from './flat-node-trainer.js'
import type { DpSgdPlan } from './dp-sgd-plan.js'
import type { Trainer } from './trainer.js'
import type { TrainingWorkerInit } from './worker-protocol.js'

/** A node's trainer with what the node asks of it besides training. */
export type SetUpTrainer = Trainer & { readonly dpSgdPlan: DpSgdPlan | null }

/**
 * Loads a node's data (a data spec, or records as arrays) and forgets the built-in datasets it came
 * from, so that the node keeps only its own part (not the dataset's test split either).
 */
export async function loadTrainerData (init: Pick<TrainingWorkerInit, 'manifest' | 'data' | 'holdoutFraction'>): Promise<NodeData> {
  // A node scores itself on its holdout only: the shared test split would be dead weight.
  const split = { seed: init.manifest.seed, withTest: false, ...(init.holdoutFraction === undefined ? {} : { holdoutFraction: init.holdoutFraction }) }
  const data = typeof init.data === 'string'
    ? await loadNodeData(parseDataSpec(init.data), split)
    : nodeDataFromArrays(init.data, init.manifest.dataset, split)
  releaseBuiltinDatasets()
  return data
}

/**
 * The trainer a node's model needs: the flat trainer for dense models (no TF.js loaded at all),
 * TF.js's LocalTrainer for the rest (convolutions, record-level DP-SGD, a TF.js backend named).
 * `pause` is the flat trainer's, between steps.
 */
export async function createNodeTrainer (init: Omit<TrainingWorkerInit, 'data' | 'holdoutFraction'>, data: NodeData, pause?: () => Promise<void>): Promise<SetUpTrainer> {
  const options = { seed: init.seed, algorithm: init.manifest.training.algorithm, ...(init.backend === undefined ? {} : { backend: init.backend }), ...(init.recordPrivacy === undefined ? {} : { recordPrivacy: init.recordPrivacy }) }
  if (flatTrainerFits(init.manifest, options)) return FlatNodeTrainer.create(init.manifest, data, { ...options, ...(pause === undefined ? {} : { pause }) })
  // Imported here, not at the top: importing TF.js costs tens of MiB even when unused.
  const { LocalTrainer } = await import('./local-trainer.js')
  return await LocalTrainer.create(init.manifest, data, options)
}
