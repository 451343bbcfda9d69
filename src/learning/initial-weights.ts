import { createRandom } from '../data/random.js'
import { weightShapes, type ModelSpec } from './models.js'
import { tensorSize, type Weights } from './weights.js'

/**
 * The swarm's common starting point, derived from the manifest's seed alone. Averaging only works
 * between networks that started from the same weights, so this must not depend on the backend or on
 * TF.js's own random generator: Glorot-uniform kernels from murmur's seeded generator, zero biases.
 */
export function initialWeights (spec: ModelSpec, inputShape: readonly number[], seed: number): Weights {
  const random = createRandom(seed)
  return weightShapes(spec, inputShape).map(({ shape, role }) => {
    const values = new Float32Array(tensorSize(shape))
    if (role === 'kernel') {
      const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1)
      const fanIn = (shape[shape.length - 2] ?? 1) * receptive
      const fanOut = (shape[shape.length - 1] ?? 1) * receptive
      const limit = Math.sqrt(6 / (fanIn + fanOut))
      for (let i = 0; i < values.length; i++) values[i] = (random.next() * 2 - 1) * limit
    }
    return { shape: [...shape], values }
  })
}
