import { join, resolve } from 'node:path'
import type { Attack } from '../attacks/attack.js'
import { createRandom } from '../data/random.js'
import type { BackendName } from '../learning/backend-names.js'
import { NodeStore } from '../node/store.js'
import { peerIdOf } from '../p2p/identity.js'
import { freePort } from './free-port.js'
import { NodeProcess } from './node-process.js'
import type { ProfileShare } from './profiles.js'

export type SwarmNodeState = 'pending' | 'running' | 'killed' | 'left'

/** One node of a local swarm: its fixed identity, address and data, and the process running it now. */
export interface SwarmNode {
  /** its number, from 1 */
  readonly index: number
  readonly dataSpec: string
  readonly datadir: string
  readonly port: number
  readonly peerId: string
  /** its multiaddr on 127.0.0.1, with /p2p/PEER_ID */
  readonly address: string
  readonly profile: ProfileShare
  process: NodeProcess | null
  /** pending: not started yet (a late joiner); killed (SIGKILL) or left (stopped) until restarted */
  state: SwarmNodeState
  /** the attack it runs (`murmur start --attack`), null when honest */
  attack: Attack | null
  /** when it joined late, milliseconds after the start of training; null otherwise */
  joinedAtMs: number | null
}

export interface SwarmNodesInit {
  /** the folder of the nodes' datadirs (node-1, node-2, …) */
  readonly workdir: string
  /** the manifest every node runs */
  readonly manifestFile: string
  /** how many nodes */
  readonly count: number
  /** the data spec of node `index` (from 1) */
  readonly dataSpec: (index: number) => string
  /** each node's device profile, in node order; 'fast' (no CPU limit) for a node beyond the list */
  readonly profiles?: readonly ProfileShare[]
  /** the attack node `index` runs from its start; every node is honest if not set */
  readonly attackAtStart?: (index: number) => Attack | null
  /** seed of the fixed sample of bootstrap peers in a swarm of more than BOOTSTRAP_PEERS + 1 nodes (default 0) */
  readonly seed?: number
  /** the nodes' TF.js backend (default: `murmur start`'s) */
  readonly backend?: BackendName
  /** a swarm key file every node gets (a private swarm); none if not set */
  readonly swarmKeyFile?: string
  /** let nodes without a checkpoint fetch the model from a peer (default true) */
  readonly warmJoin?: boolean
  /** lines the nodes print on stderr, with their index; dropped if not set */
  readonly onNodeLog?: (index: number, line: string) => void
  /** aborts node start-ups that hang (a node killed before it says it is ready) */
  readonly signal?: AbortSignal
}

/** Up to this many bootstrap peers per node: connections per node must not grow with the swarm. */
export const BOOTSTRAP_PEERS = 8

const FAST: ProfileShare = { name: 'fast', maxCpu: 1, share: 1 }

/**
 * The node processes of a local swarm (`murmur swarm`): N `murmur start` processes on 127.0.0.1, each
 * bootstrapping from the others. Identities and ports are fixed before any node starts, so every node
 * can start at once with the others as bootstrap peers, and a restarted node comes back as itself.
 * Starts, kills, stops and partitions them; what happens when is the scenario's (swarm-actions.ts).
 */
export class SwarmNodes {
  /** every node, in index order */
  readonly all: readonly SwarmNode[]
  /** peer ids each node refuses (a partition), by node index; empty when healed */
  private blocked = new Map<number, string[]>()

  private constructor (private readonly init: SwarmNodesInit, nodes: SwarmNode[]) {
    this.all = nodes
  }

  static async create (init: SwarmNodesInit): Promise<SwarmNodes> {
    const takenPorts = new Set<number>()
    const nodes = await Promise.all(Array.from({ length: init.count }, async (_, i): Promise<SwarmNode> => {
      const index = i + 1
      const datadir = join(init.workdir, `node-${index}`)
      const store = await NodeStore.open(datadir)
      const { identity } = await store.identity()
      await store.close()
      const port = await freePort(takenPorts)
      const peerId = peerIdOf(identity)
      return {
        index,
        dataSpec: init.dataSpec(index),
        datadir,
        port,
        peerId,
        address: `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`,
        profile: init.profiles?.[i] ?? FAST,
        process: null,
        state: 'pending',
        attack: init.attackAtStart?.(index) ?? null,
        joinedAtMs: null
      }
    }))
    return new SwarmNodes(init, nodes)
  }

