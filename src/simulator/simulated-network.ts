import { createRandom, type Random } from '../data/random.js'
import type { PeerGate } from '../core/peer-gate.js'
import type { GossipTopic, PushOutcome, Transport, TransportHandlers } from '../core/transport.js'
import type { LinkModel } from './links.js'
import type { VirtualTime } from './virtual-time.js'

export interface SimulatedNetworkInit {
  readonly time: VirtualTime
  readonly links: LinkModel
  /** members `node-1` … `node-N` from the start, numbered 1 to N (default 0; join() adds more) */
  readonly nodes?: number
  /**
   * connections a node keeps: on coming online it dials random online nodes until it has this many,
   * and dials more when departures leave it with fewer (what libp2p's peer keeper does); it accepts
   * dials from others up to twice this many. With nodes − 1 or fewer, every online node is connected
   * to every other. Not set: nobody dials, the links are the caller's (link(), linkAll(): an
   * in-process test's topology), and they stay while their members go offline and come back.
   */
  readonly targetPeers?: number
  /**
   * share of pushes that deliver nothing: refused unread, the sender's push fails a round trip later
   * (default 0). Stands for what a real run loses to its host rather than its network: starved
   * nodes on a machine running more node processes than it has cores (calibration.ts).
   */
  readonly pushLoss?: number
  readonly seed: number
}

/** A node's presence in the network while it runs. */
interface Endpoint {
  readonly id: string
  readonly handlers: TransportHandlers
  readonly topic: GossipTopic
  /** the peers the member's node refuses (its core's gate); none for a member without one */
  readonly gate: PeerGate | null
  /** broadcast mode: messages this node has seen (flooded messages are delivered once) */
  readonly seen: Set<number>
}

/** Bytes of a reply or an announcement: small enough that only latency counts. */
const CONTROL_BYTES = 0
/** broadcast messages remembered per node for de-duplication */
const SEEN_MESSAGES = 4096

class PushLost extends Error {
  constructor (peer: string) {
    super(`the push to ${peer} was lost (simulated push loss)`)
    this.name = 'PushLost'
  }
}

class NotConnected extends Error {
  constructor (peer: string) {
    super(`not connected to ${peer}`)
    this.name = 'NotConnected'
  }
}

/**
 * The network of a simulation: which nodes are online, who is connected to whom, partitions, and
 * messages delivered as scheduled events after their links' transfer times (links.ts). Each running
 * node talks to it through a SimulatedTransport, the core's transport port; the network only carries
 * bytes, every verdict is the receiving core's.
 */
export class SimulatedNetwork {
  private readonly endpoints: Array<Endpoint | undefined> = [undefined]
  private readonly connections: Array<Set<number>> = [new Set()]
  /** online nodes, for drawing random ones (swap-remove) */
  private readonly online: number[] = []
  private readonly onlineAt: number[] = [-1]
  /** partition group of each node; all 0 when healed */
  private readonly group: number[] = [0]
  /** the group of nodes in no group of the partition (0 when healed) */
  private outside = 0
  /** members taken off the network while their nodes run (setUp) */
  private readonly down = new Set<number>()
  private readonly random: Random
  /** draws which pushes are lost: a stream of its own, so that a loss of 0 changes no other draw */
  private readonly losses: Random
  private nextMessage = 0
  /** member ids by number; number 0 is no member */
  readonly ids: string[] = ['']
  private readonly indexOfId = new Map<string, number>()

  constructor (private readonly init: SimulatedNetworkInit) {
    this.random = createRandom((init.seed ^ 0x7e7) >>> 0)
    this.losses = createRandom((init.seed ^ 0x1055) >>> 0)
    for (let index = 1; index <= (init.nodes ?? 0); index++) this.member(nodeId(index))
  }

  get time (): VirtualTime {
    return this.init.time
  }

  get links (): LinkModel {
    return this.init.links
  }

  indexOf (id: string): number | undefined {
    return this.indexOfId.get(id)
  }

