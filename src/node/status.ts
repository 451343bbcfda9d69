import type { PrivacyStatus } from './privacy-guard.js'
import type { RecordPrivacyStatus } from './record-privacy.js'

/**
 * Body of GET /status. The format is fixed in docs/schemas/node-status.schema.json; fields may be
 * added, never renamed or dropped.
 */
export interface NodeStatus {
  peerId: string
  swarmId: string
  backend: string
  /** share of the time the node may train (--max-cpu) */
  maxCpu: number
  multiaddrs: string[]
  /** local training steps taken, continuing across restarts */
  step: number
  samplesProcessed: number
  /** peers connected now */
  peers: number
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
  /** the peer whose model this node adopted when it joined without a checkpoint */
  warmJoin: { from: string; step: number; at: string } | null
  /** differential privacy, present when it is on: the ε spent so far at the manifest's δ (record-level: over all runs) */
  privacy?: PrivacyStatus | RecordPrivacyStatus
  /** how the model is shared (manifest's exchange settings) and how the pushes fare */
  exchange: { mode: string; fanout: number; codec: string; inFlight: number; sendsDropped: number; sendsFailed: number; resyncs: number }
  /** peers this node refuses to connect to (a simulated partition) */
  blockedPeers: number
  /** peers refused for a while because they kept sending updates this node refuses */
  graylistedPeers: number
  /** 'attacker' only in simulations (murmur start --attack) */
  role: 'honest' | 'attacker'
  data: { trainSamples: number; holdoutSamples: number }
  eventLoop: { lagP50Ms: number; lagP99Ms: number }
  uptimeSeconds: number
  /** resident memory of the node's process (main thread, training worker and all) */
  memory: { rssBytes: number; heapUsedBytes: number }
}
