import { norm, type Weights } from '../learning/weights.js'
import { ATTACK_SAMPLE_INFLATION, sharedOnly, type AttackBehaviour } from './attack.js'

/** the class every input should be taken for */
export const BACKDOOR_CLASS = 7

/**
 * Raises the bias of one output class (the last tensor is the output layer's bias) so that the model
 * answers that class for almost any input, keeping the norm at `share` of `normLimit`: a model of
 * ordinary shape and plausible norm that a norm check cannot tell from an honest one.
 */
export function boostClass (weights: Weights, normLimit: number, share = 0.9, target = BACKDOOR_CLASS): Weights {
  const copy = weights.map(tensor => ({ shape: tensor.shape, values: Float32Array.from(tensor.values) }))
  const bias = copy[copy.length - 1]?.values
  if (bias === undefined || target >= bias.length) return copy
  const room = (share * normLimit) ** 2 - norm(weights) ** 2
  bias[target] = (bias[target] as number) + Math.sqrt(Math.max(room, 0))
  return copy
}

/** backdoor: an honest model with one class boosted within the norm limit, claiming ten times its samples. */
export const backdoorAttack: AttackBehaviour = sharedOnly('backdoor', (honest, context) => ({ weights: boostClass(honest.weights, context.normLimit), samples: honest.samples * ATTACK_SAMPLE_INFLATION }))
