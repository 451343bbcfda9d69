import { execFileSync } from 'node:child_process'
import { describe, it, expect } from 'vitest'
import { createManifest } from '../src/learning/manifest.js'
import type { NodeStatus } from '../src/node/status.js'
import { Testbed, type TestbedNode } from '../src/testbed/testbed.js'
import { planTopology } from '../src/testbed/topology.js'
import { sleep, temporaryDirectory } from './helpers.js'

/** Why the network-namespace tests cannot run here, or null when they can. */
function missing (): string | null {
  if (process.getuid?.() !== 0) return 'not root'
  for (const [tool, args] of [['ip', ['netns', 'list']], ['tc', ['-V']], ['iptables', ['--version']]] as const) {
    try {
      execFileSync(tool, args, { stdio: 'ignore' })
    } catch {
      return `${tool} is not installed`
    }
  }
  return null
}

const reason = missing()
if (reason !== null) process.stdout.write(`testbed tests skipped: ${reason} (they need root, iproute2 and iptables; .ci/run installs iptables)\n`)

async function waitUntil (node: TestbedNode, condition: (status: NodeStatus) => boolean, timeoutMs = 60_000): Promise<NodeStatus> {
  const deadline = Date.now() + timeoutMs
  let last: NodeStatus | null = null
  while (Date.now() < deadline) {
    last = await node.process?.status() ?? null
    if (last !== null && condition(last)) return last
    await sleep(250)
  }
  throw new Error(`node ${node.index}: condition not reached in ${timeoutMs} ms; last status: ${JSON.stringify(last)}`)
}

describe.skipIf(reason !== null)('across NAT routers in network namespaces', () => {
  it('NATed nodes in two homes connect and exchange models; a late NATed node joins through the bootstrap alone and warm-joins; without the bootstrap the swarm stays one and keeps learning', async () => {
    // Nodes 1-2 public (1 is the bootstrap), 3 in home 1, 4 and 5 in home 2 (5 joins late).
    const topology = planTopology({ name: 'test', public: 2, homes: [{ nodes: 1 }, { nodes: 2 }], bootstrap: [1], events: [{ at: 1000, kind: 'join', nodes: [5] }] })
    // A small model: its updates fit in a relay's data limit, so NATed nodes can also exchange over relays.
    const manifest = createManifest({ model: 'logistic', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }, training: { localSteps: 5 } })
    const testbed = await Testbed.create({ topology, manifest, workdir: await temporaryDirectory('testbed'), dataSpec: index => `mnist:${index}/5` })
    try {
      await testbed.start(1)
      await Promise.all([2, 3, 4].map(async index => testbed.start(index)))
      const [home1, home2] = [testbed.node(3), testbed.node(4)]
      // Each knows only the bootstrap: they find each other through the DHT and reach each other
      // through a relay (or directly, if hole punching succeeds).
      const across = await waitUntil(home1, s => s.connections.some(c => c.peerId === home2.peerId), 60_000)
      expect(across.reachability).toBe('private')
      // Models crossed between the homes: over that relayed connection, or a direct one.
      const exchanged = (s: NodeStatus): boolean => s.connections.some(c => c.peerId === home1.peerId && !c.relayed) || s.exchange.sendsRelayed > 0
      await waitUntil(home2, s => exchanged(s) && s.updates.accepted > 0, 60_000)

      // A NATed node that knows only the bootstrap joins and takes the swarm's model.
      await testbed.start(5)
      const late = await waitUntil(testbed.node(5), s => s.warmJoin !== null && s.peers >= 2, 60_000)
      expect(late.warmJoin?.step ?? 0).toBeGreaterThan(0)

      // The bootstrap dies: the others stay connected across the homes and keep exchanging models.
      const before = new Map(await Promise.all([3, 4, 5].map(async index => [index, (await testbed.node(index).process?.status())?.updates.accepted ?? 0] as const)))
      await testbed.kill(1)
      const remaining = [2, 3, 4, 5].map(index => testbed.node(index).peerId)
      for (const index of [3, 4, 5]) {
        const node = testbed.node(index)
        const otherHome = testbed.nodes.filter(other => other.home !== null && other.home !== node.home).map(other => other.peerId)
        const status = await waitUntil(node, s =>
          s.updates.accepted > (before.get(index) ?? 0) + 3 &&
          s.connections.some(c => otherHome.includes(c.peerId)) &&
          !s.connections.some(c => c.peerId === testbed.node(1).peerId), 90_000)
        expect(status.connections.filter(c => remaining.includes(c.peerId)).length).toBeGreaterThan(0)
      }
    } finally {
      await testbed.close()
    }
    // Nothing is left behind.
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(testbed.network.plan.prefix)
  }, 300_000)
})

describe('testbed topology files', () => {
  it('numbers public nodes first, then each home\'s, and refuses what it cannot build', () => {
    const topology = planTopology({ name: 't', public: 2, homes: [{ nodes: 2, uplink: '1mbit' }, { nodes: 1 }], events: [{ at: '5s', kind: 'cap', home: 2, rate: '512kbit' }, { at: '2s', kind: 'kill', nodes: [1] }] })
    expect(topology.nodeCount).toBe(5)
    expect(topology.homes[0]?.uplink).toBe('1mbit')
    expect(topology.actions.map(action => action.atMs)).toEqual([2000, 5000])
    expect(() => planTopology({ name: 't', public: 1, homes: [{ nodes: 1, uplink: 'fast' }] })).toThrow(/rate/)
    expect(() => planTopology({ name: 't', public: 1, homes: [], events: [{ at: 1, kind: 'kill', nodes: [3] }] })).toThrow(/node numbers/)
    expect(() => planTopology({ name: 't', public: 1, homes: [{ nodes: 1 }], bootstrap: [2] })).toThrow(/bootstrap/)
  })
})
