import { createHash } from 'node:crypto'
import type { ContentRouting, Libp2pEvents, PeerId, PeerStore, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'

/** multicodec of raw bytes, and of sha2-256 */
const RAW = 0x55
const SHA2_256 = 0x12

/** The DHT key all members of a swarm provide: the hash of a name only this swarm uses. */
export function rendezvousKey (swarmId: string): CID {
  const hash = createHash('sha256').update(`/murmur/rendezvous/${swarmId}`).digest()
  return CID.createV1(RAW, createDigest(SHA2_256, hash))
}

export interface SwarmRendezvousInit {
  readonly swarmId: string
  /** dial providers found while fewer than this many peers are connected */
  readonly targetPeers: number
  /** how often to look for other members (default 5 s) */
  readonly findIntervalMs?: number
  /** how often to renew this node's own provider record (default 30 s) */
  readonly provideIntervalMs?: number
  /** one lookup or announcement may take this long (default 10 s) */
  readonly timeoutMs?: number
  readonly isBlocked?: (peer: string) => boolean
}

/**
 * Finds the other members of a swarm through the DHT, without any fixed peer: each node provides the
 * swarm's rendezvous key and looks up who else does. Nodes behind NAT run the DHT as clients (they
 * are not in routing tables), but their provider records, with their relay addresses, are stored on
 * the DHT servers, so NATed members find each other, and keep finding each other when the peer
 * they first joined through is gone.
 */
export interface SwarmRendezvousComponents {
  peerId: PeerId
  contentRouting: ContentRouting
  peerStore: PeerStore
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
}

export class SwarmRendezvous implements Startable {
  private readonly key: CID
  private controller = new AbortController()
  private findTimer: NodeJS.Timeout | undefined
  private provideTimer: NodeJS.Timeout | undefined
  private finding = false
  private providing = false
  /** whether this node's provider record is stored with its current addresses */
  private provided = false
  private readonly onAddressChange = (): void => { this.provided = false }

  constructor (private readonly components: SwarmRendezvousComponents, private readonly init: SwarmRendezvousInit) {
    this.key = rendezvousKey(init.swarmId)
  }

  start (): void {
    this.controller = new AbortController()
    // Until a provider record with the node's current addresses is stored (the first attempts fail
    // while the DHT has no server to store it on; a new relay reservation changes the addresses),
    // announcing is retried at every lookup, not only every provideIntervalMs.
    this.components.events.addEventListener('self:peer:update', this.onAddressChange)
    this.findTimer = setInterval(() => {
      if (!this.provided) void this.provide()
      void this.find()
    }, this.init.findIntervalMs ?? 5_000)
    this.provideTimer = setInterval(() => { void this.provide() }, this.init.provideIntervalMs ?? 30_000)
    this.findTimer.unref()
    this.provideTimer.unref()
    // The first announcement goes out as soon as the DHT has a peer to store it on.
    const first = (): void => { void this.provide() }
    setTimeout(first, 1_000).unref()
  }

  stop (): void {
    this.components.events.removeEventListener('self:peer:update', this.onAddressChange)
    this.controller.abort()
    clearInterval(this.findTimer)
    clearInterval(this.provideTimer)
  }

  private signal (): AbortSignal {
    return AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.init.timeoutMs ?? 10_000)])
  }

  private async provide (): Promise<void> {
    if (this.providing || this.peerCount() === 0) return
    this.providing = true
    try {
      this.provided = true
      await this.components.contentRouting.provide(this.key, { signal: this.signal() })
    } catch {
      this.provided = false
      // No DHT server reachable yet: the next interval tries again.
    } finally {
      this.providing = false
    }
  }

  private async find (): Promise<void> {
    if (this.finding || this.peerCount() === 0) return
    this.finding = true
    const self = this.components.peerId.toString()
    try {
      const dials: Array<Promise<unknown>> = []
      for await (const provider of this.components.contentRouting.findProviders(this.key, { signal: this.signal() })) {
        const id = provider.id.toString()
        if (id === self || (this.init.isBlocked?.(id) ?? false)) continue
        if (provider.multiaddrs.length > 0) await this.components.peerStore.merge(provider.id, { multiaddrs: provider.multiaddrs })
        if (this.components.connectionManager.getConnections(provider.id).length === 0 && this.peerCount() < this.init.targetPeers) {
          dials.push(this.dial(provider.id))
        }
      }
      await Promise.all(dials)
    } catch {
      // A lookup that found nobody, or timed out, is retried at the next interval.
    } finally {
      this.finding = false
    }
  }

  private peerCount (): number {
    return new Set(this.components.connectionManager.getConnections().map(connection => connection.remotePeer.toString())).size
  }

  private async dial (peer: PeerId): Promise<void> {
    await this.components.connectionManager.openConnection(peer, { signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(10_000)]) }).catch(() => {})
  }
}

/** The rendezvous as a libp2p service: it starts and stops with the host. */
export function swarmRendezvous (init: SwarmRendezvousInit): (components: SwarmRendezvousComponents) => SwarmRendezvous {
  return components => new SwarmRendezvous(components, init)
}