  /** The number of member `id`, registering it if it is new. */
  member (id: string): number {
    const known = this.indexOfId.get(id)
    if (known !== undefined) return known
    const index = this.ids.length
    this.ids.push(id)
    this.indexOfId.set(id, index)
    this.endpoints.push(undefined)
    this.connections.push(new Set())
    this.onlineAt.push(-1)
    this.group.push(this.outside)
    return index
  }

  endpoint (index: number): Endpoint | undefined {
    return this.endpoints[index]
  }

  /** A transport for node `index`, given to its core; the node joins the network when the core starts it. */
  transport (index: number, gate: PeerGate | null): SimulatedTransport {
    return new SimulatedTransport(this, index, gate)
  }

  /** A transport for member `id` (registered if new); `gate`: its node's refusals, applied to its connections. */
  join (id: string, gate?: PeerGate): SimulatedTransport {
    return this.transport(this.member(id), gate ?? null)
  }

  /** Links two members (a network without targetPeers: the caller's topology). */
  link (a: string, b: string): void {
    const from = this.member(a)
    const to = this.member(b)
    if (from === to) return
    ;(this.connections[from] as Set<number>).add(to)
    ;(this.connections[to] as Set<number>).add(from)
  }

  /** Links every pair of these members. */
  linkAll (ids: readonly string[]): void {
    for (const [i, a] of ids.entries()) for (const b of ids.slice(i + 1)) this.link(a, b)
  }

  /** Takes a member off the network while its node runs (a phone losing its signal), or puts it back. */
  setUp (id: string, up: boolean): void {
    const index = this.member(id)
    if (up) this.down.delete(index)
    else this.down.add(index)
  }

  attach (index: number, endpoint: Endpoint): void {
    this.endpoints[index] = endpoint
    this.onlineAt[index] = this.online.length
    this.online.push(index)
    if (this.dialing) this.fill(index)
  }

  detach (index: number): void {
    if (this.endpoints[index] === undefined) return
    this.endpoints[index] = undefined
    const position = this.onlineAt[index] as number
    const last = this.online.pop() as number
    if (last !== index) {
      this.online[position] = last
      this.onlineAt[last] = position
    }
    this.onlineAt[index] = -1
    this.init.links.reset(index)
    if (!this.dialing) return
    const lost = [...(this.connections[index] as Set<number>)]
    ;(this.connections[index] as Set<number>).clear()
    for (const other of lost) (this.connections[other] as Set<number>).delete(index)
    for (const other of lost) this.fill(other)
  }

  /** whether nodes dial peers themselves (targetPeers set) rather than keep the caller's links */
  private get dialing (): boolean {
    return this.init.targetPeers !== undefined
  }

  /** Dials random online nodes until `index` has its target of connections (or there are none left). */
  private fill (index: number): void {
    const targetPeers = this.init.targetPeers ?? 0
    const mine = this.connections[index] as Set<number>
    const target = Math.min(targetPeers, this.online.length - 1)
    // Every draw may hit a node already connected; a few tries per missing connection bound the work.
    const mesh = this.online.length - 1 <= targetPeers
    const accepting = 2 * targetPeers
    for (let tries = 0; mine.size < target && tries < 4 * target + 8; tries++) {
      const other = mesh
        ? this.online.find(candidate => candidate !== index && !mine.has(candidate))
        : this.online[this.random.integer(this.online.length)]
      if (other === undefined) break
      if (other === index || mine.has(other) || (!mesh && (this.connections[other] as Set<number>).size >= accepting)) continue
      mine.add(other)
      ;(this.connections[other] as Set<number>).add(index)
    }
  }

  /** Whether a and b can talk now: both online, connected, in the same partition group, neither refusing the other. */
  connected (a: number, b: number): boolean {
    const from = this.endpoints[a]
    const to = this.endpoints[b]
    return from !== undefined && to !== undefined && (this.connections[a] as Set<number>).has(b) && this.group[a] === this.group[b] &&
      !this.down.has(a) && !this.down.has(b) && from.gate?.isBlocked(to.id) !== true && to.gate?.isBlocked(from.id) !== true
  }

