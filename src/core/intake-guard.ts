import { systemClock } from './clock.js'
import { norm, type Weights } from '../learning/weights.js'
import { BoundedMap } from './bounded-map.js'
import { FairShareBudget } from './fair-share.js'
import { median } from '../statistics.js'

export interface IntakeLimits {
  /** updates a peer may send in a burst */
  readonly burst: number
  /** updates per second a peer may send on average */
  readonly perSecond: number
  /** updates per second the node takes from all peers together: each active peer gets an equal share */
  readonly nodePerSecond: number
  /** updates the node takes in a burst from all peers together, shared the same way */
  readonly nodeBurst: number
  /**
   * a received model whose norm exceeds this many times the anchor is refused; the anchor is the
   * larger of the initial weights' norm and the median of the latest accepted norms of the peers and
   * the node's own model
   */
  readonly normFactor: number
  /** the norm bound grows by at most this factor per round, however the models it follows grow */
  readonly normGrowthPerRound: number
  /** rejections from one peer within `penaltyWindowMs` that get it graylisted */
  readonly penaltyThreshold: number
  readonly penaltyWindowMs: number
  /** how long a graylisted peer is refused */
  readonly graylistMs: number
  /** peers whose rate, penalties and norm the guard remembers (least recently seen dropped first) */
  readonly maxPeers: number
}

export const DEFAULT_INTAKE_LIMITS: IntakeLimits = {
  // Far above what an honest node sends (one push per round, a few rounds a second), far below a flood.
  burst: 30,
  perSecond: 20,
  // About 6 ms of decoding per MLP update: 20 a second keep a node's event loop about 12 % busy with
  // it, and are still 4× what an honest node receives in an 8-node swarm (fanout 3, 2–3 rounds a second).
  nodePerSecond: 20,
  nodeBurst: 40,
  normFactor: 4,
  // Honest training grows the norm slowly (MNIST MLP: about 2× over minutes); 1 % a round allows that
  // and bounds how fast a captured statistic can move the limit.
  normGrowthPerRound: 1.01,
  penaltyThreshold: 20,
  penaltyWindowMs: 60_000,
  graylistMs: 300_000,
  maxPeers: 4096
}

/** Peers whose latest norm enters the median: enough to outvote a few, cheap to sort each round. */
const NORM_SAMPLES = 256

/**
 * What a node lets in from each peer, beyond the format checks: fair-share token buckets (rate limit
 * per peer and for the node as a whole), a plausibility bound on the norm of received models that
 * one peer cannot move, and a penalty count that says when a peer which keeps sending what the node
 * refuses should be graylisted (PeerGate does the refusing). All per-peer state is bounded and
 * survives reconnects.
 */
export class IntakeGuard {
  readonly limits: IntakeLimits
  private readonly budget: FairShareBudget
  private readonly penalties: BoundedMap<string, number[]>
  private readonly peerNorms = new BoundedMap<string, number>(NORM_SAMPLES)
  private normBound = Infinity
  private anchor = 0

  constructor (limits: Partial<IntakeLimits> = {}, private readonly now: () => number = systemClock.now) {
    this.limits = { ...DEFAULT_INTAKE_LIMITS, ...limits }
    this.budget = new FairShareBudget({
      burst: this.limits.burst,
      perSecond: this.limits.perSecond,
      nodeBurst: this.limits.nodeBurst,
      nodePerSecond: this.limits.nodePerSecond,
      activeWindowMs: 10_000,
      maxSources: this.limits.maxPeers
    }, now)
    this.penalties = new BoundedMap(this.limits.maxPeers)
  }

  /** Takes a token for one update from `peer`; false means it is over its rate or its share of the node's. */
  admit (peer: string): boolean {
    return this.budget.admit(peer)
  }

  /**
   * Once per round: sets what the norm check compares with. The bound is normFactor × the larger of
   * the initial norm and the median of the peers' latest norms and the node's own, and grows by at
   * most normGrowthPerRound a round; it never falls below normFactor × the initial norm.
   */
  reference (own: Weights, initialNorm: number): void {
    this.anchor = initialNorm
    const floor = this.limits.normFactor * initialNorm
    const ownNorm = norm(own)
    const norms = [...this.peerNorms.values(), ...(Number.isFinite(ownNorm) ? [ownNorm] : [])]
    const target = this.limits.normFactor * Math.max(initialNorm, norms.length === 0 ? 0 : median(norms))
    const grown = Number.isFinite(this.normBound) ? this.normBound * this.limits.normGrowthPerRound : floor
    this.normBound = Math.max(floor, Math.min(target, grown))
  }

  /**
   * After the node has adopted the swarm's model (a warm join whose answers agreed with each other and
   * scored on its held-out data): the bound follows that model's norm at once. The growth cap guards
   * against what peers push, not against the node's own checked decision; without this, a node that
   * joins a swarm whose models have outgrown normFactor × the initial norm refuses every peer.
   */
  adopt (model: Weights): void {
    const value = norm(model)
    if (!Number.isFinite(value)) return
    const current = Number.isFinite(this.normBound) ? this.normBound : 0
    this.normBound = Math.max(current, this.limits.normFactor * value)
  }

  /** the norm a received model may have now */
  get bound (): number {
    return this.normBound
  }

  plausible (weights: Weights): boolean {
    return norm(weights) <= this.normBound
  }

  /** Checks a model from `peer`; a plausible one's norm becomes that peer's entry in the median. */
  accept (peer: string, weights: Weights): boolean {
    const value = norm(weights)
    if (!(value <= this.normBound)) return false
    this.peerNorms.set(peer, value)
    return true
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

  /** peers with rate or penalty state kept, for tests and status */
  get trackedPeers (): number {
    return Math.max(this.budget.size, this.penalties.size)
  }

  /** the initial norm the bound is anchored to (0 before the first reference) */
  get anchorNorm (): number {
    return this.anchor
  }
}
