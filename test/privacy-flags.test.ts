import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, expect, vi } from 'vitest'
import { manifestCommand } from '../src/cli/commands/manifest.js'
import { modelSpec } from '../src/learning/models.js'
import type { Manifest } from '../src/learning/manifest.js'
import { DP_SGD_TRAINING_DEFAULTS, privacyFromFlags, recordPrivacyForNode, withDpSgdTrainingDefaults } from '../src/cli/privacy-flags.js'
import { isMurmurError } from '../src/errors.js'
import { createManifest, DEFAULT_TRAINING, parseManifest } from '../src/learning/manifest.js'
import { MAX_RECORD_EPOCHS, MIN_RECORD_EPOCHS, recordEpochsFor } from '../src/learning/dp-sgd-epochs.js'
import { errorOf, temporaryDirectory } from './helpers.js'

const MNIST = { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }

function message (action: () => unknown): string {
  const error = errorOf(action)
  expect(isMurmurError(error)).toBe(true)
  return (error as Error).message
}

describe('--dp-* flags', () => {
  it('murmur swarm under DP-SGD: the DP defaults fill only what no flag or scenario chose', () => {
    const flags = { model: 'mlp', optimizer: undefined, learningRate: 0.1, batchSize: undefined, localSteps: undefined, nodes: 8 }
    const typed = new Set(['learningRate'])
    const chosen = withDpSgdTrainingDefaults(flags, key => !typed.has(key))
    expect(chosen).toEqual({ model: 'dct-mlp', optimizer: 'sgd', learningRate: 0.1, batchSize: 64, localSteps: 10, dpAugmentations: 4, nodes: 8 })
    expect(flags.model).toBe('mlp')
    expect(withDpSgdTrainingDefaults(flags, () => false)).toEqual(flags)
    expect(Object.keys(DP_SGD_TRAINING_DEFAULTS).sort()).toEqual(['batchSize', 'dpAugmentations', 'learningRate', 'localSteps', 'model', 'optimizer'])
  })

  it('--dp-epsilon and --dp-delta alone select record-level DP-SGD with a default horizon and clip', () => {
    const options = privacyFromFlags({ dpEpsilon: 8, dpDelta: 1e-5 })
    expect(options).toEqual({ level: 'record', epsilon: 8, delta: 1e-5 })
    const manifest = createManifest({ model: 'mlp', dataset: MNIST, ...(options === undefined ? {} : { privacy: options }) })
    expect(manifest.privacy).toEqual({ level: 'record', clip: 1, delta: 1e-5, epsilonBudget: 8, epochs: recordEpochsFor(8) })
    // It survives a round trip through the manifest parser, and so the swarm id.
    expect(parseManifest(JSON.parse(JSON.stringify(manifest)))).toEqual(manifest)
  })

  it('keeps node-level privacy per exchange under its own names', () => {
    expect(privacyFromFlags({ dpNodeClip: 1, dpNodeNoise: 0.1 })).toEqual({ level: 'node', clip: 1, noiseMultiplier: 0.1, delta: 1e-5 })
    expect(privacyFromFlags({ dpNodeClip: 1, dpNodeEpsilon: 5, dpNodeReleases: 100, dpDelta: 1e-6 })).toEqual({ level: 'node', clip: 1, epsilon: 5, delta: 1e-6, releases: 100 })
    // A manifest from before the levels existed is node-level.
    const old = JSON.parse(JSON.stringify(createManifest({ model: 'logistic', dataset: MNIST, privacy: { clip: 1, noiseMultiplier: 0.5 } }))) as { privacy: Record<string, unknown> }
    delete old.privacy.level
    expect(parseManifest(old).privacy).toEqual({ level: 'node', clip: 1, noiseMultiplier: 0.5, delta: 1e-5 })
  })

  it('refuses mixed, incomplete and renamed flags with a message naming the flag', () => {
    expect(message(() => privacyFromFlags({ dpEpsilon: 8, dpNodeClip: 1, dpNodeNoise: 1 }))).toMatch(/not both/)
    expect(message(() => privacyFromFlags({ dpClip: 1 }))).toMatch(/--dp-epsilon/)
    expect(message(() => privacyFromFlags({ dpEpochs: 5 }))).toMatch(/--dp-epsilon/)
    expect(message(() => privacyFromFlags({ dpEpochs: 5, dpNoise: 1 }))).toMatch(/--dp-epochs/)
    expect(message(() => privacyFromFlags({ dpDelta: 1e-5 }))).toMatch(/δ alone/)
    expect(message(() => privacyFromFlags({ dpReleases: 10 }))).toMatch(/--dp-node-releases/)
    expect(message(() => privacyFromFlags({ dpNodeClip: 1 }))).toMatch(/--dp-node-noise/)
    expect(privacyFromFlags({})).toBeUndefined()
  })

  it('murmur start: a node\'s own budget replaces the manifest\'s, or protects its records when the manifest has none', () => {
    expect(recordPrivacyForNode(undefined, {})).toBeUndefined()
    expect(recordPrivacyForNode(undefined, { dpEpsilon: 3 })).toEqual({ level: 'record', clip: 1, delta: 1e-5, epsilonBudget: 3, epochs: recordEpochsFor(3) })
    // Image records get the default shifted copies; flat records none.
    expect(recordPrivacyForNode(undefined, { dpEpsilon: 3 }, [28, 28, 1])).toEqual({ level: 'record', clip: 1, delta: 1e-5, epsilonBudget: 3, epochs: recordEpochsFor(3), augmentations: 4 })
    expect(recordPrivacyForNode(undefined, { dpEpsilon: 3, dpAugmentations: 1 }, [28, 28, 1])).toMatchObject({ augmentations: 1 })
    expect(recordPrivacyForNode(undefined, { dpEpsilon: 3 }, [784])).not.toHaveProperty('augmentations')
    const manifest = createManifest({ model: 'mlp', dataset: MNIST, privacy: { level: 'record', epsilon: 8, epochs: 20, clip: 0.5 } })
    expect(recordPrivacyForNode(manifest.privacy, {})).toEqual(manifest.privacy)
    // A budget of the node's own gets the horizon for that budget, not the manifest's.
    expect(recordPrivacyForNode(manifest.privacy, { dpEpsilon: 2, dpDelta: 1e-6 })).toEqual({ level: 'record', clip: 0.5, delta: 1e-6, epsilonBudget: 2, epochs: recordEpochsFor(2) })
    expect(recordPrivacyForNode(manifest.privacy, { dpDelta: 1e-6 })).toEqual({ level: 'record', clip: 0.5, delta: 1e-6, epsilonBudget: 8, epochs: 20 })
    expect(recordPrivacyForNode(manifest.privacy, { dpNoise: 1.5 })).toEqual({ level: 'record', clip: 0.5, delta: 1e-5, noiseMultiplier: 1.5, epsilonBudget: 8 })
    expect(message(() => recordPrivacyForNode(undefined, { dpDelta: 1e-6 }))).toMatch(/δ alone/)
  })

  it('murmur manifest --dp-epsilon picks the DP-SGD training defaults where no flag chose, as murmur swarm does', async () => {
    const directory = await temporaryDirectory('dp-manifest')
    const written = async (args: string[]): Promise<Manifest> => {
      const file = join(directory, `manifest-${args.join('_')}.json`)
      await manifestCommand().parseAsync([...args, '--out', file], { from: 'user' })
      return parseManifest(JSON.parse(await readFile(file, 'utf8')))
    }
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      const chosen = await written(['--dp-epsilon', '2'])
      expect(chosen.model).toEqual(modelSpec('dct-mlp', 10))
      expect(chosen.training).toMatchObject({ optimizer: 'sgd', learningRate: 2, batchSize: 64, localSteps: 10 })
      expect(chosen.privacy).toEqual({ level: 'record', clip: 1, delta: 1e-5, epsilonBudget: 2, epochs: recordEpochsFor(2), augmentations: 4 })
      // A flag given wins; without DP nothing changes.
      const typed = await written(['--dp-epsilon', '2', '--model', 'mlp', '--learning-rate', '0.5', '--dp-augmentations', '1', '--dp-epochs', '30'])
      expect(typed.model).toEqual(modelSpec('mlp', 10))
      expect(typed.training).toMatchObject({ optimizer: 'sgd', learningRate: 0.5 })
      expect(typed.privacy).toMatchObject({ epochs: 30, augmentations: 1 })
      const plain = await written([])
      expect(plain.model).toEqual(modelSpec('mlp', 10))
      expect(plain.training).toMatchObject({ optimizer: DEFAULT_TRAINING.optimizer, batchSize: DEFAULT_TRAINING.batchSize })
      expect(plain.training.learningRate).not.toBe(2)
      expect(plain.privacy).toBeUndefined()
    } finally {
      stderr.mockRestore()
      await rm(directory, { recursive: true, force: true })
    }
  })

  it('the default horizon grows with the budget, within bounds, and augmentations are checked', () => {
    expect([0.5, 1, 2, 4, 8, 16].map(recordEpochsFor)).toEqual([MIN_RECORD_EPOCHS, 8, 15, 30, MAX_RECORD_EPOCHS, MAX_RECORD_EPOCHS])
    const manifest = createManifest({ model: 'dct-mlp', dataset: MNIST, privacy: { level: 'record', epsilon: 8, augmentations: 4 } })
    expect(parseManifest(JSON.parse(JSON.stringify(manifest)))).toEqual(manifest)
    for (const augmentations of [0, 2.5, 17]) {
      expect(message(() => createManifest({ model: 'mlp', dataset: MNIST, privacy: { level: 'record', epsilon: 8, augmentations } }))).toMatch(/augmentations/)
    }
  })
})
