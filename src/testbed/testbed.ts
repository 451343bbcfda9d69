import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MurmurError } from '../errors.js'
import type { Manifest } from '../learning/manifest.js'
import type { NodeStatus } from '../node/status.js'
import { NodeStore } from '../node/store.js'
import { peerIdOf } from '../p2p/identity.js'
import { compiledModule } from '../paths.js'
import { NodeProcess } from '../swarm/node-process.js'
import { checkTestbedRequirements, Network, planNetwork, type NodeHost } from './network.js'
import type { Topology } from './topology.js'

/** Inside its own namespace every node uses the same ports: nothing else listens there. */
const P2P_PORT = 4001
const WEBSOCKET_PORT = 4002
const API_PORT = 9090

export interface TestbedInit {
  readonly topology: Topology
  readonly manifest: Manifest
  /** where the manifest and the nodes' state go */
  readonly workdir: string
  /** data spec of node i (1-based) */
  readonly dataSpec: (index: number) => string
  readonly backend?: string
  /** more `murmur start` flags for every node */
  readonly extraArgs?: readonly string[]
  readonly onNodeLog?: (index: number, line: string) => void
}

export type NodeState = 'pending' | 'running' | 'killed'

export interface TestbedNode extends NodeHost {
  readonly peerId: string
  readonly datadir: string
  readonly dataSpec: string
  /** its multiaddr on the internet segment (public nodes) */
  readonly publicAddress: string | null
  process: NodeProcess | null
  state: NodeState
}

/**
 * A swarm of `murmur start` processes, each in its own network namespace of an emulated network
 * (see network.ts). Every node knows only the bootstrap nodes of the topology; mDNS is off. Removes
 * all it made on close(), on process exit and on SIGINT/SIGTERM (the caller's handlers call close()).
 */
export class Testbed {
  readonly nodes: TestbedNode[]
  private readonly bridges: ChildProcess[] = []
  private readonly manifestFile: string
  private readonly onExit: () => void
  private closed = false

  private constructor (readonly network: Network, private readonly init: TestbedInit, nodes: TestbedNode[]) {
    this.nodes = nodes
    this.manifestFile = join(init.workdir, 'manifest.json')
    // A crash must not leave namespaces behind: their teardown is synchronous, so it runs on exit too.
    this.onExit = () => { this.teardown() }
    process.on('exit', this.onExit)
  }

  /** Checks root and tools, builds the network, creates the nodes' identities and API bridges. */
  static async create (init: TestbedInit): Promise<Testbed> {
    checkTestbedRequirements()
    await mkdir(init.workdir, { recursive: true })
    const plan = planNetwork(init.topology)
    const nodes: TestbedNode[] = await Promise.all(plan.nodes.map(async host => {
      const datadir = join(init.workdir, `node-${host.index}`)
      const store = await NodeStore.open(datadir)
      const { identity } = await store.identity()
      await store.close()
      const peerId = peerIdOf(identity)
      return {
        ...host,
        peerId,
        datadir,
        dataSpec: init.dataSpec(host.index),
        publicAddress: host.home === null ? `/ip4/${host.address}/tcp/${P2P_PORT}/p2p/${peerId}` : null,
        process: null,
        state: 'pending' as NodeState
      }
    }))
    const network = Network.build(plan, init.topology)
    const testbed = new Testbed(network, init, nodes)
    try {
      await writeFile(testbed.manifestFile, JSON.stringify(init.manifest, null, 2) + '\n')
      for (const node of nodes) testbed.startBridge(node)
    } catch (error) {
      await testbed.close()
      throw error
    }
    return testbed
  }

  private socketOf (node: TestbedNode): string {
    return join(tmpdir(), `${this.network.plan.prefix}-${node.index}.sock`)
  }

  /** A process in the node's namespace that lets the testbed reach the node's API (see api-bridge.ts). */
  private startBridge (node: TestbedNode): void {
    const bridge = spawn('ip', ['netns', 'exec', node.namespace, process.execPath, compiledModule('testbed/api-bridge.js'), this.socketOf(node), String(API_PORT)], { stdio: ['pipe', 'ignore', 'inherit'] })
    this.bridges.push(bridge)
  }

  node (index: number): TestbedNode {
    const node = this.nodes[index - 1]
    if (node === undefined) throw new MurmurError('ERR_TESTBED', `no node ${index}`)
    return node
  }

  bootstrapAddresses (): string[] {
    return this.init.topology.bootstrap.map(index => this.node(index).publicAddress).filter((address): address is string => address !== null)
  }

  /** Starts a node's `murmur start` in its namespace; resolves when it is ready. */
  async start (index: number, signal?: AbortSignal): Promise<void> {
    const node = this.node(index)
    if (node.state === 'running') return
    const bootstrap = this.bootstrapAddresses().filter(address => !address.endsWith(node.peerId))
    node.process = await NodeProcess.start({
      index,
      manifestFile: this.manifestFile,
      dataSpec: node.dataSpec,
      datadir: node.datadir,
      listen: `/ip4/0.0.0.0/tcp/${P2P_PORT}`,
      bootstrap,
      api: `127.0.0.1:${API_PORT}`,
      apiSocket: this.socketOf(node),
      commandPrefix: ['ip', 'netns', 'exec', node.namespace],
      ...(this.init.backend === undefined ? {} : { backend: this.init.backend }),
      extraArgs: [
        '--listen', `/ip4/0.0.0.0/tcp/${WEBSOCKET_PORT}/ws`,
        // A public node says where it can be dialled: that makes it a relay and a DHT server.
        ...(node.home === null ? ['--announce', `/ip4/${node.address}/tcp/${P2P_PORT}`] : []),
        ...(this.init.extraArgs ?? [])
      ],
      log: line => { this.init.onNodeLog?.(index, line) }
    }, signal)
    node.state = 'running'
  }

  /** SIGKILL: a crash, or a machine switched off. */
  async kill (index: number): Promise<void> {
    const node = this.node(index)
    if (node.state !== 'running') return
    node.state = 'killed'
    await node.process?.kill()
  }

  live (): TestbedNode[] {
    return this.nodes.filter(node => node.state === 'running' && node.process !== null)
  }

  async statuses (): Promise<Map<number, NodeStatus | null>> {
    return new Map(await Promise.all(this.live().map(async node => [node.index, await node.process?.status() ?? null] as const)))
  }

  /** Stops the nodes (final checkpoints), then removes every namespace of the run. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all(this.nodes.map(async node => node.process?.stop(10_000)))
    this.teardown()
    process.off('exit', this.onExit)
  }

  private teardown (): void {
    for (const bridge of this.bridges) bridge.kill('SIGKILL')
    for (const node of this.nodes) rmSync(this.socketOf(node), { force: true })
    this.network.teardown()
  }
}
