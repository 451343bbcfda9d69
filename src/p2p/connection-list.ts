import type { Connection } from '@libp2p/interface'
import type { Libp2p } from '@libp2p/interface'

/** One open connection as GET /status shows it. */
export interface ConnectionInfo {
  peerId: string
  direction: 'inbound' | 'outbound'
  /** the transport under any relay: tcp, websockets, webrtc, webrtc-direct, … */
  transport: string
  /** a circuit-relay connection (limited in bytes and time by the relay) */
  relayed: boolean
  /** the peer's identify agent version, when known */
  agent: string | null
}

const MAX_AGENT_LENGTH = 128

/** The transport of a connection, named from its remote address (the part before any relay hop). */
export function transportOf (connection: Pick<Connection, 'remoteAddr'>): string {
  const address = connection.remoteAddr.toString()
  const underRelay = address.split('/p2p-circuit')[0] ?? address
  const names = underRelay.split('/')
  if (names.includes('webrtc-direct')) return 'webrtc-direct'
  if (names.includes('webrtc')) return 'webrtc'
  if (names.includes('ws') || names.includes('wss') || names.includes('tls')) return 'websockets'
  if (names.includes('quic-v1') || names.includes('quic')) return 'quic'
  if (names.includes('tcp')) return 'tcp'
  return 'unknown'
}

/** A relayed connection: the relay limits it (bytes and duration), so large transfers do not belong there. */
export function isRelayed (connection: Pick<Connection, 'remoteAddr' | 'limits'>): boolean {
  return connection.limits !== undefined || connection.remoteAddr.toString().includes('/p2p-circuit')
}

/** Peers this host reaches only through relays now. */
export function relayedOnlyPeers (host: Libp2p): string[] {
  const direct = new Set<string>()
  const relayed = new Set<string>()
  for (const connection of host.getConnections()) {
    if (connection.status !== 'open') continue
    const peer = connection.remotePeer.toString()
    if (isRelayed(connection)) relayed.add(peer)
    else direct.add(peer)
  }
  return [...relayed].filter(peer => !direct.has(peer))
}

/**
 * Lists a host's open connections with the agent each peer gave in identify. Agents are kept only
 * for connected peers (a peer's agent string is its own text: cut to a bounded length).
 */
export class ConnectionList {
  private readonly agents = new Map<string, string>()

  constructor (private readonly host: Libp2p) {
    host.addEventListener('peer:identify', event => {
      const agent = event.detail.agentVersion
      if (agent !== undefined) this.agents.set(event.detail.peerId.toString(), agent.slice(0, MAX_AGENT_LENGTH))
    })
    host.addEventListener('peer:disconnect', event => { this.agents.delete(event.detail.toString()) })
  }

  list (): ConnectionInfo[] {
    return this.host.getConnections().filter(connection => connection.status === 'open').map(connection => {
      const peerId = connection.remotePeer.toString()
      return {
        peerId,
        direction: connection.direction,
        transport: transportOf(connection),
        relayed: isRelayed(connection),
        agent: this.agents.get(peerId) ?? null
      }
    })
  }
}
