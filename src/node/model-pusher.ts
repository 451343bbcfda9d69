import { peerIdFromString } from '@libp2p/peer-id'
import type { WeightCodec } from '../learning/weight-codec.js'
import type { Weights } from '../learning/weights.js'
import type { Host } from '../p2p/host.js'
import { pushModelOver } from '../p2p/model-push.js'
import { RelayAllowance } from '../p2p/relay-allowance.js'
import { OutboundLinks } from './model-links.js'
import { encodeUpdateMessage } from './update-codec.js'

export interface ModelPusherOptions {
  readonly swarmId: string
  readonly codec: WeightCodec
  /** the swarm's initial weights: the first reference every link starts from */
  readonly initial: Weights
  readonly fanout: number
  /** a push that has not been answered by then is abandoned */
  readonly timeoutMs: number
  /** peers a push may go to now (connected, in the swarm, not blocked) */
  readonly candidates: () => string[]
  readonly random: () => number
  readonly onSent: (bytes: number) => void
  /** a send skipped because the previous one to that peer was still in flight */
  readonly onDropped: () => void
  readonly onFailed: () => void
  readonly onResync: () => void
}

/** How pushes took the path they did (see relay-allowance.ts). */
export interface RelayCounts {
  /** pushes sent over a relayed (limited) connection because they fit in its data limit */
  sendsRelayed: number
  /** pushes not sent: the peer was reachable only through a relay and the model did not fit */
  sendsSkippedRelayed: number
}

/**
 * Epidemic dissemination: after each round, the model goes to `fanout` peers sampled at random,
 * each over a stream of its own. Sends never block the caller: at most one transfer is in flight per
 * peer (a busy peer is skipped and counted), and every transfer has a timeout.
 */
export class ModelPusher {
  private readonly links: OutboundLinks
  private readonly inFlight = new Set<string>()
  private readonly stopController = new AbortController()
  private readonly allowance = new RelayAllowance()
  readonly relayCounts: RelayCounts = { sendsRelayed: 0, sendsSkippedRelayed: 0 }

  constructor (private readonly host: Host, private readonly options: ModelPusherOptions) {
    this.links = new OutboundLinks(options.initial, options.codec)
    host.addEventListener('connection:close', event => { this.allowance.forget(event.detail.id) })
  }

  /**
   * Samples peers and starts the transfers; returns how many were started. Peers with a direct
   * connection come first: peers reached only through a relay fill the fanout when there are too few
   * (and get the model only if it fits in the relay's limit).
   */
  push (weights: Weights, progress: { step: number; samples: number }): number {
    const direct: string[] = []
    const relayed: string[] = []
    for (const peer of this.options.candidates()) {
      // In a private swarm, a model goes only to peers that proved they hold the key (admission.ts).
      if (this.host.services.admission !== undefined && !this.host.services.admission.isAdmitted(peer)) continue
      const connections = this.host.getConnections(peerIdFromString(peer))
      if (connections.some(connection => connection.limits === undefined)) direct.push(peer)
      else relayed.push(peer)
    }
    const candidates = [...this.sample(direct, this.options.fanout), ...this.sample(relayed, this.options.fanout)]
    let started = 0
    for (const peer of candidates.slice(0, this.options.fanout)) {
      if (this.inFlight.has(peer)) {
        this.options.onDropped()
        continue
      }
      this.inFlight.add(peer)
      started++
      this.send(peer, weights, progress).finally(() => { this.inFlight.delete(peer) }).catch(() => {})
    }
    return started
  }

  /** Partial Fisher-Yates: the first `count` entries become a uniform sample without replacement. */
  private sample (peers: string[], count: number): string[] {
    for (let i = 0; i < Math.min(count, peers.length); i++) {
      const j = i + Math.floor(this.options.random() * (peers.length - i))
      const chosen = peers[j] as string
      peers[j] = peers[i] as string
      peers[i] = chosen
    }
    return peers.slice(0, count)
  }

  private async send (peer: string, weights: Weights, progress: { step: number; samples: number }): Promise<void> {
    const prepared = this.links.prepare(peer, weights)
    const bytes = encodeUpdateMessage({
      swarmId: this.options.swarmId,
      step: progress.step,
      samples: progress.samples,
      createdAt: Date.now(),
      base: prepared.base,
      data: prepared.data,
      shapes: weights.map(tensor => tensor.shape)
    }, this.options.codec)
    const path = this.allowance.choose(this.host.getConnections(peerIdFromString(peer)), bytes.byteLength)
    if (path.kind === 'none') {
      // Models go over direct connections; a relay carries only what fits in its limit.
      if (path.reason === 'too-large-for-relay') this.relayCounts.sendsSkippedRelayed++
      else this.options.onFailed()
      return
    }
    try {
      if (path.kind === 'relayed') {
        this.allowance.spend(path.connection, bytes.byteLength)
        this.relayCounts.sendsRelayed++
      }
      const reply = await pushModelOver(path.connection, bytes, AbortSignal.any([this.stopController.signal, AbortSignal.timeout(this.options.timeoutMs)]))
      this.options.onSent(bytes.byteLength)
      if (reply === 'accepted') this.links.commit(peer, prepared)
      else {
        this.links.reset(peer)
        if (reply === 'resync') this.options.onResync()
      }
    } catch {
      // Whether the receiver applied it is unknown: start that link again from the initial weights.
      this.links.reset(peer)
      this.options.onFailed()
    }
  }

  /** transfers in flight now */
  get pending (): number {
    return this.inFlight.size
  }

  stop (): void {
    this.stopController.abort()
  }
}
