import type { Random } from '../data/random.js'
import { norm, parameterCount, type Weights } from '../learning/weights.js'

/**
 * Simulated attackers, for studying robust merge rules (murmur swarm with an attack scenario). An
 * attacking node trains like any other but shares a poisoned model, and claims ten times the samples
 * it processed so that a sample-weighted mean trusts it more. The poison keeps the model's norm
 * plausible, so only the merge rule stands between it and the honest nodes.
 */
export const ATTACKS = ['sign-flip', 'noise'] as const
export type Attack = typeof ATTACKS[number]

export const ATTACK_SAMPLE_INFLATION = 10

export function poison (weights: Weights, attack: Attack, random: Random): Weights {
  switch (attack) {
    case 'sign-flip':
      return weights.map(tensor => ({ shape: tensor.shape, values: tensor.values.map(value => -value) }))
    case 'noise': {
      // Noise as large as the model itself: the result is mostly noise, yet only √2 times the norm.
      const scale = norm(weights) / Math.sqrt(Math.max(parameterCount(weights), 1))
      return weights.map(tensor => ({ shape: tensor.shape, values: tensor.values.map(value => value + random.normal() * scale) }))
    }
  }
}
