import type { Random } from '../data/random.js'
import type { Weights } from '../learning/weights.js'
import type { GossipTopic } from './transport.js'

/** A model as a node sends it: weights and the number of samples it claims stand behind them. */
export interface Outgoing {
  readonly weights: Weights
  readonly samples: number
}

/** The node's progress a message carries. */
export interface Progress {
  readonly step: number
  readonly samples: number
}

/** What one share did. */
export interface ShareResult {
  /** peers the model went to directly */
  readonly recipients: number
  /** bytes of the broadcast message (0 for pushes, whose bytes are counted per peer as they complete) */
  readonly bytes: number
  /** the broadcast message itself, null for pushes (each push is encoded for its link) */
  readonly message: Uint8Array | null
}

/** How the model leaves the node's exchange, for status. */
export interface ExchangeStats {
  /** pushes in flight now */
  readonly inFlight: number
  /** pushes sent over a relayed connection (they fit in its data limit) */
  readonly sendsRelayed: number
  /** pushes not sent because the peer was reachable only through a relay and the model did not fit */
  readonly sendsSkippedRelayed: number
}

/**
 * An exchange mode: how a node's model reaches its peers after each round, and what it answers a
 * model request (warm join) with. The manifest's `exchange.mode` picks one (push-exchange.ts,
 * broadcast-exchange.ts); simulated attackers wrap one (src/attacks/attacking-exchange.ts).
 */
export interface Exchange {
  readonly mode: 'push' | 'broadcast'
  /** the gossip topic this mode listens to */
  readonly topic: GossipTopic
  /** Shares the model after a round. Never rejects: a failed share loses one exchange, not the node. */
  share: (model: Outgoing, progress: Progress) => Promise<ShareResult>
  /** What a model request is answered with, given the node's public model. */
  serve: (model: Outgoing) => Outgoing
  stats: () => ExchangeStats
  /** Abandons transfers in flight. */
  stop: () => void
}

/** What a decorator of the exchange (a simulated attacker) may know of the node it wraps. */
export interface ExchangeDecoratorContext {
  /** a random source of its own, seeded from the node's seed */
  readonly random: Random
  /**
   * the largest norm the node expects receivers to accept: the bound of its own intake guard, which
   * runs the same defaults on similar models (before its first round, normFactor × the larger of the
   * given model's norm and the initial norm)
   */
  readonly normLimit: (model: Weights) => number
}

/** Wraps a node's exchange: what a simulated attacker plugs into the core. */
export type ExchangeDecorator = (exchange: Exchange, context: ExchangeDecoratorContext) => Exchange
