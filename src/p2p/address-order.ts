import type { Address } from '@libp2p/interface'
import { isLoopback } from '@libp2p/utils/multiaddr/is-loopback'
import { isPrivate } from '@libp2p/utils/multiaddr/is-private'

/**
 * The order a dial tries a peer's addresses in. libp2p tries them one after another within one
 * deadline, so an address that is slow to fail starves the ones after it. A TCP dial to a private
 * address of another network fails at once (no route) or succeeds (same LAN or host); a WebSockets
 * dial there can take seconds to fail. So: TCP first (loopback after the others), then relay
 * (circuit) addresses, which reach a node behind NAT, then WebSockets and the rest. Within a rank,
 * public before private.
 */
function rank (address: Address): number {
  const text = address.multiaddr.toString()
  if (text.includes('/p2p-circuit')) return 2
  const parts = text.split('/')
  const loopback = isLoopback(address.multiaddr) ? 1 : 0
  if (parts.includes('tcp') && !parts.includes('ws') && !parts.includes('wss') && !parts.includes('tls')) return loopback
  return 3 + loopback
}

export function dialOrder (a: Address, b: Address): -1 | 0 | 1 {
  const byRank = rank(a) - rank(b)
  if (byRank !== 0) return byRank < 0 ? -1 : 1
  const privateA = isPrivate(a.multiaddr)
  const privateB = isPrivate(b.multiaddr)
  if (privateA === privateB) return 0
  return privateA ? 1 : -1
}
