/**
 * What the core needs of a network: send bytes to peers, and hand it the bytes that arrive. Every
 * message is an encoded update or announcement of the wire format (wire/model-update.ts, see
 * docs/protocol.md), so a transport carries bytes and never judges them: decoding, checks, verdicts
 * and counting are the core's. Implementations: the libp2p transport of a process node
 * (src/node/libp2p-transport.ts), the simulated network of simulations and in-process tests
 * (src/simulator/simulated-network.ts), and the browser node's.
 *
 * Handlers are given once, at start(); a transport calls them for what arrives from then on. Peer ids
 * are strings (libp2p's text form in a real network, any unique name in memory).
 */

/** The receiver's answer to a pushed model. */
export type PushReply =
  /** merged, or queued for the next merge */
  | 'accepted'
  /** the update was a difference from a reconstruction the receiver does not have: send from a known base */
  | 'resync'
  /** invalid; counted by reason on the receiving side */
  | 'rejected'

/** How a push went, seen from the sender; a push that failed (broken connection, timeout) rejects instead. */
export interface PushOutcome {
  /**
   * the receiver's reply, or 'skipped' when the transport did not send it because the only path to
   * the peer could not carry it (a relay's data limit)
   */
  readonly reply: PushReply | 'skipped'
  /** it went over a relayed (limited) connection, as it fit in the relay's limit */
  readonly relayed: boolean
}

/** A verdict on a message that arrived by gossip: accept it (and forward it), or refuse it. */
export type GossipVerdict =
  | { readonly ok: true }
  /** refused; `ignore`: not the relaying peer's fault (no score penalty, not forwarded) */
  | { readonly ok: false; readonly reason: string; readonly ignore?: boolean }

/** A peer this node could push to now. */
export interface PushCandidate {
  readonly peer: string
  /** reachable only through a relay: it gets a push only when the fanout is not filled with direct peers */
  readonly relayed: boolean
}

/** What the core answers on the transport's behalf (given at start()). */
export interface TransportHandlers {
  /** a model pushed to this node (push mode) */
  readonly push: (from: string, bytes: Uint8Array) => PushReply | Promise<PushReply>
  /** an announcement on the swarm's topic (push mode): checked before the transport forwards it */
  readonly announcement: (from: string, bytes: Uint8Array) => GossipVerdict
  /**
   * a whole model on the swarm's model topic (broadcast mode): `author` signed it, `relayer` is the
   * neighbour that delivered it. Runs before the transport forwards it, so a refused model goes no further.
   */
  readonly broadcast: (author: string, bytes: Uint8Array, relayer: string) => GossipVerdict
  /** whether `from` may ask for this node's model now (the transport resets a refused request unanswered) */
  readonly admitModelRequest: (from: string) => boolean
  /** this node's model for a peer that asked (warm join), encoded; null before it has one */
  readonly modelRequest: (from: string) => Promise<Uint8Array | null>
  /** the transport refused something before the core saw it: too many pushes or requests at once */
  readonly refused: (kind: 'push' | 'model-request', from: string) => void
}

/** Which gossip topic the node listens to: what its exchange mode needs. */
export type GossipTopic = 'announcements' | 'models'

export interface Transport {
  /**
   * Starts delivering to `handlers`: the model-request protocol always, pushes and the announcement
   * topic or the model topic as `topic` says.
   */
  start: (handlers: TransportHandlers, topic: GossipTopic) => Promise<void>
  stop: () => Promise<void>
  /** peers connected now */
  peers: () => string[]
  /** whether a peer is connected now (broadcast mode merges only neighbours' models) */
  isConnected: (peer: string) => boolean
  /** connected peers known to be in this swarm (subscribed to its topic) */
  swarmPeers: () => string[]
  /** swarm peers a push may go to now: subscribers, and peers reachable only through a relay */
  pushCandidates: () => PushCandidate[]
  /** Pushes one encoded update to a peer; rejects on failure or when `signal` aborts. */
  push: (peer: string, bytes: Uint8Array, signal: AbortSignal) => Promise<PushOutcome>
  /** Publishes on the topic of start(); resolves to the number of peers it went to directly. */
  publish: (bytes: Uint8Array) => Promise<number>
  /** Asks a peer for its model: its encoded update, or null when it has none; rejects on failure. */
  requestModel: (peer: string, signal: AbortSignal) => Promise<Uint8Array | null>
  /** Closes connections to these peers (the core has just refused them: graylisted or blocked). */
  disconnect: (peers: readonly string[]) => Promise<void>
}
