import { createHost, type Host, type HostOptions } from '../src/p2p/host.js'
import { createIdentity } from '../src/p2p/identity.js'

/** A real libp2p host on loopback with a fresh identity: no bootstrap, no mDNS, no relay. */
export async function startLoopbackHost (options: Partial<HostOptions> = {}): Promise<Host> {
  return createHost({
    identity: await createIdentity(),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [],
    mdns: false,
    maxMessageBytes: 1 << 20,
    relayService: false,
    relayReservations: 0,
    ...options
  })
}
