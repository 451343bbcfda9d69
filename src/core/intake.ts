import type { Weights } from '../learning/weights.js'
import type { Clock } from './clock.js'
import { FairShareBudget } from './fair-share.js'
import { IntakeGuard, type IntakeLimits } from './intake-guard.js'
import { InboundLinks } from './model-links.js'
import type { NodeCounters } from './node-state.js'
import type { PeerGate } from './peer-gate.js'
import { PeerWindow } from './peer-window.js'
import type { GossipVerdict, PushReply } from './transport.js'
import { decodeUpdate, validateUpdate, type ModelUpdate, type UpdateExpectations } from './update-codec.js'
import { decodeAnnouncement, PROTOCOL_VERSION } from './wire/model-update.js'

/** per-peer state kept for peers heard from, least recently heard dropped first */
export const MAX_TRACKED_PEERS = 4096
/**
 * broadcast mode: what one relaying peer may deliver, however many authors it relays for; a backstop
 * (the authors' own budget already bounds the node's work), generous enough for honest relays
 */
const RELAY_LIMITS = { burst: 120, perSecond: 60, nodeBurst: 400, nodePerSecond: 200, activeWindowMs: 10_000, maxSources: MAX_TRACKED_PEERS }
/** broadcast mode: the one budget all authors that are not neighbours of this node share */
const UNCONNECTED_AUTHORS = 'unconnected-authors'

/** Refusals that are the sender's fault: they count toward graylisting it. */
function penalised (reason: string): boolean {
  return reason !== 'rate-limited' && reason !== 'blocked-author' && reason !== 'not-a-neighbour'
}

export interface IntakeInit {
  readonly expectations: UpdateExpectations
  /** the swarm's initial weights: the first reference of every inbound link, and the norm bound's anchor */
  readonly initial: Weights
  readonly counters: NodeCounters
  readonly gate: PeerGate
  readonly clock: Clock
  /** whether the merge rule is robust: then only neighbours' models are of use (broadcast mode) */
  readonly robustMerge: boolean
  /** whether a peer is a neighbour now (connected) */
  readonly isConnected: (peer: string) => boolean
  /** a peer has just been graylisted: close its connections */
  readonly onGraylisted: (peer: string, ms: number) => void
  readonly onAccepted: (from: string, samples: number) => void
  readonly onRejected: (from: string, reason: string) => void
  readonly intakeLimits?: Partial<IntakeLimits>
}

/**
 * Everything a node takes in from its peers, and its verdict on each: rate limits, the format checks,
 * the norm bound, the per-link reconstructions of compressed pushes, counting by reason, graylisting
 * a peer that keeps sending what the node refuses, and the window of accepted models the next round
 * merges. Whatever a peer sends becomes a verdict; nothing here throws on network input.
 */
export class Intake {
  readonly guard: IntakeGuard
  /**
   * The latest accepted model of every peer heard from recently (bounded, expiring, staleness-weighted),
   * merged every round: under skew a node must see its whole neighbourhood, not only what arrived since
   * its last round, and a robust rule needs a quorum.
   */
  readonly window: PeerWindow<ModelUpdate>
  private readonly inboundLinks: InboundLinks
  /** broadcast mode: what one relaying peer may deliver, however many authors it relays for */
  private readonly relays: FairShareBudget
  private readonly init: IntakeInit

  constructor (init: IntakeInit) {
    this.init = init
    this.guard = new IntakeGuard(init.intakeLimits ?? {}, init.clock.now)
    this.window = new PeerWindow<ModelUpdate>({ now: init.clock.now })
    this.inboundLinks = new InboundLinks(init.initial)
    this.relays = new FairShareBudget(RELAY_LIMITS, init.clock.now)
  }

