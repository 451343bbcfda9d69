import type { WeightCodec } from '../learning/weight-codec.js'
import type { Weights } from '../learning/weights.js'
import { withTimeout, type Clock } from './clock.js'
import type { Exchange, ExchangeStats, Outgoing, Progress, ShareResult } from './exchange.js'
import { OutboundLinks } from './model-links.js'
import type { NodeCounters } from './node-state.js'
import type { Transport } from './transport.js'
import { encodeUpdateMessage } from './update-codec.js'
import { encodeAnnouncement, PROTOCOL_VERSION } from './wire/model-update.js'

export interface PushExchangeInit {
  readonly transport: Transport
  readonly clock: Clock
  readonly swarmId: string
  readonly codec: WeightCodec
  /** the swarm's initial weights: the first reference every link starts from */
  readonly initial: Weights
  readonly fanout: number
  /** a push that has not been answered by then is abandoned */
  readonly timeoutMs: number
  /** whether the node refuses a peer now (it gets no push) */
  readonly isRefused: (peer: string) => boolean
  readonly random: () => number
  readonly counters: NodeCounters
}

/**
 * The least time between two announcements of a node in push mode: a node whose rounds are shorter
 * announces on the first round that ends after it has passed. Whom a node pushes to comes from the
 * topic's subscriptions, not from announcements (docs/protocol.md, section 6.1), and each announcement
 * costs every peer that receives it a signature check (gossipsub's StrictSign): announced on every
 * round, a skewed node of an 8-node MNIST swarm spent about a tenth of its CPU time on them
 * (docs/simulations.md, section 6, "Rounds that cost CPU time"). The same interval as the peer
 * topic's addresses (swarm-services.ts).
 */
export const ANNOUNCEMENT_INTERVAL_MS = 5_000

/**
 * Push mode, epidemic dissemination: after each round, the model goes to `fanout` peers sampled at
 * random, each over a stream of its own, as the difference from what that peer already holds of this
 * node's model (error feedback, model-links.ts); a small announcement of its progress goes on the
 * swarm's topic at most every ANNOUNCEMENT_INTERVAL_MS. Sends never block the round: at most one
 * transfer is in flight per peer (a busy peer is skipped and counted), and every transfer has a
 * timeout.
 */
export class PushExchange implements Exchange {
  readonly mode = 'push'
  readonly topic = 'announcements'
  private readonly init: PushExchangeInit
  private readonly links: OutboundLinks
  private readonly inFlight = new Set<string>()
  private readonly stopController = new AbortController()
  private readonly relayCounts = { sendsRelayed: 0, sendsSkippedRelayed: 0 }
  private lastAnnouncement = -Infinity

  constructor (init: PushExchangeInit) {
    this.init = init
    this.links = new OutboundLinks(init.initial, init.codec)
  }

  async share (model: Outgoing, progress: Progress): Promise<ShareResult> {
    const recipients = this.push(model, progress)
    const now = this.init.clock.now()
    if (now - this.lastAnnouncement < ANNOUNCEMENT_INTERVAL_MS) return { recipients, bytes: 0, message: null }
    this.lastAnnouncement = now
    const announcement = encodeAnnouncement({ protocolVersion: PROTOCOL_VERSION, swarmId: this.init.swarmId, step: progress.step, samples: progress.samples, createdAt: now })
    // A lost announcement costs nothing: the next round sends another.
    await this.init.transport.publish(announcement).catch(() => 0)
    return { recipients, bytes: 0, message: null }
  }

  serve (model: Outgoing): Outgoing {
    return model
  }

  /**
   * Samples peers and starts the transfers; returns how many were started. Peers with a direct
   * connection come first: peers reached only through a relay fill the fanout when there are too few
   * (and get the model only if it fits in the relay's limit).
   */
  private push (model: Outgoing, progress: Progress): number {
    const direct: string[] = []
    const relayed: string[] = []
    for (const candidate of this.init.transport.pushCandidates()) {
      if (this.init.isRefused(candidate.peer)) continue
      if (candidate.relayed) relayed.push(candidate.peer)
      else direct.push(candidate.peer)
    }
    const fanout = this.init.fanout
    const chosen = [...this.sample(direct, fanout), ...this.sample(relayed, fanout)].slice(0, fanout)
    let started = 0
    for (const peer of chosen) {
      if (this.inFlight.has(peer)) {
        this.init.counters.sendsDropped++
        continue
      }
      this.inFlight.add(peer)
      started++
      this.send(peer, model, progress).finally(() => { this.inFlight.delete(peer) }).catch(() => {})
    }
    return started
  }

  /** Partial Fisher-Yates: the first `count` entries become a uniform sample without replacement. */
  private sample (peers: string[], count: number): string[] {
    for (let i = 0; i < Math.min(count, peers.length); i++) {
      const j = i + Math.floor(this.init.random() * (peers.length - i))
      const chosen = peers[j] as string
      peers[j] = peers[i] as string
      peers[i] = chosen
    }
    return peers.slice(0, count)
  }

  private async send (peer: string, model: Outgoing, progress: Progress): Promise<void> {
    const prepared = this.links.prepare(peer, model.weights)
    const bytes = encodeUpdateMessage({
      swarmId: this.init.swarmId,
      step: progress.step,
      samples: model.samples,
      createdAt: this.init.clock.now(),
      base: prepared.base,
      data: prepared.data,
      shapes: model.weights.map(tensor => tensor.shape)
    }, this.init.codec)
    const counters = this.init.counters
    try {
      const { reply, relayed } = await withTimeout(this.init.clock, this.init.timeoutMs, this.stopController.signal, async signal => this.init.transport.push(peer, bytes, signal))
      if (relayed) this.relayCounts.sendsRelayed++
      if (reply === 'skipped') {
        // Models go over direct connections; a relay carries only what fits in its limit.
        this.relayCounts.sendsSkippedRelayed++
        return
      }
      counters.bytesSent += bytes.byteLength
      if (reply === 'accepted') this.links.commit(peer, prepared)
      else {
        this.links.reset(peer)
        if (reply === 'resync') counters.resyncs++
      }
    } catch {
      // Whether the receiver applied it is unknown: start that link again from the initial weights.
      this.links.reset(peer)
      counters.sendsFailed++
    }
  }

  stats (): ExchangeStats {
    return { inFlight: this.inFlight.size, ...this.relayCounts }
  }

  stop (): void {
    this.stopController.abort()
  }
}
