import type { Dataset } from '../data/dataset.js'
import { MurmurError } from '../errors.js'
import type { Manifest } from './manifest.js'

/**
 * Refuses training data the manifest's model cannot take: samples of another size, or more classes
 * than the model has outputs. Every trainer checks this before it builds anything.
 */
export function assertDataFitsManifest (manifest: Manifest, train: Dataset): void {
  if (train.count === 0) throw new MurmurError('ERR_INVALID_DATA', 'a node needs at least one training sample')
  const expected = manifest.dataset.inputShape.reduce((a, b) => a * b, 1)
  const actual = train.inputShape.reduce((a, b) => a * b, 1)
  if (expected !== actual) {
    throw new MurmurError('ERR_INVALID_DATA', `the data has samples of shape [${train.inputShape.join(', ')}] but the manifest's model expects [${manifest.dataset.inputShape.join(', ')}]`)
  }
  if (train.classes > manifest.dataset.classes) {
    throw new MurmurError('ERR_INVALID_DATA', `the data has ${train.classes} classes but the manifest's model has ${manifest.dataset.classes}`)
  }
}
