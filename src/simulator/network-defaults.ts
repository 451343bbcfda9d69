import type { SimulatedNetworkSettings } from './simulation.js'

/**
 * `murmur simulate`'s network when no flag says otherwise (docs/simulations.md section 7): 1 ms
 * links of 1 Gbit/s, each node keeping 32 connections, no push lost.
 */
export const DEFAULT_SIMULATED_NETWORK: SimulatedNetworkSettings = {
  latency: { kind: 'fixed', value: 1 },
  bandwidth: { kind: 'fixed', value: 1e9 },
  targetPeers: 32
}
