import { concatenate, type Dataset } from '../data/dataset.js'
import { loadNodeData, parseDataSpec } from '../data/spec.js'
import type { BackendName } from '../learning/backend-names.js'
import { LocalTrainer } from '../learning/local-trainer.js'
import type { Manifest, RecordPrivacySettings } from '../learning/manifest.js'

/** Local steps the baseline trains between two calls into the trainer. */
const STEPS_PER_CALL = 100

/**
 * The summary's `centralized`: the same model trained on the pooled data of all nodes, for as many
 * samples as a node processed on average, scored on the test split. What the swarm is measured against.
 * Under record-level DP it trains with the same DP-SGD steps (per-record clipping, the same copies)
 * but no noise: what the swarm's model could reach without privacy's noise. Plain steps would not
 * do: DP-SGD's learning rates (e.g. SGD 2) are set for clipped gradients and diverge without them.
 */
export async function centralizedBaseline (manifest: Manifest, dataSpecs: readonly string[], test: Dataset, samples: number, backend?: BackendName): Promise<{ accuracy: number; samplesProcessed: number }> {
  const parts = await Promise.all(dataSpecs.map(async spec => loadNodeData(parseDataSpec(spec), { seed: manifest.seed })))
  const trainer = await LocalTrainer.create(manifest, { train: concatenate(parts.map(part => part.train)), test }, {
    ...(backend === undefined ? {} : { backend }),
    ...(manifest.privacy?.level === 'record' ? { recordPrivacy: noiselessTwin(manifest.privacy) } : {})
  })
  try {
    const steps = Math.max(1, Math.round(samples / manifest.training.batchSize))
    for (let done = 0; done < steps; done += STEPS_PER_CALL) await trainer.train(Math.min(STEPS_PER_CALL, steps - done))
    return { accuracy: trainer.accuracy(test), samplesProcessed: steps * manifest.training.batchSize }
  } finally {
    await trainer.close()
  }
}

/** The same clipping and augmentation with no noise and no budget: nothing is spent, nothing stops. */
function noiselessTwin (settings: RecordPrivacySettings): RecordPrivacySettings {
  return { level: 'record', clip: settings.clip, delta: settings.delta, noiseMultiplier: 0, ...(settings.augmentations === undefined ? {} : { augmentations: settings.augmentations }) }
}
