import type { NodeTrainer } from '../core/node-trainer.js'
import type { EvaluationSplit, TrainResult } from '../learning/trainer.js'
import type { Weights } from '../learning/weights.js'
import type { FlatTrainer } from '../learning/flat-trainer.js'
import type { VirtualTime } from './virtual-time.js'

/**
 * A simulated node's trainer port: the steps are computed at once by the fast trainer, and take
 * `stepMs` of virtual time each (the node's compute speed), so the core sees training take as long
 * as it would on that device. Halting ends a pending round at once (the node stops or crashes).
 */
export class SimulatedTrainer implements NodeTrainer {
  readonly backend = 'simulated'
  readonly dpSgdPlan = null
  private readonly halt = new AbortController()

  constructor (private readonly trainer: FlatTrainer, private readonly time: VirtualTime, private readonly stepMs: number) {}

  get trainSamples (): number {
    return this.trainer.trainSamples
  }

  get holdoutSamples (): number {
    return this.trainer.holdoutSamples
  }

  get labelCounts (): number[] {
    return this.trainer.labelCounts
  }

  /** the node's parameters, live (the simulator scores them without a copy) */
  get parameters (): Float32Array {
    return this.trainer.parameters
  }

  async train (steps: number): Promise<TrainResult> {
    const result = this.trainer.train(steps)
    await this.time.sleep(steps * this.stepMs, this.halt.signal)
    return result
  }

  async getWeights (): Promise<Weights> {
    return this.trainer.getWeights()
  }

  async setWeights (weights: Weights): Promise<void> {
    this.trainer.setWeights(weights)
  }

  async evaluate (split: EvaluationSplit): Promise<number | null> {
    return split === 'holdout' ? this.trainer.holdoutAccuracy() : null
  }

  /** Ends the round in progress now; later rounds take no virtual time. */
  stopTraining (): void {
    this.halt.abort()
  }

  async close (): Promise<void> {
    this.stopTraining()
  }
}
