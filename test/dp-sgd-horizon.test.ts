import { describe, expect, it } from 'vitest'
import { recordPrivacyForNode } from '../src/cli/privacy-flags.js'
import { RecordPrivacy } from '../src/core/record-privacy.js'
import { isMurmurError } from '../src/errors.js'
import { planDpSgd } from '../src/learning/dp-sgd-plan.js'
import { createManifest, parseManifest, type RecordPrivacySettings } from '../src/learning/manifest.js'
import { RdpAccountant } from '../src/learning/privacy.js'
import { DP_SGD_TRAINING_EFFICIENCY, expectedSwarmSteps, withExpectedDpSgdSteps } from '../src/swarm/dp-sgd-horizon.js'

const SETTINGS: RecordPrivacySettings = { level: 'record', clip: 1, delta: 1e-5, epsilonBudget: 8, epochs: 60 }
/** a node of mnist-full:I/8 holds about 6,750 training records */
const RECORDS = 6_750
const BATCH = 64

describe('the DP-SGD horizon from the expected number of steps', () => {
  it('calibrates the noise for the steps the node is expected to take when they are fewer than the epochs', () => {
    const byEpochs = planDpSgd(SETTINGS, RECORDS, BATCH)
    expect(byEpochs.horizonSteps).toBe(Math.ceil(60 / (BATCH / RECORDS)))
    const expected = planDpSgd({ ...SETTINGS, expectedSteps: 1_200 }, RECORDS, BATCH)
    expect(expected.horizonSteps).toBe(1_200)
    // Fewer steps for the same budget: less noise per step.
    expect(expected.noiseMultiplier).toBeLessThan(byEpochs.noiseMultiplier * 0.8)
    // The epochs still bound the horizon from above.
    expect(planDpSgd({ ...SETTINGS, expectedSteps: 1_000_000 }, RECORDS, BATCH).horizonSteps).toBe(byEpochs.horizonSteps)
  })

  it('keeps the guarantee: the horizon spends the budget, and the accountant stops the node there whatever it takes', () => {
    const plan = planDpSgd({ ...SETTINGS, expectedSteps: 1_200 }, RECORDS, BATCH)
    const spent = new RdpAccountant().compose(plan.noiseMultiplier, 1_200, plan.samplingRate).epsilon(1e-5).epsilon
    expect(spent).toBeLessThanOrEqual(8)
    expect(spent).toBeGreaterThan(7.99)
    // A node faster than expected still stops at its budget: no step beyond the horizon is allowed.
    expect(Math.abs(new RecordPrivacy(plan).affordableSteps(1_000_000) - 1_200)).toBeLessThanOrEqual(1)
  })

  it('gives a node of a swarm its share of the cores over the duration, less what is not training', () => {
    expect(expectedSwarmSteps({ durationMs: 120_000, nodes: 8, cores: 2, stepSeconds: 0.01 })).toBe(Math.floor(120 * 0.25 * DP_SGD_TRAINING_EFFICIENCY / 0.01))
    // A node alone on a machine of 4 cores has one core, not four.
    expect(expectedSwarmSteps({ durationMs: 60_000, nodes: 1, cores: 4, stepSeconds: 0.02 })).toBe(Math.floor(60 * DP_SGD_TRAINING_EFFICIENCY / 0.02))
    expect(expectedSwarmSteps({ durationMs: 1, nodes: 256, cores: 1, stepSeconds: 1 })).toBe(1)
  })

  it('scales the manifest\'s expected steps by the share of the time a node trains, whoever sets its budget', () => {
    const manifestPrivacy: RecordPrivacySettings = { ...SETTINGS, expectedSteps: 1_000 }
    expect(recordPrivacyForNode(manifestPrivacy, {}, [28, 28, 1])?.expectedSteps).toBe(1_000)
    expect(recordPrivacyForNode(manifestPrivacy, {}, [28, 28, 1], 0.25)?.expectedSteps).toBe(250)
    expect(recordPrivacyForNode(manifestPrivacy, { dpEpsilon: 2 }, [28, 28, 1], 0.5)?.expectedSteps).toBe(500)
    // A fixed noise multiplier has no horizon to bound.
    expect(recordPrivacyForNode(manifestPrivacy, { dpNoise: 1.1 }, [28, 28, 1])?.expectedSteps).toBeUndefined()
  })

  it('travels in the manifest, which refuses a part of a step', () => {
    const manifest = createManifest({ model: 'dct-mlp', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }, privacy: { level: 'record', epsilon: 8, expectedSteps: 900 } })
    expect(manifest.privacy).toMatchObject({ epsilonBudget: 8, epochs: 60, expectedSteps: 900 })
    expect(parseManifest(JSON.parse(JSON.stringify(manifest)) as unknown).privacy).toEqual(manifest.privacy)
    let refusal: unknown
    try {
      parseManifest({ ...JSON.parse(JSON.stringify(manifest)) as object, privacy: { ...manifest.privacy, expectedSteps: 2.5 } })
    } catch (error) {
      refusal = error
    }
    expect(isMurmurError(refusal, 'ERR_INVALID_MANIFEST')).toBe(true)
  })

  it('is set by a swarm from DP-SGD steps timed on stand-in records of a node\'s size, only when the noise comes from a budget', async () => {
    const dataset = { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }
    const training = { optimizer: 'sgd' as const, learningRate: 2, batchSize: 64, localSteps: 10 }
    const budgeted = createManifest({ model: 'dct-mlp', dataset, training, privacy: { level: 'record', epsilon: 8 } })
    const init = { durationMs: 120_000, nodes: 8, cores: 2, dataSpec: 'mnist:1/8' }
    const timed = await withExpectedDpSgdSteps(budgeted, init)
    const steps = timed.privacy?.level === 'record' ? timed.privacy.expectedSteps : undefined
    // A step of this model takes milliseconds, not microseconds nor seconds.
    expect(steps).toBeGreaterThan(120 * 0.25 * DP_SGD_TRAINING_EFFICIENCY / 1)
    expect(steps).toBeLessThan(120 * 0.25 * DP_SGD_TRAINING_EFFICIENCY / 0.0001)
    expect({ ...timed, privacy: { ...timed.privacy, expectedSteps: undefined } }).toEqual({ ...budgeted, privacy: { ...budgeted.privacy, expectedSteps: undefined } })
    const fixedNoise = createManifest({ model: 'dct-mlp', dataset, training, privacy: { level: 'record', noiseMultiplier: 1.1, epsilon: 8 } })
    expect(await withExpectedDpSgdSteps(fixedNoise, init)).toBe(fixedNoise)
    const plain = createManifest({ model: 'dct-mlp', dataset, training })
    expect(await withExpectedDpSgdSteps(plain, init)).toBe(plain)
  }, 60_000)
})
