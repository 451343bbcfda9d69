import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { describe, it, expect, beforeAll } from 'vitest'
import { isMurmurError } from '../src/errors.js'
import { createManifest, type Manifest } from '../src/learning/manifest.js'
import { initialWeights } from '../src/learning/initial-weights.js'
import type { Attack } from '../src/node/attack.js'
import { DEFAULT_INTAKE_LIMITS } from '../src/node/intake-guard.js'
import { MurmurNode } from '../src/node/murmur-node.js'
import { encodeUpdate } from '../src/node/update-codec.js'
import { createHost, type Host } from '../src/p2p/host.js'
import { createIdentity } from '../src/p2p/identity.js'
import { pushModel } from '../src/p2p/model-push.js'
import { requestModel } from '../src/p2p/model-request.js'
import { sleep, temporaryDirectory } from './helpers.js'

/**
 * Attacks against nodes with the default manifest, every node in this process (real hosts, real
 * training workers, loopback only). Each test has a control that shows the attack arrived, and
 * compares the honest nodes' accuracy with a node that trained alone on the same shard for as many
 * steps: a successful attack takes them far below it.
 */

const STEPS = 400
/** an attack that got through takes honest nodes far below this (a negated model scores near 0.1) */
const MARGIN = 0.1

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

/** What a node reaches when it trains alone on a shard for STEPS steps: what attacked nodes are held to. */
const baseline = new Map<number, { accuracy: number, normBound: number }>()

async function solo (shard: number): Promise<{ accuracy: number, normBound: number }> {
  const known = baseline.get(shard)
  if (known !== undefined) return known
  const node = await startNode(manifestWith(), shard)
  try {
    await until(() => node.status().step >= STEPS, 'the solo node')
    const accuracy = await nextEvaluation(node)
    const result = { accuracy, normBound: node.status().intake?.normBound ?? Infinity }
    baseline.set(shard, result)
    return result
  } finally {
    await node.stop()
  }
}

async function soloAccuracy (shard: number): Promise<number> {
  return (await solo(shard)).accuracy
}

function nextEvaluation (node: MurmurNode): Promise<number> {
  return new Promise(resolve => {
    node.addEventListener('evaluation', event => { resolve(event.detail.accuracy ?? 0) }, { once: true })
  })
}

function address (node: MurmurNode): string {
  return node.multiaddrs().find(a => a.includes('127.0.0.1')) ?? ''
}

/** Counts the updates each node accepted from the given peers (or from anyone not in `others`). */
function acceptedFrom (nodes: readonly MurmurNode[], isAttacker: (from: string) => boolean): { count: number } {
  const tally = { count: 0 }
  for (const node of nodes) node.addEventListener('accepted', event => { if (isAttacker(event.detail.from)) tally.count++ })
  return tally
}

/**
 * Three honest nodes (shards 1–3) and one attacker (shard 4) with the default manifest; resolves once
 * the honest nodes trained STEPS steps and the attacker's updates were accepted `arrivals` times.
 */
async function attackedSwarm (attack: Attack, manifest: Manifest, arrivals = 20): Promise<{ honest: number[], accepted: number, nodes: MurmurNode[] }> {
  const first = await startNode(manifest, 1)
  const nodes = [first]
  try {
    nodes.push(await startNode(manifest, 2, { bootstrap: [address(first)] }))
    nodes.push(await startNode(manifest, 3, { bootstrap: [address(first)] }))
    const attacker = await startNode(manifest, 4, { bootstrap: [address(first)], attack })
    nodes.push(attacker)
    const honest = nodes.slice(0, 3)
    const tally = acceptedFrom(honest, from => from === attacker.peerId || !nodes.some(node => node.peerId === from))
    await until(() => honest.every(node => node.status().step >= STEPS) && tally.count >= arrivals, `${attack}: training and the attacker's updates`)
    const accuracies = await Promise.all(honest.map(nextEvaluation))
    return { honest: accuracies, accepted: tally.count, nodes }
  } finally {
    await Promise.all(nodes.map(async node => node.stop()))
  }
}

beforeAll(async () => {
  directory = await temporaryDirectory('attacks')
})

