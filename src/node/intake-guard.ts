import { norm, type Weights } from '../learning/weights.js'

export interface IntakeLimits {
  /** updates a peer may send in a burst */
  readonly burst: number
  /** updates per second a peer may send on average */
  readonly perSecond: number
  /** a received model whose norm exceeds this many times the node's own (or the initial) norm is refused */
  readonly normFactor: number
  /** rejections from one peer within `penaltyWindowMs` that get it graylisted */
  readonly penaltyThreshold: number
  readonly penaltyWindowMs: number
  /** how long a graylisted peer is refused */
  readonly graylistMs: number
}

export const DEFAULT_INTAKE_LIMITS: IntakeLimits = {
  // Far above what an honest node sends (one push per round, a few rounds a second), far below a flood.
  burst: 30,
  perSecond: 20,
  normFactor: 4,
  penaltyThreshold: 20,
  penaltyWindowMs: 60_000,
  graylistMs: 300_000
}

/**
 * What a node lets in from each peer, beyond the format checks: a token bucket per peer (rate
 * limit), a plausibility bound on the norm of received models, and a penalty count that says when a
 * peer which keeps sending what the node refuses should be graylisted (PeerGate does the refusing).
 */
export class IntakeGuard {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()
  private readonly penalties = new Map<string, number[]>()
  private normBound = Infinity

  constructor (private readonly limits: IntakeLimits = DEFAULT_INTAKE_LIMITS, private readonly now: () => number = Date.now) {}

  /** Takes a token for one update from `peer`; false means it is over its rate. */
  admit (peer: string): boolean {
    const now = this.now()
    const bucket = this.buckets.get(peer) ?? { tokens: this.limits.burst, at: now }
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + (now - bucket.at) / 1000 * this.limits.perSecond)
    bucket.at = now
    this.buckets.set(peer, bucket)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  /** Sets what the norm check compares with: the node's own model and the swarm's initial one. */
  reference (own: Weights, initialNorm: number): void {
    this.normBound = this.limits.normFactor * Math.max(norm(own), initialNorm)
  }

  plausible (weights: Weights): boolean {
    return norm(weights) <= this.normBound
  }

  get graylistMs (): number {
    return this.limits.graylistMs
  }

  /** Counts a refusal; true when the peer has just crossed the threshold and should be graylisted. */
  penalise (peer: string): boolean {
    const now = this.now()
    const recent = (this.penalties.get(peer) ?? []).filter(at => now - at < this.limits.penaltyWindowMs)
    recent.push(now)
    if (recent.length >= this.limits.penaltyThreshold) {
      this.penalties.delete(peer)
      return true
    }
    this.penalties.set(peer, recent)
    return false
  }

  /** Forgets a peer that left, so the guard's state stays bounded. */
  forget (peer: string): void {
    this.buckets.delete(peer)
    this.penalties.delete(peer)
  }
}
