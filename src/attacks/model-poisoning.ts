import type { Random } from '../data/random.js'
import { norm, parameterCount, type Weights } from '../learning/weights.js'
import { ATTACK_SAMPLE_INFLATION, sharedOnly, signFlip, type AttackBehaviour } from './attack.js'

/** Noise as large as the model itself: the result is mostly noise, yet only √2 times the norm. */
export function addNoise (weights: Weights, random: Random): Weights {
  const scale = norm(weights) / Math.sqrt(Math.max(parameterCount(weights), 1))
  return weights.map(tensor => ({ shape: tensor.shape, values: tensor.values.map(value => value + random.normal() * scale) }))
}

/** sign-flip: shares its model negated, claiming ten times its samples. */
export const signFlipAttack: AttackBehaviour = sharedOnly('sign-flip', honest => ({ weights: signFlip(honest.weights), samples: honest.samples * ATTACK_SAMPLE_INFLATION }))

/** noise: shares its model plus noise of about its own norm, claiming ten times its samples. */
export const noiseAttack: AttackBehaviour = sharedOnly('noise', (honest, context) => ({ weights: addNoise(honest.weights, context.random), samples: honest.samples * ATTACK_SAMPLE_INFLATION }))
