import { norm, type Weights } from '../learning/weights.js'
import { ATTACK_SAMPLE_INFLATION, sharedOnly, type AttackBehaviour } from './attack.js'

/** how close to the expected norm limit the shared model goes */
export const RATCHET_SHARE = 0.975

function scaled (weights: Weights, factor: number): Weights {
  return weights.map(tensor => ({ shape: tensor.shape, values: tensor.values.map(value => value * factor) }))
}

/**
 * ratchet: shares its model scaled to just under the norm limit it expects receivers to apply (3.9 ×
 * its own norm with the older defaults), claiming ten times its samples. Where receivers' limits
 * follow their own model, every accepted push raises the next limit: norms grew 60 → 1.3e7 in 10
 * rounds before limits were anchored.
 */
export const ratchetAttack: AttackBehaviour = sharedOnly('ratchet', (honest, context) => {
  const current = norm(honest.weights)
  return { weights: current > 0 ? scaled(honest.weights, RATCHET_SHARE * context.normLimit / current) : honest.weights, samples: honest.samples * ATTACK_SAMPLE_INFLATION }
})
