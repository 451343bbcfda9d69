import { isPrivate } from '@libp2p/utils/multiaddr/is-private'
import type { AddressManager } from '@libp2p/interface-internal'

/** Whether peers can dial this node directly. */
export type Reachability = 'public' | 'private' | 'unknown'

export interface ReachabilityService {
  reachability: () => Reachability
}

interface ReachabilityComponents {
  addressManager: AddressManager
}

/**
 * Reads what the node knows about its own addresses:
 * - public: an address peers can dial, either announced by the operator or confirmed by AutoNAT
 *   (peers dialled it back);
 * - private: no such address, and the node listens through a relay reservation instead;
 * - unknown: neither yet (early after start, or no relay to reserve on).
 */
export function reachabilityService (): (components: ReachabilityComponents) => ReachabilityService {
  return components => ({
    reachability () {
      const addresses = components.addressManager.getAddressesWithMetadata()
      const relayed = (text: string): boolean => text.includes('/p2p-circuit')
      const dialable = addresses.some(address => !relayed(address.multiaddr.toString()) && address.verified &&
        (address.type === 'announce' || !isPrivate(address.multiaddr)))
      if (dialable) return 'public'
      return addresses.some(address => relayed(address.multiaddr.toString())) ? 'private' : 'unknown'
    }
  })
}
