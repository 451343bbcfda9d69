import type { Connection } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, it, expect } from 'vitest'
import { dialOrder } from '../src/p2p/address-order.js'
import { isRelayed, transportOf } from '../src/p2p/connection-list.js'
import { RELAY_DATA_SHARE, RelayAllowance } from '../src/p2p/relay-allowance.js'
import { connectivityOf } from '../src/testbed/connectivity.js'
import type { NodeStatus } from '../src/node/status.js'

const PEER = '12D3KooWSVR7Ca3kYg2DrFuXP5NRpuhqPjAe3QpKXfrzpK2QNP3q'
const RELAY = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp'

/** The parts of a libp2p connection that decide its path (the rest is never read). */
function connection (id: string, address: string, limits?: { bytes?: bigint; seconds?: number }): Connection {
  return { id, status: 'open', remoteAddr: multiaddr(address), remotePeer: peerIdFromString(PEER), direction: 'outbound', ...(limits === undefined ? {} : { limits }) } as unknown as Connection
}

describe('the path a push takes', () => {
  const direct = connection('a', `/ip4/10.77.0.10/tcp/4001/p2p/${PEER}`)
  const relayed = connection('b', `/ip4/10.77.0.10/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`, { bytes: 131_072n, seconds: 120 })

  it('takes a direct connection whenever there is one, whatever the size', () => {
    expect(new RelayAllowance().choose([relayed, direct], 10_000_000)).toEqual({ kind: 'direct', connection: direct })
  })

  it('sends over a relay only what fits in its share of the data limit, counting what it sent', () => {
    const allowance = new RelayAllowance()
    const budget = 131_072 * RELAY_DATA_SHARE
    const first = allowance.choose([relayed], 40_000)
    expect(first.kind).toBe('relayed')
    allowance.spend(relayed, 40_000)
    // 40 kB already sent: another 40 kB would pass the budget; 20 kB still fits.
    expect(allowance.choose([relayed], 40_000)).toEqual({ kind: 'none', reason: 'too-large-for-relay' })
    expect(allowance.choose([relayed], budget - 40_000).kind).toBe('relayed')
    expect(new RelayAllowance().choose([relayed], 400_000)).toEqual({ kind: 'none', reason: 'too-large-for-relay' })
    // A closed connection's count is forgotten: a new relayed connection starts with a full allowance.
    allowance.forget('b')
    expect(allowance.choose([relayed], 40_000).kind).toBe('relayed')
    expect(allowance.choose([], 1)).toEqual({ kind: 'none', reason: 'not-connected' })
  })

  it('names the transport under a relay', () => {
    expect(transportOf(direct)).toBe('tcp')
    expect(transportOf(connection('c', `/ip4/1.2.3.4/tcp/4002/ws/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`))).toBe('websockets')
    expect(isRelayed(relayed)).toBe(true)
    expect(isRelayed(direct)).toBe(false)
  })
})

describe('the order a dial tries addresses in', () => {
  it('puts TCP first (loopback after the others), relays before WebSockets (slow to fail when unreachable)', () => {
    const addresses = [
      `/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`,
      `/ip4/192.168.2.10/tcp/4002/ws/p2p/${PEER}`,
      `/ip4/10.77.0.10/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`,
      `/ip4/192.168.2.10/tcp/4001/p2p/${PEER}`,
      `/ip4/8.8.4.4/tcp/4001/p2p/${PEER}`
    ].map(text => ({ multiaddr: multiaddr(text), isCertified: false }))
    expect(addresses.sort(dialOrder).map(address => address.multiaddr.toString().split('/p2p/')[0])).toEqual([
      '/ip4/8.8.4.4/tcp/4001', '/ip4/192.168.2.10/tcp/4001', '/ip4/127.0.0.1/tcp/4001', '/ip4/10.77.0.10/tcp/4001', '/ip4/192.168.2.10/tcp/4002/ws'
    ])
  })
})

describe('testbed connectivity', () => {
  const status = (peerId: string, connections: Array<{ peerId: string; relayed: boolean }>): NodeStatus =>
    ({ peerId, connections: connections.map(c => ({ ...c, direction: 'outbound', transport: 'tcp', agent: null })) }) as unknown as NodeStatus
  it('counts a pair as direct if either side has a direct connection, and checks every node reaches the other homes', () => {
    const nodes = [
      { index: 1, home: null, status: status('p', [{ peerId: 'a', relayed: false }, { peerId: 'b', relayed: false }]) },
      { index: 2, home: 1, status: status('a', [{ peerId: 'b', relayed: true }]) },
      { index: 3, home: 2, status: status('b', [{ peerId: 'a', relayed: false }]) }
    ]
    expect(connectivityOf(nodes, 5)).toEqual({ t: 5, directPairs: 3, relayedPairs: 0, unconnectedPairs: 0, everyNodeReachesOtherHomes: true })
    const cut = [nodes[0], { index: 2, home: 1, status: status('a', []) }, { index: 3, home: 2, status: status('b', []) }] as typeof nodes
    expect(connectivityOf(cut, 5)).toMatchObject({ directPairs: 2, unconnectedPairs: 1, everyNodeReachesOtherHomes: false })
  })
})
