import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { GossipTopic, PushCandidate, PushOutcome, Transport, TransportHandlers } from '../core/transport.js'
import { relayedOnlyPeers } from '../p2p/connection-list.js'
import type { Host } from '../p2p/host.js'
import { announcementTopic, ModelGossip, modelTopic, type Verdict } from '../p2p/model-gossip.js'
import { handlePushes, pushModelOver } from '../p2p/model-push.js'
import { requestModel, serveModel } from '../p2p/model-request.js'
import { RelayAllowance } from '../p2p/relay-allowance.js'

/** pushes served at once per connection; libp2p refuses more streams, which is the backpressure senders feel */
const MAX_INBOUND_PUSHES = 2
/** pushes served at once by the node over all connections (memory: this many × maxUpdateBytes at most) */
const MAX_CONCURRENT_PUSHES = 8
/** how long serving one push may take */
const PUSH_TIMEOUT_MS = 10_000

export interface Libp2pTransportInit {
  readonly host: Host
  readonly swarmId: string
  /** the largest update of this swarm's model: larger pushes and answers are refused unread */
  readonly maxUpdateBytes: number
}

function parsePeer (peer: string): PeerId | null {
  try {
    return peerIdFromString(peer)
  } catch {
    return null
  }
}

/**
 * The core's transport over a libp2p host: pushes over streams of their own (/murmur/push), the
 * swarm's gossipsub topic (announcements in push mode, whole models in broadcast mode), model
 * requests (/murmur/model). Models go over direct connections; a relayed connection carries only a
 * push that fits in what is left of its data limit (relay-allowance.ts).
 */
export class Libp2pTransport implements Transport {
  private readonly host: Host
  private readonly init: Libp2pTransportInit
  private readonly allowance = new RelayAllowance()
  private gossip: ModelGossip<true> | null = null
  private readonly onConnectionClose = (event: CustomEvent<{ id: string }>): void => { this.allowance.forget(event.detail.id) }

  constructor (init: Libp2pTransportInit) {
    this.init = init
    this.host = init.host
  }

  async start (handlers: TransportHandlers, topic: GossipTopic): Promise<void> {
    const { host, swarmId } = this.init
    const accept = (verdict: ReturnType<TransportHandlers['broadcast']>): Verdict<true> => verdict.ok ? { ok: true, value: true } : verdict
    this.gossip = topic === 'models'
      ? new ModelGossip(host, modelTopic(swarmId), (author, data, relayer) => accept(handlers.broadcast(author, data, relayer)))
      : new ModelGossip(host, announcementTopic(swarmId), (from, data) => accept(handlers.announcement(from, data)))
    this.gossip.start()
    host.addEventListener('connection:close', this.onConnectionClose)
    if (topic === 'announcements') {
      await handlePushes(host, {
        maxBytes: this.init.maxUpdateBytes,
        maxInboundStreams: MAX_INBOUND_PUSHES,
        maxConcurrent: MAX_CONCURRENT_PUSHES,
        onBusy: from => { handlers.refused('push', from) },
        timeoutMs: PUSH_TIMEOUT_MS,
        onPush: handlers.push
      })
    }
    await serveModel(host, {
      swarmId,
      model: async from => handlers.modelRequest(from),
      admit: handlers.admitModelRequest,
      onRefused: from => { handlers.refused('model-request', from) }
    })
  }

  async stop (): Promise<void> {
    this.gossip?.stop()
    this.host.removeEventListener('connection:close', this.onConnectionClose)
  }

  peers (): string[] {
    return this.host.getPeers().map(peer => peer.toString())
  }

  isConnected (peer: string): boolean {
    const id = parsePeer(peer)
    return id !== null && this.host.getConnections(id).length > 0
  }

  swarmPeers (): string[] {
    return this.gossip?.subscribers() ?? []
  }

  pushCandidates (): PushCandidate[] {
    // Gossip does not run over relays (it would use up their data limit): peers reached only through
    // one (found through the swarm's DHT) are candidates too; they get only what fits.
    const members = new Set([...this.swarmPeers(), ...relayedOnlyPeers(this.host)])
    // In a private swarm, a model goes only to peers that proved they hold the key (admission.ts).
    const admission = this.host.services.admission
    return [...members].filter(peer => admission === undefined || admission.isAdmitted(peer)).map(peer => {
      const id = parsePeer(peer)
      const connections = id === null ? [] : this.host.getConnections(id)
      return { peer, relayed: !connections.some(connection => connection.limits === undefined) }
    })
  }

  async push (peer: string, bytes: Uint8Array, signal: AbortSignal): Promise<PushOutcome> {
    const id = peerIdFromString(peer)
    const path = this.allowance.choose(this.host.getConnections(id), bytes.byteLength)
    if (path.kind === 'none') {
      if (path.reason === 'too-large-for-relay') return { reply: 'skipped', relayed: false }
      throw new Error(`not connected to ${peer}`)
    }
    if (path.kind === 'relayed') this.allowance.spend(path.connection, bytes.byteLength)
    const reply = await pushModelOver(path.connection, bytes, signal)
    return { reply, relayed: path.kind === 'relayed' }
  }

  async publish (bytes: Uint8Array): Promise<number> {
    if (this.gossip === null) return 0
    return this.gossip.publish(bytes)
  }

  async requestModel (peer: string, signal: AbortSignal): Promise<Uint8Array | null> {
    return requestModel(this.host, peerIdFromString(peer), { swarmId: this.init.swarmId, maxBytes: this.init.maxUpdateBytes, signal })
  }

  async disconnect (peers: readonly string[]): Promise<void> {
    const refused = new Set(peers)
    await Promise.all(this.host.getConnections()
      .filter(connection => refused.has(connection.remotePeer.toString()))
      .map(async connection => connection.close().catch(() => { connection.abort(new Error('peer refused')) })))
  }
}