  /** The nodes `index` can talk to now. */
  neighbours (index: number): number[] {
    const result: number[] = []
    for (const other of this.connections[index] as Set<number>) if (this.connected(index, other)) result.push(other)
    return result
  }

  /** Cuts the network into groups (node numbers or member ids); nodes in no group form one more group. */
  partition (groups: ReadonlyArray<ReadonlyArray<number | string>>): void {
    this.outside = groups.length + 1
    this.group.fill(this.outside)
    for (const [g, members] of groups.entries()) for (const node of members) this.group[typeof node === 'number' ? node : this.member(node)] = g + 1
  }

  heal (): void {
    this.outside = 0
    this.group.fill(0)
  }

  /** Whether the next push is lost (pushLoss). */
  losesPush (): boolean {
    const loss = this.init.pushLoss ?? 0
    return loss > 0 && this.losses.next() < loss
  }

  /** A number for a new broadcast message (de-duplication). */
  messageNumber (): number {
    return this.nextMessage++
  }

  /** Delivers a broadcast message that `index` accepted (or authored) on to its neighbours. */
  flood (index: number, author: string, bytes: Uint8Array, message: number, except: number): number {
    let sent = 0
    const from = this.endpoints[index]
    if (from === undefined) return 0
    for (const other of this.neighbours(index)) {
      if (other === except) continue
      sent++
      const { arrivesAt } = this.init.links.send(index, other, bytes.byteLength, this.init.time.now())
      this.init.time.scheduleAt(arrivesAt, () => {
        const to = this.endpoints[other]
        if (to === undefined || to.topic !== 'models' || to.seen.has(message) || !this.connected(index, other)) return
        remember(to.seen, message)
        const verdict = to.handlers.broadcast(author, bytes, from.id)
        if (verdict.ok) this.flood(other, author, bytes, message, index)
      })
    }
    return sent
  }
}

function remember (seen: Set<number>, message: number): void {
  seen.add(message)
  if (seen.size > SEEN_MESSAGES) seen.delete(seen.values().next().value as number)
}

/** The peer id a simulated node goes by. */
export function nodeId (index: number): string {
  return `node-${index}`
}

/** One node's transport port in a simulation. */
export class SimulatedTransport implements Transport {
  constructor (private readonly network: SimulatedNetwork, private readonly index: number, private readonly gate: PeerGate | null) {}

  private get id (): string {
    return this.network.ids[this.index] as string
  }

  async start (handlers: TransportHandlers, topic: GossipTopic): Promise<void> {
    this.network.attach(this.index, { id: this.id, handlers, topic, gate: this.gate, seen: new Set() })
  }

  async stop (): Promise<void> {
    this.network.detach(this.index)
  }

  peers (): string[] {
    return this.network.neighbours(this.index).map(other => this.network.ids[other] as string)
  }

  isConnected (peer: string): boolean {
    const other = this.network.indexOf(peer)
    return other !== undefined && this.network.connected(this.index, other)
  }

  swarmPeers (): string[] {
    return this.peers()
  }

  pushCandidates (): Array<{ peer: string; relayed: boolean }> {
    return this.peers().map(peer => ({ peer, relayed: false }))
  }

