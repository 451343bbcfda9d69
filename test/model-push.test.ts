import { describe, it, expect } from 'vitest'
import type { Connection, NewStreamOptions } from '@libp2p/interface'
import type { Host } from '../src/p2p/host.js'
import { handlePushes, pushModelOver } from '../src/p2p/model-push.js'
import { startLoopbackHost } from './host-helpers.js'

async function connect (from: Host, to: Host): Promise<Connection> {
  const address = to.getMultiaddrs()[0]
  if (address === undefined) throw new Error('no address')
  return from.dial(address)
}

/** The push protocol between two real libp2p hosts (src/p2p/model-push.ts). */
describe('model pushes', () => {
  it('send the protocol name with the model (no round trip first), get the receiver\'s reply, and fail fast on a peer without the protocol', async () => {
    const sender = await startLoopbackHost()
    const receiver = await startLoopbackHost()
    const stranger = await startLoopbackHost()
    const hosts = [sender, receiver, stranger]
    try {
      const received: Uint8Array[] = []
      await handlePushes(receiver, { maxBytes: 1 << 20, maxInboundStreams: 8, timeoutMs: 10_000, onPush: (_from, bytes) => { received.push(bytes); return 'accepted' } })
      const model = Uint8Array.from({ length: 100_000 }, (_, index) => index % 251)

      const connection = await connect(sender, receiver)
      const options: Array<NewStreamOptions | undefined> = []
      const newStream = connection.newStream.bind(connection)
      connection.newStream = async (protocols, streamOptions) => {
        options.push(streamOptions)
        return newStream(protocols, streamOptions)
      }
      expect(await pushModelOver(connection, model, AbortSignal.timeout(10_000))).toBe('accepted')
      expect(received).toHaveLength(1)
      expect(received[0]).toEqual(model)
      // Optimistic select: the stream is not negotiated ahead of the model.
      expect(options[0]?.negotiateFully).toBe(false)

      // A peer that does not serve pushes: the reply never comes, and the push fails at once, long
      // before its timeout.
      const started = Date.now()
      await expect(pushModelOver(await connect(sender, stranger), model, AbortSignal.timeout(30_000))).rejects.toThrow()
      expect(Date.now() - started).toBeLessThan(20_000)
    } finally {
      await Promise.all(hosts.map(async host => host.stop()))
    }
  })
})