  /** A model pushed to this node: full weights, or a difference from a copy both sides hold. */
  receivePush (from: string, bytes: Uint8Array): PushReply {
    if (!this.guard.admit(from)) {
      this.reject(from, 'rate-limited', bytes.byteLength)
      return 'rejected'
    }
    const verdict = decodeUpdate(bytes, this.init.expectations)
    if (!verdict.ok) {
      this.reject(from, verdict.reason, bytes.byteLength)
      return 'rejected'
    }
    const update = verdict.value
    let weights: Weights | null
    if (update.base === 0) {
      this.inboundLinks.forget(from)
      weights = update.values
    } else {
      weights = this.inboundLinks.apply(from, update.base, update.values)
    }
    if (weights === null) {
      this.init.counters.resyncs++
      return 'resync'
    }
    if (!this.guard.accept(from, weights)) {
      // Its reconstruction is not worth keeping either: the sender starts over from base 1.
      this.inboundLinks.forget(from)
      this.reject(from, 'implausible-norm', bytes.byteLength)
      return 'rejected'
    }
    this.receive(from, { swarmId: update.swarmId, step: update.step, samples: update.samples, createdAt: update.createdAt, weights }, bytes.byteLength)
    return 'accepted'
  }

  /** Broadcast mode: `author` signed the model, `relayer` is the neighbour that delivered it. */
  receiveBroadcast (author: string, bytes: Uint8Array, relayer: string): GossipVerdict {
    const verdict = this.admitBroadcast(author, bytes, relayer)
    if (!verdict.ok) {
      this.reject(author, verdict.reason, bytes.byteLength)
      return verdict.ignore === true ? { ok: false, reason: verdict.reason, ignore: true } : { ok: false, reason: verdict.reason }
    }
    this.receive(author, verdict.value, bytes.byteLength)
    return { ok: true }
  }

  private admitBroadcast (from: string, data: Uint8Array, relayer: string): { ok: true; value: ModelUpdate } | { ok: false; reason: string; ignore?: boolean } {
    // A graylisted or blocked author stays out even when another peer relays it.
    // Neither this nor a rate limit is the relaying peer's fault: ignored, not scored against it.
    if (this.init.gate.isBlocked(from)) return { ok: false, reason: 'blocked-author', ignore: true }
    // Authors cost nothing to make. A robust rule merges only neighbours' models (the quorum), so a
    // non-neighbour's model is of no use here: it is dropped unread and not forwarded (the author's
    // own neighbours relay it among themselves). Under the mean, non-neighbours share one budget.
    const neighbour = this.init.isConnected(from)
    if (!neighbour && this.init.robustMerge) return { ok: false, reason: 'not-a-neighbour', ignore: true }
    const author = neighbour ? from : UNCONNECTED_AUTHORS
    if (!this.guard.admit(author) || !this.relays.admit(relayer)) return { ok: false, reason: 'rate-limited', ignore: true }
    const verdict = validateUpdate(data, this.init.expectations)
    if (!verdict.ok) return verdict
    if (!this.guard.accept(from, verdict.value.weights)) return { ok: false, reason: 'implausible-norm' }
    return verdict
  }

  /** An announcement (push mode): the format checked, nothing kept (gossip membership is what it is for). */
  checkAnnouncement (bytes: Uint8Array): GossipVerdict {
    try {
      const announcement = decodeAnnouncement(bytes)
      if (announcement.protocolVersion !== PROTOCOL_VERSION) return { ok: false, reason: 'protocol-version' }
      if (announcement.swarmId !== this.init.expectations.swarmId) return { ok: false, reason: 'wrong-swarm' }
      return { ok: true }
    } catch {
      return { ok: false, reason: 'malformed' }
    }
  }

  private receive (from: string, update: ModelUpdate, bytes: number): void {
    const counters = this.init.counters
    counters.updatesReceived++
    counters.updatesAccepted++
    counters.bytesReceived += bytes
    this.window.set(from, update)
    this.init.onAccepted(from, update.samples)
  }

  private reject (from: string, reason: string, bytes: number): void {
    const counters = this.init.counters
    counters.updatesReceived++
    counters.updatesRejected++
    counters.bytesReceived += bytes
    counters.rejectedByReason[reason] = (counters.rejectedByReason[reason] ?? 0) + 1
    this.init.onRejected(from, reason)
    // Going over the rate costs the sender that update only; invalid content counts toward graylisting.
    if (penalised(reason) && this.guard.penalise(from)) {
      counters.peersGraylisted++
      this.window.delete(from)
      this.init.gate.graylist(from, this.guard.graylistMs)
      this.init.onGraylisted(from, this.guard.graylistMs)
    }
  }
}
