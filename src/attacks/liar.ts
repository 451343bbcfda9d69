import { signFlip, type AttackBehaviour } from './attack.js'

/**
 * liar: shares honestly, but answers every model request (a warm join) with its model negated,
 * claiming 2^53 − 1 samples, which once made the joiner adopt it.
 */
export const liarAttack: AttackBehaviour = {
  name: 'liar',
  shared: honest => honest,
  served: honest => ({ weights: signFlip(honest.weights), samples: Number.MAX_SAFE_INTEGER }),
  sybils: 0
}
