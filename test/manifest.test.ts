import { afterAll, describe, it, expect } from 'vitest'
import { createDataset, type Dataset } from '../src/data/dataset.js'
import { createRandom } from '../src/data/random.js'
import { isMurmurError } from '../src/errors.js'
import { initialWeights } from '../src/learning/initial-weights.js'
import { LocalTrainer } from '../src/learning/local-trainer.js'
import { createManifest, parseManifest, swarmIdOf, type Manifest, type ManifestOptions } from '../src/learning/manifest.js'
import { hasConvolutions, isModelName, modelSpec, weightShapes } from '../src/learning/models.js'
import type { Weights } from '../src/learning/weights.js'
import { errorOf } from './helpers.js'

const MNIST_LIKE = { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }

function options (overrides: Partial<ManifestOptions> = {}): ManifestOptions {
  return { model: 'mlp', dataset: MNIST_LIKE, ...overrides }
}

/** A deep copy through JSON, as a manifest read from a file would be. */
function json (manifest: Manifest): Record<string, unknown> {
  return JSON.parse(JSON.stringify(manifest)) as Record<string, unknown>
}

/** The same value with the keys of every object in reverse order. */
function reorder (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reorder)
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).reverse().map(([key, item]) => [key, reorder(item)]))
  }
  return value
}


/** A manifest as JSON data, every field open to any edit. */
interface ManifestJson {
  version?: unknown
  seed: unknown
  codec: unknown
  model: { name: unknown; layers: Array<Record<string, unknown>> }
  dataset: { name: unknown; inputShape: unknown[]; classes: unknown }
  training: { optimizer: unknown; learningRate: unknown; batchSize: unknown; localSteps: unknown }
  merge: { rule: unknown }
}

/** parseManifest on a JSON copy of the default mlp manifest after `edit`; returns the error it throws. */
function parseError (edit: (manifest: ManifestJson) => void): Error {
  const value = json(createManifest(options())) as unknown as ManifestJson
  edit(value)
  const error = errorOf(() => parseManifest(value))
  expect(isMurmurError(error, 'ERR_INVALID_MANIFEST')).toBe(true)
  return error as Error
}

function syntheticDataset (count = 8): Dataset {
  const random = createRandom(3)
  return createDataset({
    name: 'synthetic',
    inputShape: [28, 28, 1],
    classes: 10,
    features: Float32Array.from({ length: count * 784 }, () => random.next()),
    labels: Int32Array.from({ length: count }, (_, i) => i % 10)
  })
}

function expectSameValues (actual: Weights, expected: Weights): void {
  expect(actual.map(t => t.shape)).toEqual(expected.map(t => t.shape))
  actual.forEach((tensor, index) => {
    const want = expected[index]!.values
    expect(tensor.values.length).toBe(want.length)
    for (let i = 0; i < want.length; i++) {
      if (tensor.values[i] !== want[i]) throw new Error(`tensor ${index} value ${i}: got ${tensor.values[i]}, expected ${want[i]}`)
    }
  })
}

function sameValues (a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0
}

