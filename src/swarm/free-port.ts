import { createServer } from 'node:net'
import { MurmurError } from '../errors.js'

/** Ports tried before giving up: the range holds 12,000, so failing this often means something is wrong. */
const ATTEMPTS = 200

/**
 * A free TCP port on 127.0.0.1 that is not in `taken` (and is added to it), below the system's
 * ephemeral range (32768 and up on Linux): the nodes' own outgoing connections take ephemeral ports,
 * and would otherwise grab a port reserved for a node not yet listening.
 */
export async function freePort (taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (taken.has(port)) continue
    const server = createServer()
    const free = await new Promise<boolean>(resolve => {
      server.once('error', () => { resolve(false) })
      server.listen(port, '127.0.0.1', () => { resolve(true) })
    })
    if (free) await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    if (free) {
      taken.add(port)
      return port
    }
  }
  throw new MurmurError('ERR_SWARM', 'could not find a free port on 127.0.0.1 between 20000 and 32000')
}
