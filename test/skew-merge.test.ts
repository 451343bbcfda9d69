import { describe, expect, it } from 'vitest'
import { concatenate, subset, type Dataset } from '../src/data/dataset.js'
import { loadNodeData, parseDataSpec } from '../src/data/spec.js'
import { LocalTrainer } from '../src/learning/local-trainer.js'
import { createManifest, DEFAULT_TRAINING } from '../src/learning/manifest.js'
import { createMergeRule, DEFAULT_MERGE_RULE } from '../src/learning/merge.js'
import type { Weights } from '../src/learning/weights.js'

const NODES = 8
const STEPS = 400
const manifest = createManifest({ model: 'logistic', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }, seed: 11 })

/**
 * Eight trainers on label-sorted shards (two classes each), in synchronous rounds: local steps with
 * the manifest's algorithm, then every trainer merges all eight trained models with `rule`. Returns
 * the mean test accuracy of the merged models. No gossip or clock: only the rule and the algorithm act.
 */
async function rounds (rule: string, parts: ReadonlyArray<{ train: Dataset }>, test: Dataset): Promise<number> {
  const merge = createMergeRule(rule)
  const trainers = await Promise.all(parts.map(async (part, index) => LocalTrainer.create(manifest, { train: part.train }, { seed: index + 1, algorithm: manifest.training.algorithm })))
  try {
    for (let done = 0; done < STEPS; done += manifest.training.localSteps) {
      const trained: Weights[] = []
      for (const trainer of trainers) {
        await trainer.train(manifest.training.localSteps)
        trained.push(await trainer.getWeights())
      }
      for (const [index, trainer] of trainers.entries()) {
        await trainer.setWeights(merge.merge({ weights: trained[index] as Weights, samples: 1 }, trained.filter((_, other) => other !== index).map(weights => ({ weights, samples: 1 }))))
      }
    }
    return trainers.reduce((total, trainer) => total + trainer.accuracy(test), 0) / trainers.length
  } finally {
    await Promise.all(trainers.map(async trainer => trainer.close()))
  }
}

describe('the default manifest on label-skewed data', () => {
  it('learns every shard\'s classes under the robust default rule, where a coordinate-wise trim loses them', async () => {
    expect(DEFAULT_TRAINING.algorithm).toBe(manifest.training.algorithm)
    const parts = await Promise.all(Array.from({ length: NODES }, async (_, i) => loadNodeData(parseDataSpec(`mnist:${i + 1}/${NODES}:shards:2`), { seed: 11 })))
    const test = subset(parts[0]?.test as Dataset, Array.from({ length: 1000 }, (_, i) => i))
    // Baselines on the same samples: one node alone on its shard, and the pooled data, STEPS steps each.
    const alone = await LocalTrainer.create(manifest, { train: (parts[0] as { train: Dataset }).train })
    const central = await LocalTrainer.create(manifest, { train: concatenate(parts.map(part => part.train)) })
    await alone.train(STEPS)
    await central.train(STEPS)
    const aloneAccuracy = alone.accuracy(test)
    const centralAccuracy = central.accuracy(test)
    await alone.close()
    await central.close()
    // Controls: two classes cannot teach a node the other eight; the pooled data can.
    expect(aloneAccuracy).toBeLessThan(0.4)
    expect(centralAccuracy).toBeGreaterThan(aloneAccuracy + 0.4)
    const gap = centralAccuracy - aloneAccuracy
    const robust = await rounds(DEFAULT_MERGE_RULE, parts, test)
    const trimmed = await rounds('trimmed-mean:0.25', parts, test)
    // The default rule closes most of the gap (measured: 0.84 between 0.28 alone and 0.88 pooled);
    // the trim, which drops each class's few holders, far less (0.65).
    expect(robust).toBeGreaterThan(aloneAccuracy + 0.8 * gap)
    expect(robust).toBeGreaterThan(trimmed + 0.2 * gap)
  }, 600_000)
})
