import { systemClock } from './clock.js'
/**
 * The models a node merges: the latest accepted model of each peer it heard from recently, not only
 * what arrived since its last round. Under label skew a node that merges only the one or two models
 * that happened to arrive leans towards its own shard; the window lets every round see the whole
 * neighbourhood, each peer once, the older ones weighing less.
 *
 * Bounds (all documented defaults, clock injected for tests):
 * - at most `maxPeers` entries: storing a peer not yet held drops the least recently stored one (LRU),
 *   so memory is at most maxPeers models whatever the number of peers that send;
 * - an entry older than `maxAgeMs` is dropped when the window is read;
 * - an entry's weight is 2^(−age / halfLifeMs): a model `halfLifeMs` old counts half as much as a fresh one.
 *
 * Staleness is measured against the receiving node's pace (pace()): how old a model may be depends on
 * how often the node merges, since the swarm moves on by rounds, not by seconds. A node whose rounds
 * take longer than maxAgeMs / WINDOW_ROUNDS (7.5 s by default; a phone training a step every few seconds) keeps a
 * peer's model for WINDOW_ROUNDS of its own rounds, and its half-life grows in proportion; otherwise
 * the window would drop most models before the node's next merge (with 2-minute rounds, 3 of 4).
 */

export interface PeerWindowInit {
  /** most peers held at once (default 64); the least recently stored is dropped first */
  readonly maxPeers?: number
  /** entries older than this are dropped (default 30 s) */
  readonly maxAgeMs?: number
  /** age at which an entry's staleness weight halves (default 10 s) */
  readonly halfLifeMs?: number
  /** milliseconds since some fixed point (default systemClock.now) */
  readonly now?: () => number
}

/** What the window holds of a peer: its model's training step orders the updates of one peer. */
export interface Stepped {
  readonly step: number
}

export interface WindowEntry<T> {
  readonly peer: string
  readonly value: T
  /** milliseconds since it was stored */
  readonly ageMs: number
  /** staleness weight in (0, 1]: 2^(−ageMs / halfLifeMs) */
  readonly weight: number
}

export const DEFAULT_WINDOW_MAX_PEERS = 64
export const DEFAULT_WINDOW_MAX_AGE_MS = 30_000
export const DEFAULT_WINDOW_HALF_LIFE_MS = 10_000
/** the receiving node's rounds an entry lasts at the least, whatever maxAgeMs (see pace()) */
export const WINDOW_ROUNDS = 4

export class PeerWindow<T extends Stepped> {
  readonly maxPeers: number
  private readonly baseMaxAgeMs: number
  private readonly baseHalfLifeMs: number
  /** how long the receiving node's last round took (pace()), 0 before the first */
  private roundMs = 0
  private readonly now: () => number
  /** insertion order is storage order: the first key is the least recently stored */
  private readonly entries = new Map<string, { value: T; at: number }>()

  constructor (init: PeerWindowInit = {}) {
    this.maxPeers = init.maxPeers ?? DEFAULT_WINDOW_MAX_PEERS
    this.baseMaxAgeMs = init.maxAgeMs ?? DEFAULT_WINDOW_MAX_AGE_MS
    this.baseHalfLifeMs = init.halfLifeMs ?? DEFAULT_WINDOW_HALF_LIFE_MS
    this.now = init.now ?? systemClock.now
    if (!Number.isInteger(this.maxPeers) || this.maxPeers < 1) throw new RangeError('maxPeers must be a positive integer')
    if (!(this.baseMaxAgeMs > 0) || !(this.baseHalfLifeMs > 0)) throw new RangeError('maxAgeMs and halfLifeMs must be positive')
  }

  /** Tells the window how long the receiving node's last round took (training, idling and merging). */
  pace (roundMs: number): void {
    if (Number.isFinite(roundMs) && roundMs >= 0) this.roundMs = roundMs
  }

  /** entries older than this are dropped: maxAgeMs, or WINDOW_ROUNDS of the node's rounds when that is longer */
  get maxAgeMs (): number {
    return Math.max(this.baseMaxAgeMs, WINDOW_ROUNDS * this.roundMs)
  }

  /** the staleness half-life, stretched as maxAgeMs is */
  get halfLifeMs (): number {
    return this.baseHalfLifeMs * this.maxAgeMs / this.baseMaxAgeMs
  }

  /**
   * Stores a peer's model unless the window holds a newer one of that peer (a higher step): gossip may
   * deliver out of order. Returns whether it was stored.
   */
  set (peer: string, value: T): boolean {
    const held = this.entries.get(peer)
    const now = this.now()
    if (held !== undefined && now - held.at <= this.maxAgeMs && held.value.step > value.step) return false
    this.entries.delete(peer)
    this.entries.set(peer, { value, at: now })
    while (this.entries.size > this.maxPeers) {
      const oldest = this.entries.keys().next().value as string
      this.entries.delete(oldest)
    }
    return true
  }

  delete (peer: string): void {
    this.entries.delete(peer)
  }

  /** the number of entries held, expired ones included until the next read */
  get size (): number {
    return this.entries.size
  }

  /** The entries not yet expired, with their staleness weights; drops the expired ones. */
  current (): Array<WindowEntry<T>> {
    const now = this.now()
    const result: Array<WindowEntry<T>> = []
    for (const [peer, entry] of this.entries) {
      const ageMs = Math.max(0, now - entry.at)
      if (ageMs > this.maxAgeMs) {
        this.entries.delete(peer)
        continue
      }
      result.push({ peer, value: entry.value, ageMs, weight: stalenessWeight(ageMs, this.halfLifeMs) })
    }
    return result
  }
}

/** 2^(−age / halfLife): 1 for a fresh model, 1/2 at one half-life, 1/4 at two. */
export function stalenessWeight (ageMs: number, halfLifeMs: number): number {
  return Math.pow(2, -Math.max(0, ageMs) / halfLifeMs)
}