  /** The model travels over the sender's uplink and the link; the reply comes back after the link's latency. */
  push (peer: string, bytes: Uint8Array, signal: AbortSignal): Promise<PushOutcome> {
    const network = this.network
    const to = network.indexOf(peer)
    if (to === undefined || !network.connected(this.index, to)) return Promise.reject(new NotConnected(peer))
    const time = network.time
    const latency = network.links.link(this.index, to).latencyMs
    if (network.losesPush()) {
      // A lost push is refused unread, as a busy receiver resets the stream: the sender learns it a
      // round trip later, and its next push to that peer is not held up by a timeout.
      return new Promise<PushOutcome>((_resolve, reject) => {
        network.time.schedule(2 * latency, () => { reject(new PushLost(peer)) })
      })
    }
    const { arrivesAt } = network.links.send(this.index, to, bytes.byteLength, time.now())
    return new Promise<PushOutcome>((resolve, reject) => {
      const onAbort = (): void => {
        time.cancel(delivery)
        reject(signal.reason instanceof Error ? signal.reason : new Error('push aborted'))
      }
      const delivery = time.scheduleAt(arrivesAt, () => {
        const endpoint = network.endpoint(to)
        if (endpoint === undefined || !network.connected(this.index, to)) {
          signal.removeEventListener('abort', onAbort)
          reject(new NotConnected(peer))
          return
        }
        Promise.resolve(endpoint.handlers.push(this.id, bytes)).then(reply => {
          time.schedule(latency, () => {
            signal.removeEventListener('abort', onAbort)
            resolve({ reply, relayed: false })
          })
        }, (error: unknown) => {
          signal.removeEventListener('abort', onAbort)
          reject(error instanceof Error ? error : new Error(String(error)))
        })
      })
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  async publish (bytes: Uint8Array): Promise<number> {
    return this.publishFrom(this.id, bytes)
  }

  /**
   * A simulated sybil's forgery (src/attacks, broadcast mode): the same message published under
   * other authors' names. A transport of a real node cannot do this: gossipsub signs with its key.
   */
  async publishAs (authors: readonly string[], bytes: Uint8Array): Promise<number> {
    let sent = 0
    for (const author of authors) sent += this.publishFrom(author, bytes)
    return sent
  }

  private publishFrom (author: string, bytes: Uint8Array): number {
    const network = this.network
    const mine = network.endpoint(this.index)
    if (mine === undefined) return 0
    if (mine.topic === 'models') {
      const message = network.messageNumber()
      remember(mine.seen, message)
      return network.flood(this.index, author, bytes, message, -1)
    }
    // Announcements are small: they arrive after the link's latency, and are not forwarded further
    // (every node announces to its own neighbours).
    const neighbours = network.neighbours(this.index)
    for (const other of neighbours) {
      const { arrivesAt } = network.links.send(this.index, other, CONTROL_BYTES, network.time.now())
      network.time.scheduleAt(arrivesAt, () => {
        const endpoint = network.endpoint(other)
        if (endpoint !== undefined && network.connected(this.index, other)) endpoint.handlers.announcement(author, bytes)
      })
    }
    return neighbours.length
  }

  /** The request reaches the peer after the link's latency; its model comes back over the peer's uplink. */
  requestModel (peer: string, signal: AbortSignal): Promise<Uint8Array | null> {
    const network = this.network
    const to = network.indexOf(peer)
    if (to === undefined || !network.connected(this.index, to)) return Promise.reject(new NotConnected(peer))
    const time = network.time
    const latency = network.links.link(this.index, to).latencyMs
    return new Promise<Uint8Array | null>((resolve, reject) => {
      let pending = time.schedule(latency, () => {
        const endpoint = network.endpoint(to)
        if (endpoint === undefined || !network.connected(this.index, to) || !endpoint.handlers.admitModelRequest(this.id)) {
          signal.removeEventListener('abort', onAbort)
          reject(new Error(`${peer} did not answer the model request`))
          return
        }
        endpoint.handlers.modelRequest(this.id).then(bytes => {
          const arrivesAt = bytes === null ? time.now() + latency : network.links.send(to, this.index, bytes.byteLength, time.now()).arrivesAt
          pending = time.scheduleAt(arrivesAt, () => {
            signal.removeEventListener('abort', onAbort)
            resolve(bytes)
          })
        }, (error: unknown) => {
          signal.removeEventListener('abort', onAbort)
          reject(error instanceof Error ? error : new Error(String(error)))
        })
      })
      const onAbort = (): void => {
        time.cancel(pending)
        reject(signal.reason instanceof Error ? signal.reason : new Error('model request aborted'))
      }
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** The gate the core shares with this transport already refuses them; nothing more to close. */
  async disconnect (): Promise<void> {}
}
