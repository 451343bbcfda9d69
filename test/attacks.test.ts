import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { describe, it, expect, beforeAll } from 'vitest'
import { createManifest, type Manifest } from '../src/learning/manifest.js'
import { initialWeights } from '../src/learning/initial-weights.js'
import type { Attack } from '../src/attacks/attack.js'
import { DEFAULT_INTAKE_LIMITS } from '../src/core/intake-guard.js'
import { MurmurNode } from '../src/node/murmur-node.js'
import { encodeUpdate } from '../src/core/update-codec.js'
import { createHost, type Host } from '../src/p2p/host.js'
import { createIdentity } from '../src/p2p/identity.js'
import { pushModel } from '../src/p2p/model-push.js'
import { requestModel } from '../src/p2p/model-request.js'
import { sleep, temporaryDirectory } from './helpers.js'

/**
 * Attacks against process nodes with the default manifest, every node in this process (real hosts,
 * real training workers, loopback only): what only libp2p shows — forged gossip authors, floods of
 * streams, the connection gater. Every attack against the node's protocol (takeover, backdoor,
 * ratchet, liar, sign-flip, noise, sybil) and a diverging node are tested on node cores in-process
 * (test/core-attacks.test.ts, test/core-intake.test.ts).
 */

const STEPS = 400

function manifestWith (options: { codec?: string, exchange?: 'push' | 'broadcast' } = {}): Manifest {
  return createManifest({
    model: 'logistic',
    dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 },
    ...(options.codec === undefined ? {} : { codec: options.codec }),
    ...(options.exchange === undefined ? {} : { exchange: { mode: options.exchange } })
  })
}

let directory = ''
let counter = 0

async function startNode (manifest: Manifest, shard: number, options: { bootstrap?: string[], attack?: Attack, warmJoin?: boolean, allowPeers?: string[] } = {}): Promise<MurmurNode> {
  counter++
  return MurmurNode.start({
    manifest,
    dataSpec: `mnist:${shard}/8`,
    datadir: join(directory, `node-${counter}`),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: options.bootstrap ?? [],
    mdns: false,
    maxCpu: 0.5,
    evaluationIntervalMs: 500,
    checkpointIntervalMs: 600_000,
    warmJoin: options.warmJoin ?? false,
    ...(options.attack === undefined ? {} : { attack: options.attack }),
    ...(options.allowPeers === undefined ? {} : { allowPeers: options.allowPeers })
  })
}