describe('attacks against nodes with the default manifest', () => {
  it('takeover (fp16 pushes): the maximal claims are accepted as updates, yet buy no weight', async () => {
    const solo = await soloAccuracy(1)
    const { honest, accepted } = await attackedSwarm('takeover', manifestWith({ codec: 'fp16' }))
    expect(accepted).toBeGreaterThanOrEqual(20)
    for (const accuracy of honest) expect(accuracy).toBeGreaterThan(solo - MARGIN)
  }, 240_000)

  it('backdoor (int8 pushes): the boosted class passes every check, and is clipped', async () => {
    const solo = await soloAccuracy(1)
    const { honest, accepted } = await attackedSwarm('backdoor', manifestWith({ codec: 'int8' }))
    expect(accepted).toBeGreaterThanOrEqual(20)
    for (const accuracy of honest) expect(accuracy).toBeGreaterThan(solo - MARGIN)
  }, 240_000)

  it('ratchet: pushes at the edge of the limit are accepted, and the limit stays anchored', async () => {
    const manifest = manifestWith()
    const alone = await solo(1)
    const first = await startNode(manifest, 1)
    const nodes = [first]
    try {
      nodes.push(await startNode(manifest, 2, { bootstrap: [address(first)] }))
      nodes.push(await startNode(manifest, 3, { bootstrap: [address(first)] }))
      const attacker = await startNode(manifest, 4, { bootstrap: [address(first)], attack: 'ratchet' })
      const honest = [...nodes]
      nodes.push(attacker)
      const tally = acceptedFrom(honest, from => from === attacker.peerId)
      await until(() => honest.every(node => node.status().step >= STEPS) && tally.count >= 50, 'ratchet pushes accepted')
      const accuracies = await Promise.all(honest.map(nextEvaluation))
      for (const node of honest) {
        // 60 rounds of a limit that followed the node's own model took its norm to 1e36 (3.9× a round);
        // here it stays within 2× that of a node that never heard the attacker.
        expect(node.status().intake?.normBound ?? Infinity).toBeLessThan(2 * alone.normBound)
      }
      for (const accuracy of accuracies) expect(accuracy).toBeGreaterThan(alone.accuracy - MARGIN)
    } finally {
      await Promise.all(nodes.map(async node => node.stop()))
    }
  }, 240_000)

  it('liar: a joiner asks several peers, refuses the poisoned answer, and adopts a good model', async () => {
    const manifest = manifestWith()
    const solo = await soloAccuracy(5)
    const first = await startNode(manifest, 1)
    const nodes = [first]
    try {
      nodes.push(await startNode(manifest, 2, { bootstrap: [address(first)] }))
      nodes.push(await startNode(manifest, 3, { bootstrap: [address(first)] }))
      nodes.push(await startNode(manifest, 4, { bootstrap: [address(first)], attack: 'liar' }))
      await until(() => nodes.every(node => node.status().step >= STEPS), 'the swarm to train')
      const joiner = await startNode(manifest, 5, { bootstrap: nodes.map(address), warmJoin: true })
      nodes.push(joiner)
      const joined = new Promise<number>(resolve => {
        joiner.addEventListener('warm-join', () => { resolve(nextEvaluation(joiner)) }, { once: true })
      })
      const accuracy = await joined
      const status = joiner.status()
      // Control: the liar's answer arrived (4 answers, one refused as far from the others).
      expect(status.warmJoin?.answers).toBe(4)
      expect(status.warmJoin?.refused).toBe(1)
      // Right after adopting, before much training of its own, the joiner is as good as a node that
      // trained STEPS steps alone; a negated model would score near 0.
      expect(status.step).toBeLessThan(STEPS)
      expect(accuracy).toBeGreaterThan(solo - MARGIN)
    } finally {
      await Promise.all(nodes.map(async node => node.stop()))
    }
  }, 240_000)

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

describe('a diverged node', () => {
  it('stops with ERR_MODEL_DIVERGED instead of judging others by a non-finite model', async () => {
    // No manifest a node accepts from a file or flags has such a learning rate (MANIFEST_LIMITS): this
    // one is made in code, to drive the model to ±Infinity within a step.
    const bounded = createManifest({ model: 'logistic', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }, training: { optimizer: 'sgd', learningRate: 1 } })
    const manifest = { ...bounded, training: { ...bounded.training, learningRate: 1e38 } }
    const node = await startNode(manifest, 1)
    try {
      const error = await new Promise<Error>(resolve => { node.addEventListener('error', event => { resolve(event.detail) }, { once: true }) })
      expect(isMurmurError(error, 'ERR_MODEL_DIVERGED')).toBe(true)
      expect(error.message).toMatch(/NaN or infinite/)
    } finally {
      await node.stop()
    }
  }, 60_000)
})
