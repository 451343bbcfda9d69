import { networkInterfaces } from 'node:os'
import { isPrivate } from '@libp2p/utils/multiaddr/is-private'
import { multiaddr } from '@multiformats/multiaddr'

function isPublicIp (ip: string): boolean {
  const family = ip.includes(':') ? 'ip6' : 'ip4'
  return !isPrivate(multiaddr(`/${family}/${ip}`))
}

/**
 * Whether a node should expect to be dialable from the internet when it starts: the operator
 * announced an address (--announce), or it listens on a public IP address (given explicitly, or on
 * the wildcard address of a host with a public interface address). Only a start-up guess, used to
 * choose roles (relay service, DHT server); AutoNAT checks it at run time (see reachability.ts).
 */
export function expectsPublicAddress (listen: readonly string[], announce: readonly string[]): boolean {
  if (announce.length > 0) return true
  for (const address of listen) {
    const parts = multiaddr(address).toOptions()
    if (parts.host === '0.0.0.0' || parts.host === '::') {
      const wanted = parts.host === '::' ? 'IPv6' : 'IPv4'
      for (const entries of Object.values(networkInterfaces())) {
        for (const entry of entries ?? []) {
          if (!entry.internal && entry.family === wanted && isPublicIp(entry.address)) return true
        }
      }
    } else if (isPublicIp(parts.host)) {
      return true
    }
  }
  return false
}
