import type { GossipsubEvents } from '@chainsafe/libp2p-gossipsub'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { identify, type Identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import type { Libp2p, PeerDiscovery, PubSub, ComponentLogger } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { MurmurError } from '../errors.js'
import { admission, type Admission } from './admission.js'
import { dialOrder } from './address-order.js'
import type { Identity } from './identity.js'
import { connectionGater, type RefusedPeers } from './peer-gate.js'
import { expectsPublicAddress } from './public-address.js'
import { reachabilityService, type ReachabilityService } from './reachability.js'
import { swarmRendezvous } from './swarm-rendezvous.js'
import { dialDiscoveredPeers, swarmGossipsub, swarmPeerDiscovery } from './swarm-services.js'

// A type alias, not an interface: libp2p's ServiceMap needs an index signature.
export type HostServices = {
  identify: Identify
  pubsub: PubSub<GossipsubEvents>
  reachability: ReachabilityService
  /** present when the host was given a swarm id */
  dht?: KadDHT
  /** present in a private swarm: every connection proves knowledge of the swarm key (admission.ts) */
  admission?: Admission
}

export type Host = Libp2p<HostServices>

export interface HostOptions {
  readonly identity: Identity
  /** multiaddrs to listen on, e.g. /ip4/0.0.0.0/tcp/0 */
  readonly listen: readonly string[]
  /** multiaddrs (with /p2p/PEER_ID) of peers to join through */
  readonly bootstrap: readonly string[]
  /** find peers on the local network by multicast DNS */
  readonly mdns: boolean
  /** largest gossip message accepted from the wire, in bytes */
  readonly maxMessageBytes: number
  /** dial peers found by discovery while fewer than this many are connected */
  readonly targetPeers?: number
  /** peers this node refuses to connect to (network partitions in simulations, allow lists) */
  readonly gate?: RefusedPeers
  /** a private swarm's pre-shared key (see swarm-key.ts): peers without it complete no connection */
  readonly swarmKey?: Uint8Array
  /**
   * the key whose knowledge every connection must prove (admission.ts), whatever its transport
   * (default: the swarm key). Given alone, without a swarm key, the host runs admission without pnet:
   * what a transport pnet does not cover (WebRTC) looks like.
   */
  readonly admissionKey?: Uint8Array
  /** gossip topics whose invalid messages count against the sender's peer score */
  readonly scoredTopics?: readonly string[]
  /**
   * the swarm this host serves: its DHT runs under a protocol id of this swarm only (never the public
   * IPFS DHT). Without it the host runs no DHT.
   */
  readonly swarmId?: string
  /** addresses peers can dial this node at (e.g. a router's public address and forwarded port) */
  readonly announce?: readonly string[]
  /**
   * offer the circuit relay service to peers behind NAT (default: when the node expects to be
   * publicly reachable, see public-address.ts)
   */
  readonly relayService?: boolean
  /**
   * how many relay reservations a node that does not expect to be publicly reachable holds, so peers
   * can reach it through a relay (default 2; 0 for none)
   */
  readonly relayReservations?: number
  /** libp2p transports besides TCP, WebSockets and circuit relay (an embedding program's, e.g. WebRTC) */
  readonly transports?: NonNullable<Libp2pOptions['transports']>
}


export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws']
const DEFAULT_RELAY_RESERVATIONS = 2

/** The DHT protocol of one swarm: a node of another swarm, or of the public IPFS DHT, speaks another. */
export function dhtProtocol (swarmId: string): string {
  return `/murmur/${swarmId.slice(0, 16)}/kad/1.0.0`
}

function checkMultiaddrs (addresses: readonly string[], flag: string, needsPeerId: boolean): void {
  for (const address of addresses) {
    try {
      const parsed = multiaddr(address)
      if (needsPeerId && parsed.getPeerId() === null) throw new Error('it has no /p2p/PEER_ID part')
    } catch (error) {
      throw new MurmurError('ERR_INVALID_ARGUMENT', `${flag}: "${address}" is not a usable multiaddr (${error instanceof Error ? error.message : String(error)})`)
    }
  }
}

/**
 * Creates and starts the libp2p host of a node: TCP and WebSockets, noise encryption, yamux
 * multiplexing, identify, gossipsub with signed messages, discovery by bootstrap list, mDNS and a
 * swarm-private Kademlia DHT, and for nodes behind NAT: circuit relay v2 reservations, DCUtR hole
 * punching and AutoNAT. A node that expects to be publicly reachable serves the DHT and relays for
 * others; one that does not reserves relay slots and uses the DHT as a client.
 */
export async function createHost (options: HostOptions): Promise<Host> {
  checkMultiaddrs(options.listen, '--listen', false)
  checkMultiaddrs(options.bootstrap, '--bootstrap', true)
  checkMultiaddrs(options.announce ?? [], '--announce', false)
  const publicNode = expectsPublicAddress(options.listen, options.announce ?? [])
  const reservations = publicNode ? 0 : (options.relayReservations ?? DEFAULT_RELAY_RESERVATIONS)
  const relayService = options.relayService ?? publicNode
  const admissionKey = options.admissionKey ?? options.swarmKey
  // The gossip score reads the admission service, which libp2p creates below.
  let admissionService: Admission | undefined
  const peerDiscovery: Array<(components: { logger: ComponentLogger }) => PeerDiscovery> = []
  if (options.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: [...options.bootstrap], timeout: 100 }) as never)
  if (options.mdns) peerDiscovery.push(mdns() as never)
  // Browser nodes are found through the swarm's peer topic (swarm-services.ts); process nodes relay it.
  if (options.swarmId !== undefined) peerDiscovery.push(swarmPeerDiscovery(options.swarmId) as never)
  const host = await createLibp2p({
    privateKey: options.identity,
    addresses: {
      // Each /p2p-circuit listen address is one reservation on a relay found among connected peers.
      listen: [...options.listen, ...Array.from({ length: reservations }, () => '/p2p-circuit')],
      ...(options.announce === undefined || options.announce.length === 0 ? {} : { appendAnnounce: [...options.announce] })
    },
    transports: [tcp(), webSockets(), circuitRelayTransport(), ...(options.transports ?? [])],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    // libp2p's default allows 5 inbound connections a second per address: a local swarm, or a LAN
    // behind one NAT, starts faster than that. Validation and the intake guard limit what peers send.
    // At most 128 connections (4 × the default 32 target peers): per-connection work stays bounded.
    // dialOrder: relay addresses before WebSockets ones, which can be slow to fail (address-order.ts).
    connectionManager: { inboundConnectionThreshold: 100, maxIncomingPendingConnections: 64, maxConnections: 128, addressSorter: dialOrder },
    ...(options.gate === undefined ? {} : { connectionGater: connectionGater(options.gate) }),
    ...(options.swarmKey === undefined ? {} : { connectionProtector: preSharedKey({ psk: options.swarmKey }) }),
    services: {
      identify: identify(),
      ping: ping(),
      autoNAT: autoNAT(),
      dcutr: dcutr(),
      reachability: reachabilityService(),
      ...(admissionKey === undefined
        ? {}
        : {
            admission: (components: Parameters<ReturnType<typeof admission>>[0]) => {
              admissionService = admission({ swarmKey: admissionKey })(components)
              return admissionService
            }
          }),
      ...(relayService ? { relay: circuitRelayServer() } : {}),
      ...(options.swarmId === undefined
        ? {}
        : {
            dht: kadDHT({
              protocol: dhtProtocol(options.swarmId),
              // Behind NAT a node cannot answer queries from outside: it asks, it does not serve.
              clientMode: !publicNode,
              // LAN peers reach each other at private addresses: keep them (a swarm need not be on the internet).
              peerInfoMapper: passthroughMapper,
              datastorePrefix: '/murmur-dht',
              querySelfInterval: 60_000
            }),
            rendezvous: swarmRendezvous({
              swarmId: options.swarmId,
              targetPeers: options.targetPeers ?? 32,
              ...(options.gate === undefined ? {} : { isBlocked: (peer: string) => options.gate?.isBlocked(peer) ?? false })
            })
          }),
      pubsub: swarmGossipsub({ maxMessageBytes: options.maxMessageBytes, scoredTopics: options.scoredTopics ?? [], admission: () => admissionService })
    }
  })
  dialDiscoveredPeers(host, options.targetPeers ?? 32)
  return host
}
