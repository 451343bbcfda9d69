import type { Clock } from '../../src/core/clock.js'
import type { PeerGate } from '../../src/core/peer-gate.js'
import type { GossipTopic, PushCandidate, PushOutcome, PushReply, Transport, TransportHandlers } from '../../src/core/transport.js'

export interface MemoryNetworkInit {
  readonly clock: Clock
  /** one-way delay of every message (default 5 ms) */
  readonly latencyMs?: number
}

interface Member {
  readonly id: string
  readonly gate: PeerGate | null
  handlers: TransportHandlers | null
  topic: GossipTopic | null
  up: boolean
  /** gossip message ids seen, so that a flood reaches each member once */
  readonly seen: Set<number>
}

class Refused extends Error {}

function abortable<T> (signal: AbortSignal, work: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason as Error) }
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}

/**
 * An in-memory network for in-process tests of the node core: members linked as a test says, every
 * message delivered after a fixed latency on the test's clock, gossip flooded over the links (each
 * member validates before forwarding, as gossipsub does). Two members are connected while they are
 * linked, both up, in the same partition, and neither one's gate refuses the other.
 */
export class MemoryNetwork {
  private readonly clock: Clock
  private readonly latencyMs: number
  private readonly members = new Map<string, Member>()
  private readonly links = new Set<string>()
  private partitionOf: Map<string, number> | null = null
  private nextMessage = 0
  /** messages carried, by kind: what a test can count */
  readonly carried = { pushes: 0, gossip: 0, requests: 0 }

  constructor (init: MemoryNetworkInit) {
    this.clock = init.clock
    this.latencyMs = init.latencyMs ?? 5
  }

  /** A member's transport; `gate`: the node's refusals (its core's PeerGate), applied to connections. */
  join (id: string, gate?: PeerGate): MemoryTransport {
    this.members.set(id, { id, gate: gate ?? null, handlers: null, topic: null, up: true, seen: new Set() })
    return new MemoryTransport(this, id)
  }

  link (a: string, b: string): void {
    this.links.add(this.key(a, b))
  }

  /** Links every pair of the given members. */
  linkAll (ids: readonly string[]): void {
    for (const [i, a] of ids.entries()) for (const b of ids.slice(i + 1)) this.link(a, b)
  }

  /** Takes a member off the network (a crash, a phone going to sleep), or back. */
  setUp (id: string, up: boolean): void {
    const member = this.members.get(id)
    if (member !== undefined) member.up = up
  }

  /** Cuts the network into groups: members of different groups cannot reach each other until heal(). */
  partition (groups: ReadonlyArray<readonly string[]>): void {
    this.partitionOf = new Map(groups.flatMap((group, index) => group.map(id => [id, index] as const)))
  }

  heal (): void {
    this.partitionOf = null
  }

