/**
 * What a node keeps across restarts, and the store port the core saves it through. A process node
 * stores it in LevelDB (src/node/store.ts), a browser node in IndexedDB, tests and simulations in
 * memory (memory-store.ts). The store only keeps what it is given; the core decides when to write
 * (checkpoint policy) and what a checkpoint read at start-up is worth.
 */

/**
 * The counters of a node that a run's summary reports for each node (NodeSummary, src/swarm/summary.ts,
 * takes its fields from here), in the order the summary lists them.
 */
export const REPORTED_COUNTERS = ['exchanges', 'updatesReceived', 'updatesAccepted', 'updatesRejected', 'rejectedByReason', 'bytesSent', 'bytesReceived', 'restarts', 'sendsDropped', 'sendsFailed'] as const

/** Counters a node keeps across restarts. */
export interface NodeCounters {
  /** times the node shared its model */
  exchanges: number
  /** models received from peers, whatever the verdict */
  updatesReceived: number
  updatesAccepted: number
  updatesRejected: number
  /** refused models by reason (only reasons seen) */
  rejectedByReason: Record<string, number>
  /** model payload bytes sent and received (docs/protocol.md, sections 6 and 10.2) */
  bytesSent: number
  bytesReceived: number
  /** starts of the node before the current one */
  restarts: number
  /** pushes skipped because the previous one to that peer was still in flight */
  sendsDropped: number
  /** pushes that failed or timed out */
  sendsFailed: number
  /** pushes answered 'resync', or answered so, because sender and receiver did not share a reference */
  resyncs: number
  /** peers graylisted for sending too many refused updates */
  peersGraylisted: number
}

/** The counters a run's summary reports for each node. */
export type ReportedCounters = Pick<NodeCounters, typeof REPORTED_COUNTERS[number]>

export function emptyCounters (): NodeCounters {
  return { exchanges: 0, updatesReceived: 0, updatesAccepted: 0, updatesRejected: 0, rejectedByReason: {}, bytesSent: 0, bytesReceived: 0, restarts: 0, sendsDropped: 0, sendsFailed: 0, resyncs: 0, peersGraylisted: 0 }
}

/**
 * The reported counters of a node, in the summary's order; a counter the checkpoint lacks (one written
 * before the counter existed) reads 0. A copy: the node's own go on counting.
 */
export function reportedCounters (counters: Partial<NodeCounters> = {}): ReportedCounters {
  const empty = emptyCounters()
  const reported: Partial<Record<keyof ReportedCounters, unknown>> = {}
  for (const name of REPORTED_COUNTERS) reported[name] = name === 'rejectedByReason' ? { ...counters.rejectedByReason } : counters[name] ?? empty[name]
  return reported as ReportedCounters
}

/** A node's saved progress; the model is kept in the same encoding it travels in. */
export interface Checkpoint {
  readonly swarmId: string
  readonly step: number
  readonly samplesProcessed: number
  readonly savedAt: string
  readonly counters: NodeCounters
  /** the model the node serves (its average over recent rounds, model-average.ts), as an encoded update (see docs/protocol.md) */
  readonly model: Uint8Array
  /**
   * the model the node trains on (its latest merged model), encoded the same way: what a restart
   * resumes training from. Absent in checkpoints written before it was kept (store format 1) and
   * before the node's first round; a restart then resumes `model`.
   */
  readonly training?: Uint8Array
  /**
   * record-level differential privacy: the RDP accountant's state, the budget this node's records
   * have spent over all its runs (plus a reserve; see record-privacy.ts); absent without it
   */
  readonly privacy?: { readonly orders: readonly number[]; readonly rdp: readonly number[]; readonly releases: number }
}

/** What reading the checkpoints found: the newest good one, and what was wrong with any other. */
export interface CheckpointReading {
  readonly checkpoint: Checkpoint | null
  /** damaged or unreadable checkpoints that were skipped, described for the operator */
  readonly problems: string[]
}

/** The store port: where the core keeps its checkpoints. The caller opens and closes it. */
export interface NodeStatePort {
  /** Counts this start and returns how many starts there were before it (restarts). */
  recordStart: () => Promise<number>
  /** Records the manifest the node runs, so that its state can be read without it later. */
  saveManifest: (manifest: unknown) => Promise<void>
  /** The newest checkpoint that is intact, and what was wrong with any other. */
  readCheckpoint: () => Promise<CheckpointReading>
  /** Saves a checkpoint atomically (all of it or none); rejects when it could not (a full disk). */
  writeCheckpoint: (checkpoint: Checkpoint) => Promise<void>
}