describe('swarmIdOf', () => {
  it('is 32 hex characters and the same for the same options', () => {
    const id = swarmIdOf(createManifest(options()))
    expect(id).toMatch(/^[0-9a-f]{32}$/)
    expect(swarmIdOf(createManifest(options()))).toBe(id)
    // explicit defaults describe the same swarm
    expect(swarmIdOf(createManifest(options({ seed: 42, mergeRule: 'clipped-gossip:0.25', training: { optimizer: 'sgd', learningRate: 0.2, batchSize: 32, localSteps: 20 } })))).toBe(id)
    // an optimizer named without a rate gets that optimizer's default rate
    expect(createManifest(options({ training: { optimizer: 'adam' } })).training.learningRate).toBe(0.001)
    expect(createManifest(options({ training: { optimizer: 'sgd' } })).training.learningRate).toBe(0.2)
  })

  it('does not depend on the order of keys', () => {
    const manifest = createManifest(options({ model: 'cnn' }))
    const reordered = reorder(json(manifest))
    // the reordering really happened
    expect(Object.keys(reordered as object)[0]).toBe('codec')
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(manifest))
    expect(swarmIdOf(parseManifest(reordered))).toBe(swarmIdOf(manifest))
    // hashing the reordered object as it is (without parseManifest rebuilding it) gives the same id too
    expect(swarmIdOf(reordered as Manifest)).toBe(swarmIdOf(manifest))
    // and parsing the manifest's own JSON changes nothing
    expect(swarmIdOf(parseManifest(JSON.parse(JSON.stringify(manifest))))).toBe(swarmIdOf(manifest))
  })

  it('changes when any single field changes', () => {
    const base = swarmIdOf(createManifest(options()))
    const units = json(createManifest(options()))
    ;(units.model as { layers: Array<{ units?: number }> }).layers[1]!.units = 64
    const activation = json(createManifest(options()))
    ;(activation.model as { layers: Array<{ activation?: string }> }).layers[1]!.activation = 'tanh'
    const variants: Record<string, Manifest> = {
      seed: createManifest(options({ seed: 43 })),
      learningRate: createManifest(options({ training: { learningRate: 0.002 } })),
      batchSize: createManifest(options({ training: { batchSize: 64 } })),
      localSteps: createManifest(options({ training: { localSteps: 21 } })),
      optimizer: createManifest(options({ training: { optimizer: 'adam' } })),
      model: createManifest(options({ model: 'logistic' })),
      units: parseManifest(units),
      activation: parseManifest(activation),
      classes: createManifest(options({ dataset: { ...MNIST_LIKE, classes: 9 } })),
      datasetName: createManifest(options({ dataset: { ...MNIST_LIKE, name: 'fashion-mnist' } })),
      inputShape: createManifest(options({ dataset: { ...MNIST_LIKE, inputShape: [28, 28] } }))
    }
    const ids = new Map<string, string>()
    for (const [field, manifest] of Object.entries(variants)) {
      const id = swarmIdOf(manifest)
      expect(id, field).toMatch(/^[0-9a-f]{32}$/)
      expect(id, field).not.toBe(base)
      ids.set(id, field)
    }
    // every change leads to its own swarm
    expect(ids.size).toBe(Object.keys(variants).length)
  })
})