  private key (a: string, b: string): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`
  }

  connected (a: string, b: string): boolean {
    if (a === b || !this.links.has(this.key(a, b))) return false
    const ma = this.members.get(a)
    const mb = this.members.get(b)
    if (ma === undefined || mb === undefined || !ma.up || !mb.up) return false
    if (this.partitionOf !== null && this.partitionOf.get(a) !== this.partitionOf.get(b)) return false
    return ma.gate?.isBlocked(b) !== true && mb.gate?.isBlocked(a) !== true
  }

  neighbours (id: string): string[] {
    return [...this.members.keys()].filter(other => this.connected(id, other))
  }

  /** Neighbours listening to the same gossip topic. */
  subscribedNeighbours (id: string): string[] {
    const topic = this.members.get(id)?.topic
    return this.neighbours(id).filter(other => topic !== null && this.members.get(other)?.topic === topic)
  }

  started (id: string, handlers: TransportHandlers | null, topic: GossipTopic | null): void {
    const member = this.members.get(id)
    if (member === undefined) return
    member.handlers = handlers
    member.topic = topic
  }

  /** Runs `work` after one latency, if the two are still connected then. */
  private later<T> (from: string, to: string, work: (receiver: Member) => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.clock.schedule(this.latencyMs, () => {
        const receiver = this.members.get(to)
        if (!this.connected(from, to) || receiver?.handlers == null) { reject(new Refused(`${to} is not reachable from ${from}`)); return }
        Promise.resolve().then(() => work(receiver)).then(resolve, reject)
      })
    })
  }

  async push (from: string, to: string, bytes: Uint8Array): Promise<PushReply> {
    if (!this.connected(from, to)) throw new Refused(`not connected to ${to}`)
    this.carried.pushes++
    const reply = await this.later(from, to, receiver => (receiver.handlers as TransportHandlers).push(from, bytes))
    // The answer travels back too.
    return this.later(to, from, () => reply)
  }

  async request (from: string, to: string): Promise<Uint8Array | null> {
    if (!this.connected(from, to)) throw new Refused(`not connected to ${to}`)
    this.carried.requests++
    const answer = await this.later(from, to, async receiver => {
      const handlers = receiver.handlers as TransportHandlers
      if (!handlers.admitModelRequest(from)) throw new Refused('model request refused')
      return handlers.modelRequest(from)
    })
    return this.later(to, from, () => answer)
  }

  /** Floods a gossip message from `relayer` (signed by `author`) to its subscribed neighbours; returns how many it went to directly. */
  publish (author: string, relayer: string, bytes: Uint8Array): number {
    const id = this.nextMessage++
    this.members.get(relayer)?.seen.add(id)
    return this.forward(id, author, relayer, bytes)
  }

  private forward (id: number, author: string, relayer: string, bytes: Uint8Array): number {
    const targets = this.subscribedNeighbours(relayer).filter(peer => !(this.members.get(peer)?.seen.has(id) ?? true))
    for (const target of targets) {
      this.carried.gossip++
      this.later(relayer, target, receiver => {
        if (receiver.seen.has(id)) return
        receiver.seen.add(id)
        const handlers = receiver.handlers as TransportHandlers
        const verdict = receiver.topic === 'models' ? handlers.broadcast(author, bytes, relayer) : handlers.announcement(author, bytes)
        if (verdict.ok) this.forward(id, author, receiver.id, bytes)
      }).catch(() => {})
    }
    return targets.length
  }
}

/** One member's side of a MemoryNetwork: the core's Transport port. */
export class MemoryTransport implements Transport {
  constructor (private readonly network: MemoryNetwork, readonly id: string) {}

  async start (handlers: TransportHandlers, topic: GossipTopic): Promise<void> {
    this.network.started(this.id, handlers, topic)
  }

  async stop (): Promise<void> {
    this.network.started(this.id, null, null)
  }

  peers (): string[] {
    return this.network.neighbours(this.id)
  }

  isConnected (peer: string): boolean {
    return this.network.connected(this.id, peer)
  }

  swarmPeers (): string[] {
    return this.network.subscribedNeighbours(this.id)
  }

  pushCandidates (): PushCandidate[] {
    return this.swarmPeers().map(peer => ({ peer, relayed: false }))
  }

  async push (peer: string, bytes: Uint8Array, signal: AbortSignal): Promise<PushOutcome> {
    return { reply: await abortable(signal, this.network.push(this.id, peer, bytes)), relayed: false }
  }

  async publish (bytes: Uint8Array): Promise<number> {
    return this.network.publish(this.id, this.id, bytes)
  }

  /** The sybil attack's forgery: the same message under other authors' names. */
  async publishAs (authors: readonly string[], bytes: Uint8Array): Promise<number> {
    let sent = 0
    for (const author of authors) sent += this.network.publish(author, this.id, bytes)
    return sent
  }

  async requestModel (peer: string, signal: AbortSignal): Promise<Uint8Array | null> {
    return abortable(signal, this.network.request(this.id, peer))
  }

  async disconnect (): Promise<void> {
    // Connectivity follows the gates: a refused peer is not connected from now on.
  }
}
