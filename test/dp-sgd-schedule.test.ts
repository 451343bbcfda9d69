import { describe, it, expect } from 'vitest'
import { NodeCore } from '../src/core/node-core.js'
import type { NodeTrainer } from '../src/core/node-trainer.js'
import { PeerGate } from '../src/core/peer-gate.js'
import { learningRateScale, type DpSgdPlan } from '../src/learning/dp-sgd-plan.js'
import { initialWeights } from '../src/learning/initial-weights.js'
import { swarmIdOf } from '../src/learning/manifest.js'
import type { EvaluationSplit, TrainOptions, TrainResult } from '../src/learning/trainer.js'
import type { Weights } from '../src/learning/weights.js'
import { LinkModel } from '../src/simulator/links.js'
import { MemoryStore } from '../src/simulator/memory-store.js'
import { SimulatedNetwork } from '../src/simulator/simulated-network.js'
import { VirtualTime } from '../src/simulator/virtual-time.js'
import { SoftmaxTrainer } from './inprocess/softmax-trainer.js'
import { CLASSES, INPUTS, records, testManifest, ALL_CLASSES } from './inprocess/swarm.js'

const PLAN: DpSgdPlan = { clip: 1, noiseMultiplier: 1.1, samplingRate: 0.04, expectedBatchSize: 16, delta: 1e-5, epsilonBudget: 5, horizonSteps: 2_000, augmentations: 1 }

/** A NodeTrainer with a DP-SGD plan that records where the core says each round's steps start. */
class ScheduleRecorder implements NodeTrainer {
  readonly dpSgdPlan = PLAN
  readonly starts: number[] = []
  readonly backend = 'cpu'
  readonly trainSamples: number
  readonly holdoutSamples: number

  constructor (private readonly inner: SoftmaxTrainer) {
    this.trainSamples = inner.trainSamples
    this.holdoutSamples = inner.holdoutSamples
  }

  async train (steps: number, options?: TrainOptions): Promise<TrainResult> {
    this.starts.push(options?.dpSgdStepsTaken ?? -1)
    return this.inner.train(steps)
  }

  async getWeights (): Promise<Weights> { return this.inner.getWeights() }
  async setWeights (weights: Weights): Promise<void> { return this.inner.setWeights(weights) }
  async evaluate (split: EvaluationSplit): Promise<number | null> { return this.inner.evaluate(split) }
  async close (): Promise<void> { return this.inner.close() }
}

describe('the DP-SGD learning-rate schedule', () => {
  it('decays from 1 to 0 over the budget\'s horizon, and stays 1 without one', () => {
    expect(learningRateScale(PLAN, 0)).toBe(1)
    expect(learningRateScale(PLAN, 1_000)).toBeCloseTo(0.5, 12)
    expect(learningRateScale(PLAN, 2_000)).toBeCloseTo(0, 12)
    expect(learningRateScale(PLAN, 5_000)).toBeCloseTo(0, 12)
    expect(learningRateScale(PLAN, 500)).toBeGreaterThan(learningRateScale(PLAN, 1_500))
    expect(learningRateScale({ ...PLAN, horizonSteps: null }, 1_500)).toBe(1)
  })

  it('goes on after a restart where the privacy ledger left it: the core passes the steps taken over all runs', async () => {
    const manifest = testManifest()
    const time = new VirtualTime()
    const clock = time.clock()
    const links = new LinkModel({ latency: { kind: 'fixed', value: 5 }, bandwidth: { kind: 'fixed', value: 1e9 }, seed: 1 })
    const network = new SimulatedNetwork({ time, links, seed: 1 })
    const store = new MemoryStore()
    let runs = 0
    const run = (): { core: NodeCore; trainer: ScheduleRecorder } => {
      const id = `node-${runs++}`
      const gate = new PeerGate(undefined, clock.now)
      const trainer = new ScheduleRecorder(new SoftmaxTrainer({
        inputs: INPUTS,
        classes: CLASSES,
        train: records(400, ALL_CLASSES, 1),
        holdout: records(100, ALL_CLASSES, 2),
        initial: initialWeights(manifest.model, manifest.dataset.inputShape, manifest.seed),
        batchSize: manifest.training.batchSize,
        learningRate: manifest.training.learningRate,
        seed: 1,
        clock,
        msPerStep: 10
      }))
      const core = new NodeCore({ transport: network.join(id, gate), store, trainer, gate, clock }, { id, manifest, swarmId: swarmIdOf(manifest), seed: 1, warmJoin: false })
      return { core, trainer }
    }
    const stop = async (core: NodeCore): Promise<void> => {
      let done = false
      const stopping = core.stop().finally(() => { done = true })
      await time.until(() => done, 60_000, 'the node to stop')
      await stopping
    }
    const first = run()
    await first.core.start()
    await time.until(() => first.core.status().step >= 100, 600_000, 'a hundred steps')
    await stop(first.core)
    const taken = first.core.status().step
    const local = manifest.training.localSteps
    // Within a run each round starts where the last one ended.
    expect(first.trainer.starts.slice(0, 3)).toEqual([0, local, 2 * local])

    const second = run()
    await second.core.start()
    await time.until(() => second.trainer.starts.length >= 2, 600_000, 'two rounds after the restart')
    await stop(second.core)
    // A clean stop saves the ledger without reserve: the schedule resumes exactly where it stopped.
    expect(taken).toBeGreaterThanOrEqual(100)
    expect(second.trainer.starts.slice(0, 2)).toEqual([taken, taken + local])
  })
})
