import { checkTopologyLayers, type TopologyModelSpec, type TopologyWeight } from './models.js'
import { isMurmurError } from '../errors.js'

/** Largest weight tensor rank and total parameter count a topology model may declare. */
const MAX_RANK = 8
const MAX_PARAMETERS = 50_000_000

/**
 * Checks the `model` of a manifest that carries a tfjs-layers topology (see TopologyModelSpec),
 * without TF.js: supported layers only, a well-formed weight list, initial weights of the right form.
 * Whether the topology builds, and into exactly these weights, the trainer checks with TF.js.
 */
export function parseTopologyModel (model: Record<string, unknown>, fail: (message: string) => never): TopologyModelSpec {
  const topology = model.topology
  if (typeof topology !== 'object' || topology === null || Array.isArray(topology)) return fail('model.topology must be an object ({ class_name, config })')
  try {
    checkTopologyLayers(topology as Record<string, unknown>)
  } catch (error) {
    if (isMurmurError(error)) fail(`model.topology: ${error.message}`)
    throw error
  }
  if (!Array.isArray(model.weights) || model.weights.length === 0) fail('model.weights must be a non-empty array of { name, shape }')
  let parameters = 0
  const weights: TopologyWeight[] = model.weights.map((entry: unknown, index): TopologyWeight => {
    const weight = entry as Record<string, unknown> | null
    const path = `model.weights[${index}]`
    if (typeof weight !== 'object' || weight === null || typeof weight.name !== 'string') fail(`${path}.name must be a string`)
    const shape = weight.shape
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every(size => Number.isInteger(size) && (size as number) > 0)) fail(`${path}.shape must be a list of at most ${MAX_RANK} positive integers`)
    parameters += (shape as number[]).reduce((a, b) => a * b, 1)
    if (parameters > MAX_PARAMETERS) fail(`the model has more than ${MAX_PARAMETERS} parameters`)
    return { name: weight.name, shape: shape as number[] }
  })
  const initial = model.initialWeights
  if (initial !== undefined) {
    const fields = initial as Record<string, unknown> | null
    if (typeof fields !== 'object' || fields === null || fields.encoding !== 'float32-le-base64' || typeof fields.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(fields.data)) {
      fail('model.initialWeights must be { encoding: "float32-le-base64", data: BASE64 }')
    }
    if (Math.floor(fields.data.length / 4) * 3 - (fields.data.match(/=+$/)?.[0].length ?? 0) !== parameters * 4) {
      fail(`model.initialWeights must hold ${parameters * 4} bytes: one float32 per parameter of model.weights`)
    }
  }
  return {
    name: model.name as string,
    topology: topology as Record<string, unknown>,
    weights,
    ...(initial === undefined ? {} : { initialWeights: { encoding: 'float32-le-base64', data: (initial as { data: string }).data } })
  }
}
