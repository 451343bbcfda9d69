import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import type { PeerDiscovery, ComponentLogger } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { admission, type Admission } from '../p2p/admission.js'
import type { Host } from '../p2p/host.js'
import type { Identity } from '../p2p/identity.js'
import { connectionGater, type RefusedPeers } from '../p2p/peer-gate.js'
import { reachabilityService } from '../p2p/reachability.js'
import { dialDiscoveredPeers, swarmGossipsub, swarmPeerDiscovery } from '../p2p/swarm-services.js'

export interface BrowserHostOptions {
  readonly identity: Identity
  /** multiaddrs (with /p2p/PEER_ID) of process nodes' WebSockets listeners, e.g. the serving node's */
  readonly bootstrap: readonly string[]
  readonly swarmId: string
  /** largest gossip message accepted from the wire, in bytes */
  readonly maxMessageBytes: number
  /** gossip topics whose invalid messages count against the sender's peer score */
  readonly scoredTopics: readonly string[]
  /** a private swarm's key: pnet on WebSockets and relayed connections, admission on every connection */
  readonly swarmKey?: Uint8Array
  /** the peers the node refuses (its core's gate) */
  readonly gate?: RefusedPeers
  /**
   * STUN/TURN servers WebRTC may use to cross NATs between tabs (default none: tabs on one network
   * connect directly; libp2p's own default would contact public STUN servers of third parties)
   */
  readonly iceServers?: RTCIceServer[]
  /** dial peers found on the swarm's peer topic while fewer than this many are connected (default 8) */
  readonly targetPeers?: number
}

/** A tab has fewer resources than a process: fewer neighbours. */
const DEFAULT_BROWSER_TARGET_PEERS = 8

/**
 * The libp2p host of a browser node: WebSockets to process nodes, WebRTC to other browser nodes
 * (signalled through a circuit relay v2 reservation on a process node), the circuit relay transport,
 * noise, yamux, identify and the same gossipsub and admission as a process node (swarm-services.ts,
 * admission.ts). It listens on a relay reservation (/p2p-circuit) and for WebRTC (/webrtc), so other
 * tabs can reach it; it serves no relay and no DHT.
 */
export async function createBrowserHost (options: BrowserHostOptions): Promise<Host> {
  let admissionService: Admission | undefined
  const peerDiscovery: Array<(components: { logger: ComponentLogger }) => PeerDiscovery> = [swarmPeerDiscovery(options.swarmId) as never]
  if (options.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: [...options.bootstrap], timeout: 100 }) as never)
  const gater = options.gate === undefined ? {} : connectionGater(options.gate)
  const host = await createLibp2p({
    privateKey: options.identity,
    addresses: { listen: ['/p2p-circuit', '/webrtc'] },
    transports: [webSockets(), webRTC({ rtcConfiguration: { iceServers: options.iceServers ?? [] } }), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    // libp2p in a browser refuses private addresses by default; a swarm on a LAN (or loopback) has only those.
    connectionGater: { ...gater, denyDialMultiaddr: async () => false },
    // pnet covers WebSockets and relayed connections; WebRTC skips it, admission covers every connection.
    ...(options.swarmKey === undefined ? {} : { connectionProtector: preSharedKey({ psk: options.swarmKey }) }),
    services: {
      identify: identify(),
      ping: ping(),
      reachability: reachabilityService(),
      ...(options.swarmKey === undefined
        ? {}
        : {
            admission: (components: Parameters<ReturnType<typeof admission>>[0]) => {
              admissionService = admission({ swarmKey: options.swarmKey as Uint8Array })(components)
              return admissionService
            }
          }),
      pubsub: swarmGossipsub({ maxMessageBytes: options.maxMessageBytes, scoredTopics: options.scoredTopics, admission: () => admissionService })
    }
  })
  dialDiscoveredPeers(host, options.targetPeers ?? DEFAULT_BROWSER_TARGET_PEERS)
  return host
}
