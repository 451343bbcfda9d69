import { ATTACK_SAMPLE_INFLATION, sharedOnly, signFlip, type AttackBehaviour } from './attack.js'

/** fresh identities a sybil attacker publishes each shared model under */
export const SYBIL_AUTHORS = 16

/**
 * sybil (broadcast mode): besides publishing its negated model under its own identity, the attacker
 * sends it signed by SYBIL_AUTHORS fresh identities, as if that many attackers had joined.
 * In push mode it is a sign-flip attack.
 */
export const sybilAttack: AttackBehaviour = sharedOnly('sybil', honest => ({ weights: signFlip(honest.weights), samples: honest.samples * ATTACK_SAMPLE_INFLATION }), SYBIL_AUTHORS)
