import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, it, expect } from 'vitest'
import { createManifest } from '../src/learning/manifest.js'
import { NodeProcess } from '../src/swarm/node-process.js'
import { schemaErrors, temporaryDirectory, waitFor } from './helpers.js'

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  const { port } = server.address() as { port: number }
  await new Promise(resolve => { server.close(resolve) })
  return port
}

describe('peer discovery through the swarm\'s DHT', () => {
  it('nodes that know only the bootstrap find each other with mDNS off, and stay connected when it dies', async () => {
    const directory = await temporaryDirectory('dht')
    const manifestFile = join(directory, 'manifest.json')
    await writeFile(manifestFile, JSON.stringify(createManifest({ model: 'logistic', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }, training: { localSteps: 5 } })))
    const start = async (index: number, bootstrap: string[], listen = '/ip4/127.0.0.1/tcp/0', extraArgs: string[] = []): Promise<NodeProcess> => NodeProcess.start({
      index, manifestFile, dataSpec: `mnist:${index}/4`, datadir: join(directory, `node-${index}`), listen, bootstrap, extraArgs, log: () => {}
    })
    // The bootstrap announces its address: it expects to be reachable, so it serves the DHT and relays (the others are clients).
    const listen = `/ip4/127.0.0.1/tcp/${await freePort()}`
    const bootstrap = await start(1, [], listen, ['--announce', listen])
    const address = `${listen}/p2p/${bootstrap.ready?.peerId ?? ''}`
    const others = await Promise.all([2, 3, 4].map(async index => start(index, [address])))
    const nodes = [bootstrap, ...others]
    try {
      const ids = others.map(node => node.ready?.peerId ?? '')
      // Each knows one address, the bootstrap's: the other two can only have come from the DHT.
      for (const [i, node] of others.entries()) {
        const status = await waitFor(node, s => ids.filter(id => id !== ids[i]).every(id => s.connections.some(c => c.peerId === id)), 60_000)
        expect(schemaErrors('node-status', status)).toEqual([])
        const direct = status.connections.find(c => c.peerId !== bootstrap.ready?.peerId)
        expect(direct).toMatchObject({ transport: 'tcp', relayed: false })
        // Not announced and nothing confirmed: it reserved a relay slot on the bootstrap instead.
        expect(status.reachability).not.toBe('public')
      }
      expect((await bootstrap.status())?.reachability).toBe('public')

      await bootstrap.kill()
      const accepted = await Promise.all(others.map(async node => (await node.status())?.updates.accepted ?? 0))
      for (const [i, node] of others.entries()) {
        const status = await waitFor(node, s => s.updates.accepted > (accepted[i] ?? 0) + 2 && s.connections.filter(c => ids.includes(c.peerId)).length >= 2, 30_000)
        expect(status.connections.some(c => c.peerId === bootstrap.ready?.peerId)).toBe(false)
      }
    } finally {
      await Promise.all(nodes.map(async node => node.stop()))
    }
  }, 180_000)
})