describe('createManifest / parseManifest', () => {
  it('fills in defaults and builds the named model for the dataset', () => {
    const manifest = createManifest(options())
    expect(manifest.version).toBe(1)
    expect(manifest.seed).toBe(42)
    expect(manifest.training).toEqual({ optimizer: 'sgd', learningRate: 0.2, batchSize: 32, localSteps: 20, algorithm: 'qgm:0.9' })
    expect(manifest.merge).toEqual({ rule: 'clipped-gossip:0.25' })
    expect(manifest.codec).toBe('int8')
    expect(manifest.model).toEqual(modelSpec('mlp', 10))
    expect(manifest.dataset).toEqual({ name: 'mnist', inputShape: [28, 28, 1], classes: 10 })
  })

  it('parses its own JSON back to an equal manifest', () => {
    for (const model of ['mlp', 'cnn', 'logistic']) {
      const manifest = createManifest(options({ model, seed: 7, training: { optimizer: 'sgd', batchSize: 8 } }))
      expect(parseManifest(json(manifest))).toEqual(manifest)
    }
  })

  it('refuses an unknown model name with ERR_UNKNOWN_MODEL', () => {
    expect(isMurmurError(errorOf(() => createManifest(options({ model: 'transformer' }))), 'ERR_UNKNOWN_MODEL')).toBe(true)
  })

  it('rejects bad fields with ERR_INVALID_MANIFEST and a message naming the field', () => {
    const cases: Array<[string, (m: ManifestJson) => void]> = [
      ['training.batchSize', m => { m.training.batchSize = 0 }],
      ['training.batchSize', m => { m.training.batchSize = 2.5 }],
      ['training.localSteps', m => { m.training.localSteps = -1 }],
      ['training.learningRate', m => { m.training.learningRate = 0 }],
      ['training.learningRate', m => { m.training.learningRate = '0.1' }],
      ['training.optimizer', m => { m.training.optimizer = 'rmsprop' }],
      ['model.layers[1].type', m => { m.model.layers[1]!.type = 'lstm' }],
      ['model.layers[2].units', m => { m.model.layers[2]!.units = 0 }],
      ['model.layers[1].activation', m => { m.model.layers[1]!.activation = 'gelu' }],
      ['model.layers', m => { m.model.layers = [] }],
      ['model.name', m => { m.model.name = '' }],
      ['version', m => { m.version = 2 }],
      ['version', m => { delete m.version }],
      ['seed', m => { m.seed = -1 }],
      ['seed', m => { m.seed = 2 ** 32 }],
      ['merge.rule', m => { m.merge.rule = 'mode' }],
      ['exchange.mode', m => { (m as unknown as { exchange: { mode: string } }).exchange.mode = 'flood' }],
      ['exchange.fanout', m => { (m as unknown as { exchange: { fanout: number } }).exchange.fanout = 0 }],
      ['codec', m => { m.codec = 'int3' }],
      ['dataset.classes', m => { m.dataset.classes = 0 }],
      ['dataset.inputShape[1]', m => { m.dataset.inputShape[1] = 0 }],
      ['dataset.inputShape', m => { m.dataset.inputShape = [] }],
      ['dataset.name', m => { m.dataset.name = 3 }],
      ['training', m => { (m as unknown as Record<string, unknown>).training = null }],
      ['last layer has 10 units but the dataset has 9 classes', m => { m.dataset.classes = 9 }],
      ['last layer has 7 units but the dataset has 10 classes', m => { m.model.layers[2]!.units = 7 }]
    ]
    for (const [field, edit] of cases) {
      expect(parseError(edit).message, field).toContain(field)
    }
  })

  it('rejects values that are not manifests at all', () => {
    for (const value of [null, undefined, 'manifest', 42, [], [createManifest(options())]]) {
      expect(isMurmurError(errorOf(() => parseManifest(value)), 'ERR_INVALID_MANIFEST'), JSON.stringify(value)).toBe(true)
    }
  })

  it('rejects a dense layer on unflattened input with ERR_INVALID_MANIFEST', () => {
    const error = parseError(m => { m.model.layers.shift() })
    expect(error.message).toMatch(/flat/)
  })
})

