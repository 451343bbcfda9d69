import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, expect } from 'vitest'
import { createManifest } from '../src/learning/manifest.js'
import { generateSwarmKey } from '../src/p2p/swarm-key.js'
import { NodeProcess } from '../src/swarm/node-process.js'
import { chartLinePixels, launchBrowser, Tab } from './browser-helpers.js'
import { temporaryDirectory, waitFor } from './helpers.js'

/**
 * Browser nodes in Debian's Chromium with process nodes on loopback: the page served by a process
 * node (murmur start --web), the same core, wire protocol and manifest in both.
 */

const MANIFEST = createManifest({ model: 'mlp', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 } })

interface Swarm {
  readonly directory: string
  readonly manifestFile: string
  readonly nodes: NodeProcess[]
  /** the page's URL on the first node */
  readonly web: string
}

async function startSwarm (prefix: string, count: number, parts: number, extraArgs: string[] = []): Promise<Swarm> {
  const directory = await temporaryDirectory(prefix)
  const manifestFile = join(directory, 'manifest.json')
  await writeFile(manifestFile, JSON.stringify(MANIFEST))
  const nodes: NodeProcess[] = []
  const start = async (index: number, bootstrap: string[], more: string[]): Promise<NodeProcess> => {
    const node = await NodeProcess.start({
      index, manifestFile, dataSpec: `mnist:${index}/${parts}`, datadir: join(directory, `node-${index}`), listen: '/ip4/127.0.0.1/tcp/0', bootstrap, extraArgs: ['--no-mdns', ...extraArgs, ...more], log: () => {}
    })
    nodes.push(node)
    return node
  }
  try {
    const first = await start(1, [], ['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--web', '127.0.0.1:0'])
    const address = first.ready?.multiaddrs.find(text => text.includes('127.0.0.1') && !text.includes('/ws')) ?? ''
    for (let index = 2; index <= count; index++) await start(index, [address], [])
    const web = first.ready?.web
    if (typeof web !== 'string') throw new Error('the first node serves no page')
    return { directory, manifestFile, nodes, web }
  } catch (error) {
    await Promise.all(nodes.map(async node => node.stop()))
    throw error
  }
}

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1)

