import { MurmurError } from '../errors.js'
import { parseManifest, swarmIdOf, type Manifest } from '../learning/manifest.js'
import { weightShapes } from '../learning/models.js'
import type { ExportedModel } from '../learning/model-files.js'
import type { Weights } from '../learning/weights.js'
import { NodeStore } from './store.js'
import { validateUpdate } from '../core/update-codec.js'

/** A node's model decoded from its datadir, with what it was trained under. */
export interface SavedModel {
  readonly manifest: Manifest
  readonly weights: Weights
  readonly step: number
  readonly samplesProcessed: number
  readonly savedAt: string
}

/** Decodes a model in murmur's update encoding (a checkpoint, GET /model) against the manifest's shapes. */
export function decodeModel (manifest: Manifest, bytes: Uint8Array): { weights: Weights; step: number; samples: number } {
  const verdict = validateUpdate(bytes, { swarmId: swarmIdOf(manifest), shapes: weightShapes(manifest.model, manifest.dataset.inputShape).map(w => w.shape) })
  if (!verdict.ok) throw new MurmurError('ERR_NODE_STATE', `the saved model does not fit the manifest (${verdict.reason}: ${verdict.detail})`)
  return verdict.value
}

/**
 * Reads the newest good checkpoint of a node's datadir, without a node running on it. The manifest
 * is the one the node saved there, unless one is given (datadirs from before nodes saved theirs).
 */
export async function readSavedModel (datadir: string, manifest?: Manifest): Promise<SavedModel> {
  const store = await NodeStore.openExisting(datadir)
  try {
    const { checkpoint, problems } = await store.readCheckpoint()
    if (checkpoint === null) {
      throw new MurmurError('ERR_NODE_STATE', `${datadir} holds no usable checkpoint${problems.length > 0 ? ` (${problems.join('; ')})` : ''}: a node writes one every few seconds while it trains`)
    }
    const saved = await store.readManifest()
    const chosen = manifest ?? (saved === null ? null : parseManifest(saved))
    if (chosen === null) throw new MurmurError('ERR_NODE_STATE', `${datadir} does not record its manifest (a node from an older murmur): give it with --manifest FILE`)
    if (swarmIdOf(chosen) !== checkpoint.swarmId) {
      throw new MurmurError('ERR_NODE_STATE', `${datadir} holds a node of swarm ${checkpoint.swarmId}, not of the manifest's swarm ${swarmIdOf(chosen)}`)
    }
    return { manifest: chosen, weights: decodeModel(chosen, checkpoint.model).weights, step: checkpoint.step, samplesProcessed: checkpoint.samplesProcessed, savedAt: checkpoint.savedAt }
  } finally {
    await store.close()
  }
}

/** TF.js is loaded only when a model is exported: a node that is never asked does not carry it. */
export async function exportWeights (manifest: Manifest, weights: Weights): Promise<ExportedModel> {
  const { exportModel } = await import('../learning/model-files.js')
  return exportModel(manifest, weights)
}
