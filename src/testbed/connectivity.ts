import type { NodeStatus } from '../node/status.js'

/** How the live nodes of a testbed are connected at one moment, from their /status. */
export interface Connectivity {
  /** seconds since training started */
  t: number
  /** pairs of live nodes with a direct connection (either side's view) */
  directPairs: number
  /** pairs connected only through a relay */
  relayedPairs: number
  /** pairs with no connection */
  unconnectedPairs: number
  /**
   * whether every live node is connected (directly or through a relay) to at least one live node in
   * each home other than its own: the swarm does not depend on any one node to cross NATs
   */
  everyNodeReachesOtherHomes: boolean
}

export interface PlacedStatus {
  readonly index: number
  /** home number, null for a public node */
  readonly home: number | null
  readonly status: NodeStatus
}

export function connectivityOf (nodes: readonly PlacedStatus[], t: number): Connectivity {
  const byPeer = new Map(nodes.map(node => [node.status.peerId, node]))
  const links = new Map<string, 'direct' | 'relayed'>()
  const key = (a: number, b: number): string => a < b ? `${a}-${b}` : `${b}-${a}`
  for (const node of nodes) {
    for (const connection of node.status.connections) {
      const other = byPeer.get(connection.peerId)
      if (other === undefined || other === node) continue
      const pair = key(node.index, other.index)
      if (!connection.relayed) links.set(pair, 'direct')
      else if (!links.has(pair)) links.set(pair, 'relayed')
    }
  }
  const pairs = nodes.length * (nodes.length - 1) / 2
  const directPairs = [...links.values()].filter(kind => kind === 'direct').length
  const relayedPairs = links.size - directPairs
  const homes = new Set(nodes.map(node => node.home).filter((home): home is number => home !== null))
  const everyNodeReachesOtherHomes = nodes.every(node => [...homes].filter(home => home !== node.home).every(home =>
    nodes.some(other => other.home === home && links.has(key(node.index, other.index)))))
  return { t, directPairs, relayedPairs, unconnectedPairs: pairs - links.size, everyNodeReachesOtherHomes }
}