describe('browser nodes', () => {
  it('join a swarm of process nodes from the page a node serves, reach each other over WebRTC, train and exchange as well as the process nodes; a closed tab disturbs nobody; a reloaded tab resumes as the same peer', async () => {
    const browser = await launchBrowser()
    if (browser === null) return
    const swarm = await startSwarm('browser', 3, 5)
    const tabs: Tab[] = []
    try {
      // Tabs take the parts of the built-in data the process nodes do not (4/5 and 5/5), and checkpoint every 2 s.
      for (const part of [4, 5]) tabs.push(await Tab.open(browser, `${swarm.web}?join&part=${part}/5&checkpoint=2000`))
      const [first, second] = tabs as [Tab, Tab]
      const firstAccuracy = await Promise.all(tabs.map(async tab => (await tab.waitFor(status => status.lastAccuracy !== null, 'a first evaluation')).lastAccuracy as number))
      // Headless Chromium draws WebGL in software (SwiftShader), slower than wasm: the tabs skip it.
      for (const tab of tabs) expect((await tab.status())?.backend).toBe('wasm')
      // WebSockets to process nodes, WebRTC between the two tabs (signalled through a node's relay).
      for (const tab of tabs) {
        await tab.waitFor(status => status.connections.some(connection => connection.transport === 'websockets') &&
          status.connections.some(connection => connection.transport === 'webrtc') && status.exchanges >= 5 && status.updates.accepted >= 5,
        'WebSockets and WebRTC connections and exchanges', 120_000)
      }
      const webrtcPeers = (await first.status())?.connections.filter(connection => connection.transport === 'webrtc').map(connection => connection.peer)
      expect(webrtcPeers).toContain((await second.status())?.peerId)
      // The process nodes merge the tabs' models too.
      for (const node of swarm.nodes) await waitFor(node, status => status.updates.accepted >= 5 && status.peers >= 2)

      // Accuracy: the tabs' ends where the process nodes' does (each on held-out records of its own part).
      // (A tab's first evaluation is already high when its warm join adopted the swarm's model.)
      let tabAccuracy = 0
      let nodeAccuracy = 0
      const deadline = Date.now() + 90_000
      do {
        const tabStatuses = await Promise.all(tabs.map(async tab => tab.status()))
        const nodeStatuses = await Promise.all(swarm.nodes.map(async node => node.status()))
        tabAccuracy = mean(tabStatuses.map(status => status?.lastAccuracy ?? 0))
        nodeAccuracy = mean(nodeStatuses.map(status => status?.lastAccuracy ?? 0))
        if (tabAccuracy >= nodeAccuracy - 0.03 && tabStatuses.every(status => (status?.step ?? 0) >= 200)) break
        await new Promise(resolve => setTimeout(resolve, 1_000))
      } while (Date.now() < deadline)
      process.stdout.write(`browser nodes: accuracy ${tabAccuracy.toFixed(3)} (first evaluation ${mean(firstAccuracy).toFixed(3)}), process nodes ${nodeAccuracy.toFixed(3)}\n`)
      expect(tabAccuracy).toBeGreaterThan(0.8)
      expect(tabAccuracy).toBeGreaterThanOrEqual(nodeAccuracy - 0.03)

      // The page: its chart is drawn.
      // The chart gains a point per evaluation (every 2 s): a tab that caught up at once may have drawn
      // only two so far, so wait for a third (CI once read 2) before reading the page.
      const chartPoints = async (): Promise<number> => first.page.evaluate(() => (globalThis as unknown as { murmur: { chartPoints: number } }).murmur.chartPoints)
      const chartDeadline = Date.now() + 30_000
      while (await chartPoints() < 3 && Date.now() < chartDeadline) await new Promise(resolve => setTimeout(resolve, 500))
      const screenshot = join(swarm.directory, 'browser-node.png')
      await first.page.screenshot({ path: screenshot, fullPage: true })
      const points = await chartPoints()
      const pixels = await chartLinePixels(first.page)
      process.stdout.write(`browser node page: ${points} chart points, ${pixels} line pixels; screenshot ${screenshot}\n`)
      expect(points).toBeGreaterThanOrEqual(3)
      expect(pixels).toBeGreaterThan(100)

      // A tab closed mid-run: everybody else goes on exchanging.
      const before = await Promise.all(swarm.nodes.map(async node => (await node.status())?.exchanges ?? 0))
      const firstBefore = (await first.status())?.exchanges ?? 0
      await second.close()
      tabs.pop()
      await first.waitFor(status => status.exchanges >= firstBefore + 5 && !status.connections.some(connection => connection.transport === 'webrtc'), 'exchanges after the other tab closed')
      await Promise.all(swarm.nodes.map(async (node, index) => waitFor(node, status => status.exchanges >= (before[index] ?? 0) + 5)))

      // A reload: the same peer id, resumed from the IndexedDB checkpoint.
      const saved = await first.waitFor(status => status.checkpoint.step > 0, 'a checkpoint')
      await first.page.reload()
      const resumed = await first.waitFor(status => status.step > 0, 'the reloaded node')
      expect(resumed.peerId).toBe(saved.peerId)
      expect(resumed.resumed).toBe(true)
      expect(resumed.step).toBeGreaterThanOrEqual(saved.checkpoint.step)
      expect(resumed.restarts).toBeGreaterThanOrEqual(1)
      expect(first.errors).toEqual([])
    } finally {
      await browser.close()
      await Promise.all(swarm.nodes.map(async node => node.stop()))
    }
  }, 420_000)

  it('in a private swarm: a tab with the swarm key is admitted; a tab with another key gets no connection and nothing', async () => {
    const browser = await launchBrowser()
    if (browser === null) return
    const directory = await temporaryDirectory('browser-key')
    const key = generateSwarmKey()
    const keyFile = join(directory, 'swarm.key')
    await writeFile(keyFile, key, { mode: 0o600 })
    const hex = (bytes: Uint8Array): string => new TextDecoder().decode(bytes).split('\n')[2] ?? ''
    const swarm = await startSwarm('browser-private', 1, 3, ['--swarm-key', keyFile])
    try {
      const member = await Tab.open(browser, `${swarm.web}?join&part=2/3#key=${hex(key)}`)
      const stranger = await Tab.open(browser, `${swarm.web}?join&part=3/3#key=${hex(generateSwarmKey())}`)
      const keyless = await Tab.open(browser, `${swarm.web}?join`)
      const admitted = await member.waitFor(status => (status.admission?.admitted ?? 0) >= 1 && status.updates.accepted >= 2 && status.exchanges >= 2, 'admission and exchanges')
      expect(admitted.connections.map(connection => connection.transport)).toContain('websockets')
      // The stranger has had as long as the member needed, and more: still nothing.
      await stranger.waitFor(status => status.step >= 40, 'the stranger training alone')
      const refused = await stranger.status()
      expect(refused?.peers).toBe(0)
      expect(refused?.updates.received).toBe(0)
      const node = await waitFor(swarm.nodes[0] as NodeProcess, status => status.updates.accepted >= 2)
      expect(node.peers).toBe(1)
      // Without a key the page does not even start a node: it asks for the key.
      await keyless.page.waitForFunction(() => (globalThis as unknown as { murmurError?: string }).murmurError !== undefined, undefined, { timeout: 30_000 })
      expect(await keyless.error()).toMatch(/private: paste its swarm key/)
    } finally {
      await browser.close()
      await Promise.all(swarm.nodes.map(async node => node.stop()))
    }
  }, 240_000)
})
