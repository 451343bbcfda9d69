import { concatenate, type Dataset } from '../data/dataset.js'
import { loadNodeData, parseDataSpec } from '../data/spec.js'
import type { BackendName } from '../learning/backend-names.js'
import { LocalTrainer } from '../learning/local-trainer.js'
import type { Manifest } from '../learning/manifest.js'

/** Local steps the baseline trains between two calls into the trainer. */
const STEPS_PER_CALL = 100

/**
 * The summary's `centralized`: the same model trained on the pooled data of all nodes, for as many
 * samples as a node processed on average, scored on the test split. What the swarm is measured against.
 */
export async function centralizedBaseline (manifest: Manifest, dataSpecs: readonly string[], test: Dataset, samples: number, backend?: BackendName): Promise<{ accuracy: number; samplesProcessed: number }> {
  const parts = await Promise.all(dataSpecs.map(async spec => loadNodeData(parseDataSpec(spec), { seed: manifest.seed })))
  const trainer = await LocalTrainer.create(manifest, { train: concatenate(parts.map(part => part.train)), test }, backend === undefined ? {} : { backend })
  try {
    const steps = Math.max(1, Math.round(samples / manifest.training.batchSize))
    for (let done = 0; done < steps; done += STEPS_PER_CALL) await trainer.train(Math.min(STEPS_PER_CALL, steps - done))
    return { accuracy: trainer.accuracy(test), samplesProcessed: steps * manifest.training.batchSize }
  } finally {
    await trainer.close()
  }
}
