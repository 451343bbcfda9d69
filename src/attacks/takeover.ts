import { sharedOnly, signFlip, type AttackBehaviour } from './attack.js'

/**
 * takeover: a model of the attacker's choosing (here its own negated) with the largest sample claim
 * a message can carry, 2^53 − 1. Under a mean that trusts claims, the receiver's merge returns the
 * attacker's model (a 1.2e-13 distance was measured before claims were capped).
 */
export const takeoverAttack: AttackBehaviour = sharedOnly('takeover', honest => ({ weights: signFlip(honest.weights), samples: Number.MAX_SAFE_INTEGER }))
