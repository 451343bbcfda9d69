import type { DpSgdPlan } from '../learning/dp-sgd-plan.js'
import type { Trainer } from '../learning/trainer.js'

/**
 * The trainer port: a model being trained on the node's own data, wherever that runs (a worker
 * thread in a process node, a Web Worker in a browser, a shared fast trainer in a simulation, a tiny
 * pure-JS model in tests). Every call is async; the core awaits one at a time. The caller starts and
 * closes it.
 */
export interface NodeTrainer extends Trainer {
  /** records it trains on */
  readonly trainSamples: number
  /** records it keeps aside to measure its own accuracy */
  readonly holdoutSamples: number
  /** its DP-SGD plan with record-level privacy (the core keeps the budget's ledger); null without */
  readonly dpSgdPlan: DpSgdPlan | null
  /** how many of the records it trains on carry each class, when it knows (skew-fanout.ts) */
  readonly labelCounts?: readonly number[]
}