async function until (condition: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

function address (node: MurmurNode): string {
  return node.multiaddrs().find(a => a.includes('127.0.0.1')) ?? ''
}

beforeAll(async () => {
  directory = await temporaryDirectory('attacks')
})

describe('forged authors against process nodes with the default manifest', () => {
  it('sybil (broadcast mode): models signed by 16 fresh authors per round arrive, and none is merged', async () => {
    const manifest = manifestWith({ exchange: 'broadcast' })
    const first = await startNode(manifest, 1)
    const nodes = [first]
    try {
      nodes.push(await startNode(manifest, 2, { bootstrap: [address(first)] }))
      nodes.push(await startNode(manifest, 3, { bootstrap: [address(first)] }))
      const attacker = await startNode(manifest, 4, { bootstrap: nodes.map(address), attack: 'sybil' })
      const honest = [...nodes]
      nodes.push(attacker)
      const ids = new Set(nodes.map(node => node.peerId))
      const sybils = new Set<string>()
      let merged = 0
      for (const node of honest) {
        node.addEventListener('rejected', event => { if (!ids.has(event.detail.from) && event.detail.reason === 'not-a-neighbour') sybils.add(event.detail.from) })
        node.addEventListener('accepted', event => { if (!ids.has(event.detail.from)) merged++ })
      }
      await until(() => honest.every(node => node.status().step >= STEPS) && sybils.size >= 8, 'sybil authors to arrive')
      // Control: models signed by many fresh authors reached the honest nodes; none was taken in.
      expect(sybils.size).toBeGreaterThanOrEqual(8)
      expect(merged).toBe(0)
      // The honest nodes' accuracy is not asserted here: in this 4-node broadcast swarm it varies
      // (0.47–0.72 against 0.8 alone) although nothing of the sybils is merged; docs/security.md §8.
    } finally {
      await Promise.all(nodes.map(async node => node.stop()))
    }
  }, 240_000)
})

describe('hostile load', () => {
  it('32 connections pushing and requesting as fast as allowed: honest updates still accepted, state and memory bounded', async () => {
    const manifest = manifestWith()
    const target = await startNode(manifest, 1)
    const honestPeer = await startNode(manifest, 2, { bootstrap: [address(target)] })
    const hosts: Host[] = []
    const controller = new AbortController()
    try {
      const swarmId = target.swarmId
      const model = encodeUpdate({ swarmId, step: 1, samples: 1_000, weights: initialWeights(manifest.model, manifest.dataset.inputShape, manifest.seed), createdAt: Date.now() })
      let honestAccepted = 0
      let hostileAccepted = 0
      target.addEventListener('accepted', event => { if (event.detail.from === honestPeer.peerId) honestAccepted++; else hostileAccepted++ })
      await until(() => honestAccepted > 0, 'the honest peer\'s first update')
      const before = process.memoryUsage().rss
      for (let i = 0; i < 32; i++) {
        const host = await createHost({ identity: await createIdentity(), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false, maxMessageBytes: 1 << 20 })
        hosts.push(host)
        await host.dial(multiaddr(address(target)))
      }
      const peer = peerIdFromString(target.peerId)
      let pushes = 0
      let requests = 0
      const flood = async (host: Host, kind: 'push' | 'request'): Promise<void> => {
        while (!controller.signal.aborted) {
          try {
            if (kind === 'push') await pushModel(host, peer, model, AbortSignal.any([controller.signal, AbortSignal.timeout(5_000)]))
            else await requestModel(host, peer, { swarmId, maxBytes: 1 << 20, signal: AbortSignal.any([controller.signal, AbortSignal.timeout(5_000)]) })
          } catch {
            // refused streams are what this test expects most of the time; go on at once
            await sleep(1)
          }
          if (kind === 'push') pushes++
          else requests++
        }
      }
      const floods = hosts.flatMap(host => [flood(host, 'push'), flood(host, 'push'), flood(host, 'request')])
      await sleep(3_000)
      const honestBefore = honestAccepted
      await sleep(12_000)
      const honestDuring = honestAccepted - honestBefore
      const hostileDuring = hostileAccepted
      controller.abort()
      await Promise.all(floods)
      const status = target.status()
      // Control: the load arrived, and most of it was refused unread or over the rate.
      expect(pushes).toBeGreaterThan(1_000)
      expect(requests).toBeGreaterThan(100)
      expect((status.updates.rejectedByReason['rate-limited'] ?? 0) + (status.intake?.pushesBusy ?? 0)).toBeGreaterThan(pushes / 2)
      expect(status.intake?.modelRequestsRefused).toBeGreaterThan(requests / 2)
      // The node as a whole took at most its budget (per second, plus a burst) from everyone.
      expect(hostileDuring).toBeLessThanOrEqual(DEFAULT_INTAKE_LIMITS.nodePerSecond * 16 + DEFAULT_INTAKE_LIMITS.nodeBurst + 33)
      // The honest peer's updates kept being accepted during the flood.
      expect(honestDuring).toBeGreaterThan(0)
      expect(status.intake?.trackedPeers).toBeLessThanOrEqual(4096)
      // A loose bound only: this process also holds the 32 flooding hosts and their buffers. The
      // node's own growth is measured by scripts/hostile-load.mjs (a plateau, docs/security.md §8).
      expect(process.memoryUsage().rss - before).toBeLessThan(1024 * 2 ** 20)
    } finally {
      controller.abort()
      await Promise.all(hosts.map(async host => host.stop()))
      await honestPeer.stop()
      await target.stop()
    }
  }, 240_000)
})

describe('membership', () => {
  it('--allow-peers: a node connects only to the listed peers', async () => {
    const manifest = manifestWith()
    const member = await startNode(manifest, 1)
    const nodes = [member]
    try {
      const friend = await startNode(manifest, 2, { bootstrap: [address(member)] })
      nodes.push(friend)
      const gated = await startNode(manifest, 3, { bootstrap: [address(member), address(friend)], allowPeers: [friend.peerId] })
      nodes.push(gated)
      await until(() => gated.status().updates.accepted > 0 && friend.status().peers === 2, 'the gated node to hear its friend')
      // Control: the member is reachable (the friend is connected to it) and was dialled by bootstrap.
      expect(friend.status().peers).toBe(2)
      await sleep(2_000)
      expect(gated.status().peers).toBe(1)
      expect(member.status().peers).toBe(1)
    } finally {
      await Promise.all(nodes.map(async node => node.stop()))
    }
  }, 120_000)
})
