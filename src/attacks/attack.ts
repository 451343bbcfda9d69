import type { Outgoing } from '../core/exchange.js'
import type { Random } from '../data/random.js'
import type { Weights } from '../learning/weights.js'

export type { Outgoing } from '../core/exchange.js'

/**
 * Simulated attackers, for studying the defences (murmur swarm with an attack scenario, or
 * `murmur start --attack`). An attacking node trains and merges like any other; an attack decorates
 * its exchange (attacking-exchange.ts): the model and sample claim it shares after each round, the
 * model it answers warm-join requests with, and in broadcast mode the identities it publishes under.
 * One file per attack in this folder; docs/security.md says what stops each.
 */
export const ATTACKS = ['sign-flip', 'noise', 'takeover', 'backdoor', 'ratchet', 'liar', 'sybil'] as const
export type Attack = typeof ATTACKS[number]

/** how many times its true sample count an attacker claims, unless its attack says otherwise */
export const ATTACK_SAMPLE_INFLATION = 10

export interface AttackContext {
  readonly random: Random
  /**
   * the largest norm the attacker expects receivers to accept: the bound of its own intake guard,
   * which runs the same defaults on similar models (before its first round, 4 × the larger of its
   * model's norm and the initial norm)
   */
  readonly normLimit: number
}

/** What an attack does to what a node sends. Methods return new objects and leave their inputs alone. */
export interface AttackBehaviour {
  readonly name: Attack
  /** what goes out after a round, to pushes or the broadcast topic */
  shared: (honest: Outgoing, context: AttackContext) => Outgoing
  /** what answers model requests (warm joins) */
  served: (honest: Outgoing, context: AttackContext) => Outgoing
  /** broadcast mode: how many fresh identities also publish each shared model */
  readonly sybils: number
}

/** every weight negated */
export function signFlip (weights: Weights): Weights {
  return weights.map(tensor => ({ shape: tensor.shape, values: tensor.values.map(value => -value) }))
}

/** An attack that changes only what is shared (the default of most attacks). */
export function sharedOnly (name: Attack, shared: AttackBehaviour['shared'], sybils = 0): AttackBehaviour {
  return { name, shared, served: honest => honest, sybils }
}
