import type { PrivacyStatus } from './privacy-guard.js'
import type { RecordPrivacyStatus } from './record-privacy.js'

/**
 * The protocol's part of a node's status: what the core knows. A process node adds what only it
 * knows (addresses, connections, reachability, memory, event loop; src/node/status.ts) to make
 * GET /status, whose format is fixed in docs/schemas/node-status.schema.json.
 */
export interface CoreStatus {
  swarmId: string
  /** local training steps taken, continuing across restarts */
  step: number
  samplesProcessed: number
  /** peers known to be in this swarm's gossip topic */
  swarmPeers: number
  /** last accuracy on the node's own held-out split */
  lastAccuracy: number | null
  exchanges: number
  restarts: number
  updates: { received: number; accepted: number; rejected: number; rejectedByReason: Record<string, number> }
  /** application payload bytes of model updates */
  bytes: { sent: number; received: number }
  checkpoint: { step: number; savedAt: string | null }
  /**
   * the warm join of a node that started without a checkpoint: the peer whose answer was the most
   * central, how many plausible answers were combined with the merge rule, how many were refused
   */
  warmJoin: { from: string; step: number; at: string; answers?: number; refused?: number } | null
  /** differential privacy, present when it is on: the ε spent so far at the manifest's δ (record-level: over all runs) */
  privacy?: PrivacyStatus | RecordPrivacyStatus
  /** how the model is shared (manifest's exchange settings) and how the pushes fare */
  exchange: {
    mode: string; fanout: number; codec: string; inFlight: number; sendsDropped: number; sendsFailed: number; resyncs: number
    /** pushes sent over a relayed connection (they fit in its data limit) */
    sendsRelayed: number
    /** pushes not sent because the peer was reachable only through a relay and the model did not fit */
    sendsSkippedRelayed: number
  }
  /** peers this node refuses to connect to (a simulated partition) */
  blockedPeers: number
  /** peers refused for a while because they kept sending updates this node refuses */
  graylistedPeers: number
  /**
   * the intake's state: the norm a received model may have now (null before the first round), peers
   * with rate or penalty state kept, pushes reset unread because the node was serving its maximum,
   * model requests refused (over the rate, or too many at once)
   */
  intake?: { normBound: number | null; trackedPeers: number; pushesBusy: number; modelRequestsRefused: number }
  data: { trainSamples: number; holdoutSamples: number }
}
