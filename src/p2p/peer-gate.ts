import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { Host } from './host.js'

/**
 * Which peers this node refuses to talk to. It drives libp2p's connection gater, so a blocked peer
 * can neither be dialled nor complete an inbound connection; a simulation cuts a swarm into groups
 * with it (a network partition) and heals it by clearing it.
 */
export class PeerGate {
  private blocked = new Set<string>()
  /** peers refused for a while because they kept sending invalid updates: id → until (ms since epoch) */
  private readonly graylisted = new Map<string, number>()
  /** when set, the only peers allowed (an operator's explicit membership list) */
  private readonly allowed: ReadonlySet<string> | null

  constructor (allowed?: readonly string[]) {
    this.allowed = allowed === undefined ? null : new Set(allowed)
  }

  isBlocked (peer: PeerId | string): boolean {
    const id = peer.toString()
    const until = this.graylisted.get(id)
    if (until !== undefined && until <= Date.now()) this.graylisted.delete(id)
    return this.blocked.has(id) || this.graylisted.has(id) || (this.allowed !== null && !this.allowed.has(id))
  }

  /** Refuses a misbehaving peer for `ms` and closes its connections. */
  async graylist (host: Host, peer: string, ms: number): Promise<void> {
    // Expired entries go first, so the map holds only peers refused now.
    const now = Date.now()
    for (const [id, until] of this.graylisted) if (until <= now) this.graylisted.delete(id)
    this.graylisted.set(peer, now + ms)
    await this.closeBlocked(host)
  }

  graylistedPeers (): string[] {
    return [...this.graylisted.keys()].filter(peer => this.isBlocked(peer))
  }

  blockedPeers (): string[] {
    return [...this.blocked]
  }

  /** The gater to give libp2p at creation. */
  connectionGater (): ConnectionGater {
    return {
      denyDialPeer: async peer => this.isBlocked(peer),
      denyInboundEncryptedConnection: async peer => this.isBlocked(peer),
      denyOutboundEncryptedConnection: async peer => this.isBlocked(peer)
    }
  }

  /** Replaces the set of blocked peers and closes any connection to them. */
  async set (host: Host, peers: readonly string[]): Promise<void> {
    this.blocked = new Set(peers)
    await this.closeBlocked(host)
  }

  private async closeBlocked (host: Host): Promise<void> {
    await Promise.all(host.getConnections()
      .filter(connection => this.isBlocked(connection.remotePeer))
      .map(async connection => connection.close().catch(() => connection.abort(new Error('peer blocked')))))
  }
}
