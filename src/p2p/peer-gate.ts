import type { ConnectionGater, PeerId } from '@libp2p/interface'

/**
 * The peers a node refuses, as the libp2p side sees them: the node's core keeps the list (its
 * PeerGate, src/core/peer-gate.ts); here it drives libp2p's connection gater, so a refused peer can
 * neither be dialled nor complete an inbound connection.
 */
export interface RefusedPeers {
  isBlocked: (peer: PeerId | string) => boolean
}

/** The gater to give libp2p at creation. */
export function connectionGater (gate: RefusedPeers): ConnectionGater {
  return {
    denyDialPeer: async peer => gate.isBlocked(peer),
    denyInboundEncryptedConnection: async peer => gate.isBlocked(peer),
    denyOutboundEncryptedConnection: async peer => gate.isBlocked(peer)
  }
}
