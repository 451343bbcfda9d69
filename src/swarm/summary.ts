/**
 * DIR/summary.json of `murmur swarm --out DIR`. The format is fixed in
 * docs/schemas/swarm-summary.schema.json; fields may be added, never renamed or dropped.
 */
import type { ReportedCounters } from '../core/node-state.js'

/**
 * One node's line. Its counters (exchanges, updates received, accepted and rejected by reason, bytes
 * sent and received, restarts, pushes dropped and failed) are the node's own, from its final
 * checkpoint: ReportedCounters in src/core/node-state.ts.
 */
export interface NodeSummary extends ReportedCounters {
  index: number
  peerId: string
  role: 'honest' | 'attacker'
  /** running when the swarm ended (killed or departed nodes are listed but not counted in the accuracy) */
  alive: boolean
  dataSpec: string
  /** device profile (murmur swarm --profiles) and the share of the time it trained */
  profile: string
  maxCpu: number
  /** accuracy of the node's final model on the dataset's test split; null if the node left no model */
  accuracy: number | null
  samplesProcessed: number
  step: number
  /** largest resident memory of the node's process seen while it ran */
  peakRssBytes: number | null
  /** differential privacy: the ε this node had spent when last seen (null when off) */
  privacyEpsilon: number | null
  /** differential privacy: the ε this node spent for its own records at the manifest's δ, from its final checkpoint (else when last seen); null without DP */
  epsilon: number | null
  /** 99th percentile event-loop delay of the thread serving libp2p, when last seen */
  eventLoopLagP99Ms: number | null
  /**
   * peers the node pushed its model to after each round, when last seen: the manifest's fanout,
   * adapted to the skew of the node's labels (src/core/skew-adaptation.ts); null in broadcast mode
   */
  fanout: number | null
}

export interface TimelinePoint {
  /** seconds since the swarm started training */
  t: number
  meanAccuracy: number | null
  minAccuracy: number | null
  consensusDistance: number | null
  liveNodes: number
  /** each answering node's accuracy, by node number */
  nodeAccuracy?: Record<string, number | null>
}

export interface SwarmEvent {
  t: number
  kind: string
  nodes?: number[]
  groups?: number[][]
}

export interface LateJoin {
  node: number
  /** seconds after the start of training */
  joinedAt: number
  /** seconds from the join until the node was within one point of the others' mean accuracy; null if never */
  catchUpSeconds: number | null
}

export interface SwarmSummary {
  swarmId: string
  dataset: string
  partition: string
  model: string
  codec: string
  /** how models were shared: push to `fanout` sampled peers, or broadcast on gossip */
  exchange: { mode: string; fanout: number }
  mergeRule: string
  scenario: string | null
  nodeCount: number
  durationSeconds: number
  wallSeconds: number
  backend: string
  centralized: { accuracy: number; samplesProcessed: number }
  accuracy: { mean: number; min: number; max: number }
  consensusDistance: number
  bytesSentPerNode: number
  /** model payload bytes a node sent per exchange, averaged over all exchanges of the run */
  bytesPerExchange: number
  /** differential privacy settings and the largest ε any node spent (absent when off) */
  privacy?: { level: 'record' | 'node'; clip: number; noiseMultiplier?: number; delta: number; epsilonBudget?: number; epochs?: number; expectedSteps?: number; epsilonSpent: number }
  /** the largest peakRssBytes of any node */
  peakRssBytesPerNode: number
  nodes: NodeSummary[]
  timeline: TimelinePoint[]
  events: SwarmEvent[]
  lateJoins: LateJoin[]
}
