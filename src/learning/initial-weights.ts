import { createRandom } from '../data/random.js'
import { MurmurError } from '../errors.js'
import { isTopologySpec, weightShapes, type ModelSpec } from './models.js'
import { tensorSize, type Weights } from './weights.js'

/**
 * The swarm's common starting point, derived from the manifest alone. Averaging only works
 * between networks that started from the same weights, so this must not depend on the backend or on
 * TF.js's own random generator: the weights a topology model brought with it, or else Glorot-uniform
 * kernels from murmur's seeded generator, zero biases and unit scales.
 */
export function initialWeights (spec: ModelSpec, inputShape: readonly number[], seed: number): Weights {
  const shapes = weightShapes(spec, inputShape)
  if (isTopologySpec(spec) && spec.initialWeights !== undefined) {
    const bytes = Buffer.from(spec.initialWeights.data, 'base64')
    const total = shapes.reduce((sum, { shape }) => sum + tensorSize(shape), 0)
    if (bytes.byteLength !== total * 4) {
      throw new MurmurError('ERR_INVALID_MANIFEST', `invalid manifest: model.initialWeights holds ${bytes.byteLength} bytes, the model's ${shapes.length} weights need ${total * 4}`)
    }
    const values = new Float32Array(total)
    new Uint8Array(values.buffer).set(bytes)
    let offset = 0
    return shapes.map(({ shape }) => {
      const size = tensorSize(shape)
      const tensor = { shape: [...shape], values: values.slice(offset, offset + size) }
      offset += size
      return tensor
    })
  }
  const random = createRandom(seed)
  return shapes.map(({ shape, role }) => {
    const values = new Float32Array(tensorSize(shape))
    if (role === 'kernel') {
      const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1)
      const fanIn = (shape[shape.length - 2] ?? 1) * receptive
      const fanOut = (shape[shape.length - 1] ?? 1) * receptive
      const limit = Math.sqrt(6 / (fanIn + fanOut))
      for (let i = 0; i < values.length; i++) values[i] = (random.next() * 2 - 1) * limit
    } else if (role === 'scale') {
      values.fill(1)
    }
    return { shape: [...shape], values }
  })
}

/** The inverse of the decoding above: weights as model.initialWeights carries them (fp32 little-endian, base64). */
export function encodeInitialWeights (weights: Weights): { encoding: 'float32-le-base64'; data: string } {
  const total = weights.reduce((sum, tensor) => sum + tensor.values.length, 0)
  const values = new Float32Array(total)
  let offset = 0
  for (const tensor of weights) {
    values.set(tensor.values, offset)
    offset += tensor.values.length
  }
  return { encoding: 'float32-le-base64', data: Buffer.from(values.buffer).toString('base64') }
}
