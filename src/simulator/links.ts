import { createRandom, deriveSeed } from '../data/random.js'
import { sample, type Distribution } from './distribution.js'

export interface LinkModelInit {
  /** one-way latency of a link, milliseconds */
  readonly latency: Distribution
  /** a link's bandwidth, bits per second */
  readonly bandwidth: Distribution
  /** the run's seed: a link's figures depend on it and on the two nodes only */
  readonly seed: number
}

/** One link's figures, the same both ways. */
export interface Link {
  readonly latencyMs: number
  readonly bitsPerSecond: number
}

/** When a message sent now leaves its sender and reaches its receiver. */
export interface Transfer {
  /** when its first byte goes out: later than now when the sender's uplink is busy */
  readonly startsAt: number
  /** when its last byte arrives: start + bytes / bandwidth + latency */
  readonly arrivesAt: number
}

/** Latencies and bandwidths below these are taken as these (a zero would make transfers instantaneous). */
const MINIMUM_LATENCY_MS = 0
const MINIMUM_BITS_PER_SECOND = 1_000

/**
 * The network of a simulation: every pair of nodes has a link whose latency and bandwidth are drawn
 * once from the given distributions (from the seed and the pair, so they do not depend on the order
 * in which links are first used), and every node has one uplink: what it sends goes out one message
 * after another, a message taking latency + bytes / bandwidth to arrive.
 */
export class LinkModel {
  private readonly links = new Map<number, Link>()
  /** when each node's uplink is free again */
  private readonly uplinkFreeAt = new Map<number, number>()

  constructor (private readonly init: LinkModelInit) {}

  link (a: number, b: number): Link {
    const low = Math.min(a, b)
    const high = Math.max(a, b)
    // Node numbers stay below 2^21 (the simulator's limit is far lower): the key is exact.
    const key = low * 2_097_152 + high
    let link = this.links.get(key)
    if (link === undefined) {
      const random = createRandom(deriveSeed(this.init.seed, low, high, 0x11ce))
      link = {
        latencyMs: Math.max(MINIMUM_LATENCY_MS, sample(this.init.latency, random)),
        bitsPerSecond: Math.max(MINIMUM_BITS_PER_SECOND, sample(this.init.bandwidth, random))
      }
      this.links.set(key, link)
    }
    return link
  }

  /** Queues `bytes` from `from` to `to` at virtual time `now` on the sender's uplink. */
  send (from: number, to: number, bytes: number, now: number): Transfer {
    const link = this.link(from, to)
    const startsAt = Math.max(now, this.uplinkFreeAt.get(from) ?? 0)
    const sendingMs = bytes * 8 / link.bitsPerSecond * 1000
    this.uplinkFreeAt.set(from, startsAt + sendingMs)
    return { startsAt, arrivesAt: startsAt + sendingMs + link.latencyMs }
  }

  /** A node that goes offline loses what its uplink still had queued. */
  reset (node: number): void {
    this.uplinkFreeAt.delete(node)
  }
}
