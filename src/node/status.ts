import type { CoreStatus } from '../core/core-status.js'
import type { AdmissionCounts } from '../p2p/admission.js'
import type { ConnectionInfo } from '../p2p/connection-list.js'
import type { Reachability } from '../p2p/reachability.js'
import type { ProcessStatus } from './process-monitor.js'
import type { NodeWarning } from './warning-log.js'

/**
 * Body of GET /status: the protocol's state from the node's core (CoreStatus, src/core/core-status.ts)
 * and what the process node adds. The format is fixed in docs/schemas/node-status.schema.json;
 * fields may be added, never renamed or dropped.
 */
export interface NodeStatus extends CoreStatus, ProcessStatus {
  peerId: string
  backend: string
  /** share of the time the node may train (--max-cpu) */
  maxCpu: number
  multiaddrs: string[]
  /** peers connected now */
  peers: number
  /** open connections: what each peer is reached through (direct or relayed) */
  connections: ConnectionInfo[]
  /** whether peers can dial this node directly (announced, or confirmed by AutoNAT), see reachability.ts */
  reachability: Reachability
  /**
   * a private swarm's admission (src/p2p/admission.ts): connections whose peer proved it holds the swarm
   * key, proved wrongly, or proved nothing in time; null without a swarm key
   */
  admission: AdmissionCounts | null
  /** 'attacker' only in simulations (murmur start --attack) */
  role: 'honest' | 'attacker'
  /** what the operator should know that did not stop the node: all start-up warnings, then the latest ones */
  warnings?: NodeWarning[]
}
