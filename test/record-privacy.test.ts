import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, expect } from 'vitest'
import type { DpSgdPlan } from '../src/learning/dp-sgd-plan.js'
import { createManifest } from '../src/learning/manifest.js'
import { RdpAccountant } from '../src/learning/privacy.js'
import { RecordPrivacy, type RecordPrivacyStatus } from '../src/core/record-privacy.js'
import { NodeProcess } from '../src/swarm/node-process.js'
import { schemaErrors, temporaryDirectory, waitFor } from './helpers.js'

const PLAN: DpSgdPlan = { clip: 1, noiseMultiplier: 1.1, samplingRate: 0.02, expectedBatchSize: 20, delta: 1e-5, epsilonBudget: 3, horizonSteps: null, augmentations: 1 }

function epsilonOf (steps: number): number {
  return new RdpAccountant().compose(PLAN.noiseMultiplier, steps, PLAN.samplingRate).epsilon(PLAN.delta).epsilon
}

describe('a node\'s record-level privacy budget', () => {
  it('allows steps up to the budget and not one more', () => {
    const budget = new RecordPrivacy(PLAN)
    let steps = 0
    while (!budget.exhausted() && steps < 100_000) {
      const next = budget.affordableSteps(37)
      budget.spend(next)
      steps += next
    }
    expect(epsilonOf(steps)).toBeLessThanOrEqual(3)
    expect(epsilonOf(steps + 1)).toBeGreaterThan(3)
    expect(budget.spent()).toBeCloseTo(epsilonOf(steps), 9)
    expect(budget.status()).toMatchObject({ level: 'record', releases: steps, exhausted: true, epsilonBudget: 3 })
  })

  it('saves a ledger ahead of the steps: a restart after a crash never counts less than was spent', () => {
    const budget = new RecordPrivacy(PLAN)
    budget.spend(10)
    expect(budget.covers(1)).toBe(false)
    const ledger = budget.ledger(25) // what a checkpoint holds: 10 steps taken, 25 reserved
    expect(budget.covers(25)).toBe(true)
    expect(budget.covers(26)).toBe(false)
    budget.spend(20) // the node crashes here, its last checkpoint being the ledger above
    const restarted = new RecordPrivacy(PLAN, ledger)
    expect(restarted.spent()).toBeGreaterThanOrEqual(budget.spent())
    expect(restarted.spent()).toBeCloseTo(epsilonOf(35), 9)
    expect(restarted.covers(1)).toBe(false) // a new ledger must be saved before it trains again
    // A clean stop reserves nothing: the restart counts exactly what was spent.
    const clean = new RecordPrivacy(PLAN, budget.ledger(0))
    expect(clean.spent()).toBeCloseTo(budget.spent(), 12)
    expect(clean.status().releases).toBe(30)
  })

  it('never reserves beyond the budget', () => {
    const budget = new RecordPrivacy(PLAN)
    const affordable = budget.affordableSteps(1_000_000)
    const ledger = budget.ledger(1_000_000)
    expect(ledger.releases).toBe(affordable)
  })
})

describe('record-level DP-SGD in a node process', () => {
  it('stops training when the budget is spent, keeps sharing, and keeps the spent budget across a restart', async () => {
    const directory = await temporaryDirectory('record-privacy')
    const manifestFile = join(directory, 'manifest.json')
    await writeFile(manifestFile, JSON.stringify(createManifest({ model: 'logistic', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }, training: { localSteps: 10 } })))
    const options = {
      index: 1,
      manifestFile,
      dataSpec: 'mnist:2/10',
      datadir: join(directory, 'state'),
      listen: '/ip4/127.0.0.1/tcp/0',
      bootstrap: [],
      // This node protects its own records although the manifest asks for nothing: 2 epochs at ε = 2.
      extraArgs: ['--dp-epsilon', '2', '--dp-delta', '1e-5', '--dp-epochs', '2', '--checkpoint-interval', '1s'],
      log: () => {}
    }
    const first = await NodeProcess.start(options)
    let spent: RecordPrivacyStatus
    try {
      const exhausted = await waitFor(first, status => status.privacy?.exhausted === true)
      expect(schemaErrors('node-status', exhausted)).toEqual([])
      spent = exhausted.privacy as RecordPrivacyStatus
      expect(spent.level).toBe('record')
      expect(spent.epsilon).toBeLessThanOrEqual(2)
      expect(spent.epsilon).toBeGreaterThan(1.5)
      // every training step was a DP-SGD step, and the budget lasted about the 2 epochs it was calibrated for
      expect(spent.releases).toBe(exhausted.step)
      expect(spent.horizonSteps).not.toBeNull()
      expect(Math.abs(exhausted.step - (spent.horizonSteps ?? 0))).toBeLessThanOrEqual(1)
      // The node goes on merging and sharing, but takes no more steps.
      const later = await waitFor(first, status => status.exchanges >= exhausted.exchanges + 2, 30_000)
      expect(later.step).toBe(exhausted.step)
      expect((later.privacy as RecordPrivacyStatus).epsilon).toBe(spent.epsilon)
    } finally {
      expect(await first.stop()).toBe(0)
    }

    const second = await NodeProcess.start(options)
    try {
      const resumed = await waitFor(second, () => true)
      const privacy = resumed.privacy as RecordPrivacyStatus
      expect(resumed.restarts).toBe(1)
      expect(privacy.releases).toBe(spent.releases)
      expect(privacy.epsilon).toBeCloseTo(spent.epsilon, 9)
      expect(privacy.exhausted).toBe(true)
      const later = await waitFor(second, status => status.exchanges >= resumed.exchanges + 2, 30_000)
      expect(later.step).toBe(resumed.step)
    } finally {
      await second.stop()
    }
  }, 180_000)
})
