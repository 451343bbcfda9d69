import { describe, it, expect } from 'vitest'
import { isMurmurError } from '../src/errors.js'
import { createManifest, parseManifest, type Manifest } from '../src/learning/manifest.js'
import { MANIFEST_LIMITS } from '../src/learning/manifest-bounds.js'
import { errorOf } from './helpers.js'

const MNIST_LIKE = { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }

/** A manifest as JSON data, every field open to any edit. */
interface Json {
  model: { name: unknown; layers: Array<Record<string, unknown>> }
  dataset: { name: unknown; inputShape: unknown[]; classes: unknown }
  training: { batchSize: unknown; localSteps: unknown; learningRate: unknown }
  exchange: { fanout: unknown }
}

/** The layer at an index, for an edit (the manifests edited below have it). */
function layer (json: Json, index: number): Record<string, unknown> {
  const found = json.model.layers[index]
  if (found === undefined) throw new Error(`no layer ${index}`)
  return found
}

function edited (manifest: Manifest, edit: (json: Json) => void): Json {
  const json = JSON.parse(JSON.stringify(manifest)) as unknown as Json
  edit(json)
  return json
}

function refusal (value: unknown): Error {
  const error = errorOf(() => parseManifest(value))
  expect(isMurmurError(error, 'ERR_INVALID_MANIFEST'), String(error)).toBe(true)
  return error as Error
}

describe('manifest bounds', () => {
  it('accept the manifests murmur makes, with room to spare', () => {
    for (const model of ['logistic', 'mlp', 'cnn']) {
      const manifest = createManifest({ model, dataset: MNIST_LIKE })
      expect(parseManifest(JSON.parse(JSON.stringify(manifest)))).toEqual(manifest)
    }
    // the largest accepted values pass: the limits are inclusive
    const edge = createManifest({ model: 'logistic', dataset: MNIST_LIKE, training: { batchSize: MANIFEST_LIMITS.batchSize, localSteps: MANIFEST_LIMITS.localSteps }, exchange: { fanout: MANIFEST_LIMITS.fanout } })
    expect(edge.training.batchSize).toBe(MANIFEST_LIMITS.batchSize)
  })

  it('refuse unreasonable values read from a file, naming the field', () => {
    const mlp = createManifest({ model: 'mlp', dataset: MNIST_LIKE })
    const cnn = createManifest({ model: 'cnn', dataset: MNIST_LIKE })
    const cases: Array<[string, Json]> = [
      ['dataset.inputShape[0]', edited(mlp, m => { m.dataset.inputShape = [100_000, 1, 1] })],
      ['dataset.inputShape has 5 dimensions', edited(mlp, m => { m.dataset.inputShape = [2, 2, 2, 2, 2] })],
      ['the product of dataset.inputShape', edited(mlp, m => { m.dataset.inputShape = [65_536, 65_536, 1] })],
      ['dataset.classes', edited(mlp, m => { m.dataset.classes = 1_000_000; layer(m, 2).units = 1_000_000 })],
      ['model.layers[1].units', edited(mlp, m => { layer(m, 1).units = 2 ** 31 })],
      ['the number of model.layers', edited(mlp, m => { m.model.layers = [{ type: 'flatten' }, ...Array.from({ length: 70 }, () => ({ type: 'dense', units: 10, activation: 'relu' }))] })],
      ['model.layers[0].filters', edited(cnn, m => { layer(m, 0).filters = 100_000 })],
      ['model.layers[0].kernelSize', edited(cnn, m => { layer(m, 0).kernelSize = 1_000 })],
      ['model.layers[1].poolSize', edited(cnn, m => { layer(m, 1).poolSize = 1_000 })],
      ['training.batchSize', edited(mlp, m => { m.training.batchSize = 10_000_000 })],
      ['training.localSteps', edited(mlp, m => { m.training.localSteps = 1e9 })],
      ['training.learningRate', edited(mlp, m => { m.training.learningRate = 1e6 })],
      ['exchange.fanout', edited(mlp, m => { m.exchange.fanout = 100_000 })],
      ['model.name', edited(mlp, m => { m.model.name = 'x'.repeat(10_000) })],
      ['dataset.name', edited(mlp, m => { m.dataset.name = 'x'.repeat(10_000) })],
      // each field within its bound, together too large: 784 × 60,000 weights in one dense layer
      ['trainable parameters', edited(mlp, m => { layer(m, 1).units = 60_000 })],
      ['for a batch of training.batchSize samples', edited(cnn, m => { m.training.batchSize = 60_000 })]
    ]
    for (const [field, json] of cases) {
      const error = refusal(json)
      expect(error.message, field).toContain(field)
      expect(error.message, field).toContain('MANIFEST_LIMITS')
    }
  })

  it('refuse unreasonable values given as options (flags) too', () => {
    const error = errorOf(() => createManifest({ model: 'mlp', dataset: { name: 'csv:x', inputShape: [70_000], classes: 2 } }))
    expect(isMurmurError(error, 'ERR_INVALID_MANIFEST')).toBe(true)
    expect((error as Error).message).toContain('dataset.inputShape[0]')
  })
})
