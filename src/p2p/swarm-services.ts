import { gossipsub } from '@chainsafe/libp2p-gossipsub'
import { createPeerScoreParams, createTopicScoreParams } from '@chainsafe/libp2p-gossipsub/score'
import type { Libp2p } from '@libp2p/interface'
import { pubsubPeerDiscovery } from '@libp2p/pubsub-peer-discovery'
import type { Admission } from './admission.js'

/**
 * The libp2p services every murmur host runs the same way, a process node (host.ts) and a browser
 * node (src/browser/browser-host.ts) alike: gossipsub with murmur's settings, and finding the swarm's
 * peers on a gossip topic of its own.
 */

/**
 * gossipsub score thresholds, and the score of a peer whose admission is not done: below the gossip
 * and publish thresholds (nothing is sent to it, it joins no mesh), above the graylist one (its
 * subscriptions still arrive, so it is a mesh candidate as soon as it is admitted).
 */
const SCORE_THRESHOLDS = { gossipThreshold: -100, publishThreshold: -200, graylistThreshold: -400 }
const UNADMITTED_SCORE = -300

function toHex (bytes: Uint8Array | undefined): string {
  let text = ''
  for (const byte of bytes ?? []) text += byte.toString(16).padStart(2, '0')
  return text
}

export interface SwarmGossipsubInit {
  /** largest gossip message accepted from the wire, in bytes */
  readonly maxMessageBytes: number
  /** gossip topics whose invalid messages count against the sender's peer score */
  readonly scoredTopics: readonly string[]
  /** the host's admission service, when the swarm is private (read when scores are computed) */
  readonly admission: () => Admission | undefined
}

export function swarmGossipsub (init: SwarmGossipsubInit): ReturnType<typeof gossipsub> {
  return gossipsub({
    globalSignaturePolicy: 'StrictSign',
    allowPublishToZeroTopicPeers: true,
    ignoreDuplicatePublishError: true,
    fallbackToFloodsub: false,
    // Not over relayed (limited) connections: gossip traffic would use up a relay's data limit.
    runOnLimitedConnection: false,
    // In broadcast mode models are large: publish to the mesh only and keep the mesh small, so each
    // model crosses fewer links twice. (Push mode sends models over direct streams instead.)
    floodPublish: false,
    D: 3,
    Dlo: 2,
    Dhi: 5,
    Dout: 1,
    maxInboundDataLength: init.maxMessageBytes,
    // Recognise a duplicate by sender and sequence number before checking its signature: with
    // models of hundreds of kilobytes, verifying every copy costs more than the training.
    // A peer whose messages fail validation loses score until gossipsub ignores (graylists) it.
    scoreParams: createPeerScoreParams({
      // Many peers behind one address are normal here (a local swarm, a LAN behind NAT): no penalty.
      IPColocationFactorWeight: 0,
      appSpecificWeight: 1,
      appSpecificScore: peer => {
        const admission = init.admission()
        return admission === undefined || admission.isAdmitted(peer) ? 0 : UNADMITTED_SCORE
      },
      topics: Object.fromEntries(init.scoredTopics.map(topic => [topic, createTopicScoreParams({
        topicWeight: 1,
        timeInMeshWeight: 0,
        firstMessageDeliveriesWeight: 0,
        meshMessageDeliveriesWeight: 0,
        meshFailurePenaltyWeight: 0,
        invalidMessageDeliveriesWeight: -10,
        invalidMessageDeliveriesDecay: 0.9
      })]))
    }),
    scoreThresholds: SCORE_THRESHOLDS,
    fastMsgIdFn: message => `${toHex(message.from)}:${toHex(message.seqno)}`
  })
}

/** The gossip topic on which a swarm's peers publish their addresses (browser nodes are found so). */
export function peerTopic (swarmId: string): string {
  return `/murmur/peers/1/${swarmId}`
}

/** how often a host publishes its addresses on the peer topic */
const PEER_ANNOUNCE_INTERVAL_MS = 5_000

/**
 * Finds the swarm's peers on its peer topic: each host publishes its addresses there (a browser
 * node's are relay and WebRTC addresses), so browser nodes, which no DHT lists, find each other and
 * the process nodes. Process nodes subscribe too, so the topic reaches tabs through them.
 */
export function swarmPeerDiscovery (swarmId: string): ReturnType<typeof pubsubPeerDiscovery> {
  return pubsubPeerDiscovery({ topics: [peerTopic(swarmId)], interval: PEER_ANNOUNCE_INTERVAL_MS })
}

/** Dials peers found by discovery (bootstrap dials its own) while fewer than `targetPeers` are connected. */
export function dialDiscoveredPeers (host: Libp2p, targetPeers: number): void {
  host.addEventListener('peer:discovery', event => {
    const peer = event.detail
    if (host.getConnections(peer.id).length > 0 || host.getPeers().length >= targetPeers) return
    host.dial(peer.id).catch(() => { /* an unreachable peer is simply not a neighbour */ })
  })
}
