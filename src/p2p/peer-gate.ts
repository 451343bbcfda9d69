import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { Host } from './host.js'

/**
 * Which peers this node refuses to talk to. It drives libp2p's connection gater, so a blocked peer
 * can neither be dialled nor complete an inbound connection; a simulation cuts a swarm into groups
 * with it (a network partition) and heals it by clearing it.
 */
export class PeerGate {
  private blocked = new Set<string>()
  /** when set, the only peers allowed (an operator's explicit membership list) */
  private readonly allowed: ReadonlySet<string> | null

  constructor (allowed?: readonly string[]) {
    this.allowed = allowed === undefined ? null : new Set(allowed)
  }

  isBlocked (peer: PeerId | string): boolean {
    const id = peer.toString()
    return this.blocked.has(id) || (this.allowed !== null && !this.allowed.has(id))
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
    await Promise.all(host.getConnections()
      .filter(connection => this.isBlocked(connection.remotePeer))
      .map(async connection => connection.close().catch(() => connection.abort(new Error('peer blocked')))))
  }
}