  node (index: number): SwarmNode {
    return this.all[index - 1] as SwarmNode
  }

  /** the nodes running now */
  live (): SwarmNode[] {
    return this.all.filter(n => n.state === 'running' && n.process !== null)
  }

  /** Starts the node's process (as it is now: honest or attacker) and waits until it is ready. */
  async start (target: SwarmNode): Promise<void> {
    const { init } = this
    target.process = await NodeProcess.start({
      index: target.index,
      manifestFile: init.manifestFile,
      dataSpec: target.dataSpec,
      datadir: target.datadir,
      listen: `/ip4/127.0.0.1/tcp/${target.port}`,
      bootstrap: bootstrapPeers(this.all, target, init.seed ?? 0).map(other => other.address),
      ...(init.backend === undefined ? {} : { backend: init.backend }),
      ...(target.profile.maxCpu < 1 ? { maxCpu: target.profile.maxCpu } : {}),
      ...(init.warmJoin === false ? { warmJoin: false } : {}),
      extraArgs: [
        ...(init.swarmKeyFile === undefined ? [] : ['--swarm-key', resolve(init.swarmKeyFile)]),
        ...(target.attack === null ? [] : ['--attack', target.attack])
      ],
      log: line => { init.onNodeLog?.(target.index, line) }
    }, init.signal)
    target.state = 'running'
    // A node (re)started during a partition joins its side of it.
    if (this.blocked.size > 0) await this.applyBlocked(target)
  }

  /** SIGKILL: a crash, with no final checkpoint. Nothing happens to a node not running. */
  async kill (target: SwarmNode): Promise<void> {
    if (target.state !== 'running') return
    target.state = 'killed'
    await target.process?.kill()
  }

  /** A clean departure: the node stops and writes its final checkpoint. Nothing happens to a node not running. */
  async leave (target: SwarmNode): Promise<void> {
    if (target.state !== 'running') return
    target.state = 'left'
    await target.process?.stop()
  }

  /** Splits the swarm: every node refuses the nodes of the other groups; a node in no group is a group of its own. */
  async partition (groups: ReadonlyArray<readonly number[]>): Promise<void> {
    const groupOf = new Map(groups.flatMap((group, g) => group.map(index => [index, g] as const)))
    this.blocked = new Map(this.all.map(target => [target.index, this.all
      .filter(other => other !== target && groupOf.get(other.index) !== groupOf.get(target.index))
      .map(other => other.peerId)]))
    await Promise.all(this.live().map(async target => this.applyBlocked(target)))
  }

  /** Ends a partition. */
  async heal (): Promise<void> {
    this.blocked = new Map()
    await Promise.all(this.live().map(async target => target.process?.setBlockedPeers([])))
  }

  /** Stops every process still running (final checkpoints); the nodes' states stay as they were. */
  async stopAll (): Promise<void> {
    await Promise.all(this.all.map(async n => n.process?.stop()))
  }

  /** the TF.js backend the nodes reported when ready ('unknown' if none started) */
  backend (): string {
    return this.all.find(n => n.process?.ready != null)?.process?.ready?.backend ?? 'unknown'
  }

  private async applyBlocked (target: SwarmNode): Promise<void> {
    await target.process?.setBlockedPeers(this.blocked.get(target.index) ?? [])
  }
}

/** Every other node in a small swarm; a fixed random sample of them in a large one. */
function bootstrapPeers (nodes: readonly SwarmNode[], target: SwarmNode, seed: number): SwarmNode[] {
  const others = nodes.filter(other => other !== target)
  if (others.length <= BOOTSTRAP_PEERS) return others
  return createRandom((seed ^ Math.imul(target.index, 0x9e3779b1)) >>> 0).shuffle([...others]).slice(0, BOOTSTRAP_PEERS)
}
