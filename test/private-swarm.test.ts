import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, expect } from 'vitest'
import { createManifest } from '../src/learning/manifest.js'
import { generateSwarmKey, parseSwarmKey } from '../src/p2p/swarm-key.js'
import { NodeProcess } from '../src/swarm/node-process.js'
import { schemaErrors, sleep, temporaryDirectory, waitFor } from './helpers.js'


describe('swarm keys', () => {
  it('are generated in the pnet file format and checked when read', () => {
    const key = generateSwarmKey()
    expect(new TextDecoder().decode(key)).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/)
    expect(Buffer.compare(Buffer.from(parseSwarmKey(key, 'k')), Buffer.from(key))).toBe(0)
    expect(() => parseSwarmKey(new TextEncoder().encode('not a key'), 'bad.key')).toThrow(/bad\.key is not a swarm key/)
  })
})

describe('a private swarm', () => {
  it('lets members connect and an outsider without the key complete no connection', async () => {
    const directory = await temporaryDirectory('private')
    const manifestFile = join(directory, 'manifest.json')
    await writeFile(manifestFile, JSON.stringify(createManifest({ model: 'logistic', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 } })))
    const keyFile = join(directory, 'swarm.key')
    await writeFile(keyFile, generateSwarmKey(), { mode: 0o600 })
    const otherKeyFile = join(directory, 'other.key')
    await writeFile(otherKeyFile, generateSwarmKey(), { mode: 0o600 })
    const start = async (index: number, bootstrap: string[], extraArgs: string[]): Promise<NodeProcess> => NodeProcess.start({
      index, manifestFile, dataSpec: `mnist:${index}/4`, datadir: join(directory, `node-${index}`), listen: '/ip4/127.0.0.1/tcp/0', bootstrap, extraArgs, log: () => {}
    })
    const member = await start(1, [], ['--swarm-key', keyFile])
    const address = member.ready?.multiaddrs.find(a => a.includes('127.0.0.1')) ?? ''
    const nodes = [member]
    try {
      const outsider = await start(2, [address], [])
      nodes.push(outsider)
      const wrongKey = await start(3, [address], ['--swarm-key', otherKeyFile])
      nodes.push(wrongKey)
      const friend = await start(4, [address], ['--swarm-key', keyFile])
      nodes.push(friend)
      await waitFor(friend, status => status.peers === 1 && status.updates.accepted > 0)
      // Both outsiders have had many seconds and several redials by now.
      await sleep(3_000)
      for (const stranger of [outsider, wrongKey]) {
        const status = await stranger.status()
        expect(status?.peers).toBe(0)
        expect(status?.updates.received).toBe(0)
      }
      // The outsider holds no key, so it runs no admission.
      expect((await outsider.status())?.admission).toBeNull()
      const memberStatus = await member.status()
      expect(memberStatus?.peers).toBe(1)
      // Admission runs on every connection of a private swarm, pnet-covered TCP too: /status counts the friend's.
      expect(memberStatus?.admission?.admitted).toBeGreaterThanOrEqual(1)
      expect(schemaErrors('node-status', memberStatus)).toEqual([])
      // /metrics tells the same from the same snapshot, and says nothing of admission where none runs.
      const metrics = async (node: NodeProcess): Promise<string> => await (await fetch(`http://${node.ready?.api ?? ''}/metrics`)).text()
      const admitted = /^murmur_admission_connections_total\{outcome="admitted"\} (\d+)$/m.exec(await metrics(member))
      expect(Number(admitted?.[1])).toBeGreaterThanOrEqual(1)
      expect(await metrics(outsider)).not.toMatch(/^murmur_admission_connections_total\{/m)
    } finally {
      await Promise.all(nodes.map(async node => node.stop()))
    }
  }, 120_000)
})