describe('models and weight shapes', () => {
  it('knows the registry', () => {
    expect(isModelName('mlp') && isModelName('cnn') && isModelName('logistic')).toBe(true)
    expect(isModelName('resnet')).toBe(false)
    expect(hasConvolutions(modelSpec('cnn', 10))).toBe(true)
    expect(hasConvolutions(modelSpec('mlp', 10))).toBe(false)
  })

  it('gives the mlp on 28×28×1 kernels and biases of [784,128], [128], [128,10], [10]', () => {
    const shapes = weightShapes(modelSpec('mlp', 10), [28, 28, 1])
    expect(shapes.map(s => s.shape)).toEqual([[784, 128], [128], [128, 10], [10]])
    expect(shapes.map(s => s.role)).toEqual(['kernel', 'bias', 'kernel', 'bias'])
    expect(weightShapes(modelSpec('logistic', 3), [4]).map(s => s.shape)).toEqual([[4, 3], [3]])
  })

  it('computes conv output sizes for valid and same padding', () => {
    // cnn: 28 -conv3-> 26 -pool2-> 13 -conv3-> 11 -pool2-> 5; 5 * 5 * 16 = 400
    expect(weightShapes(modelSpec('cnn', 10), [28, 28, 1]).map(s => s.shape)).toEqual([[3, 3, 1, 8], [8], [3, 3, 8, 16], [16], [400, 10], [10]])
    const same = weightShapes({
      name: 'custom',
      layers: [
        { type: 'conv2d', filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' },
        { type: 'flatten' },
        { type: 'dense', units: 2, activation: 'softmax' }
      ]
    }, [9, 7, 3])
    // ceil(9 / 2) = 5, ceil(7 / 2) = 4: 5 * 4 * 4 = 80
    expect(same.map(s => s.shape)).toEqual([[3, 3, 3, 4], [4], [80, 2], [2]])
  })
})

describe('initialWeights', () => {
  const spec = modelSpec('mlp', 10)

  it('is deterministic for a seed and differs for another seed', () => {
    const a = initialWeights(spec, [28, 28, 1], 42)
    const b = initialWeights(spec, [28, 28, 1], 42)
    const c = initialWeights(spec, [28, 28, 1], 43)
    expect(a.map(t => t.shape)).toEqual([[784, 128], [128], [128, 10], [10]])
    a.forEach((tensor, index) => { expect(sameValues(tensor.values, b[index]!.values)).toBe(true) })
    expect(sameValues(a[0]!.values, c[0]!.values)).toBe(false)
    expect(sameValues(a[2]!.values, c[2]!.values)).toBe(false)
  })

  it('starts biases at zero and kernels within the Glorot-uniform bound, spread over it', () => {
    for (const [model, inputShape] of [['mlp', [28, 28, 1]], ['cnn', [28, 28, 1]]] as const) {
      const specOf = modelSpec(model, 10)
      const weights = initialWeights(specOf, inputShape, 5)
      weightShapes(specOf, inputShape).forEach(({ shape, role }, index) => {
        const values = weights[index]!.values
        if (role === 'bias') {
          expect(values.every(v => v === 0), `${model} tensor ${index}`).toBe(true)
          return
        }
        const receptive = shape.slice(0, -2).reduce((x, y) => x * y, 1)
        const limit = Math.sqrt(6 / ((shape[shape.length - 2]! + shape[shape.length - 1]!) * receptive))
        let min = Infinity
        let max = -Infinity
        let sum = 0
        for (const v of values) {
          min = Math.min(min, v)
          max = Math.max(max, v)
          sum += v
        }
        expect(min, `${model} tensor ${index}`).toBeGreaterThanOrEqual(-limit)
        expect(max, `${model} tensor ${index}`).toBeLessThanOrEqual(limit)
        // uniform over [-limit, limit]: extremes near the bound, mean near zero
        expect(max).toBeGreaterThan(0.8 * limit)
        expect(min).toBeLessThan(-0.8 * limit)
        expect(Math.abs(sum / values.length)).toBeLessThan(0.2 * limit)
      })
    }
  })
})

describe('the TF.js model agrees with the description', () => {
  const trainers: LocalTrainer[] = []
  afterAll(async () => { await Promise.all(trainers.map(trainer => trainer.close())) })

  for (const model of ['mlp', 'cnn', 'logistic'] as const) {
    it(`${model}: weightShapes match what TF.js builds, and the trainer starts from initialWeights`, async () => {
      const manifest = createManifest(options({ model, seed: 11 }))
      const trainer = await LocalTrainer.create(manifest, { train: syntheticDataset() }, { backend: 'cpu' })
      trainers.push(trainer)
      expect(trainer.backend).toBe('cpu')
      const weights = await trainer.getWeights()
      expect(weights.map(w => w.shape)).toEqual(weightShapes(manifest.model, manifest.dataset.inputShape).map(s => [...s.shape]))
      expectSameValues(weights, initialWeights(manifest.model, manifest.dataset.inputShape, 11))
      // and not some other seed's weights
      expect(sameValues(weights[0]!.values, initialWeights(manifest.model, manifest.dataset.inputShape, 12)[0]!.values)).toBe(false)
    })
  }
})

describe('models that do not fit their input', () => {
  it('are refused when the manifest is made, with a clear error', () => {
    for (const inputShape of [[2, 2, 1], [8, 8, 1]]) {
      let caught: unknown
      try {
        createManifest({ model: 'cnn', dataset: { name: 'tiny', inputShape, classes: 10 } })
      } catch (error) {
        caught = error
      }
      expect(isMurmurError(caught, 'ERR_INVALID_MANIFEST')).toBe(true)
      expect((caught as Error).message).toContain('too small')
    }
    expect(() => weightShapes({ name: 'odd', layers: [{ type: 'flatten' }, { type: 'maxPooling2d', poolSize: 2 }] }, [28, 28, 1])).toThrow(/maxPooling2d/)
  })
})
