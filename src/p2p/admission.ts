import { hmac } from '@noble/hashes/hmac'
import { sha256 } from '@noble/hashes/sha2'
import type { Connection, PeerId, Startable, Stream, TypedEventTarget, Libp2pEvents, ComponentLogger, Logger } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import { lpStream } from 'it-length-prefixed-stream'

/**
 * Application-level admission to a private swarm.
 *
 * libp2p's pre-shared key (pnet) encrypts TCP, WebSockets and relayed connections, but WebRTC and
 * WebTransport connections skip the connection protector: a browser tab that can reach a member
 * through WebRTC would otherwise be served like a member. So with a swarm key, every connection,
 * whatever its transport, must also pass this challenge-response before any murmur protocol or gossip
 * gives it anything: uniform rules are simpler to trust than a list of transports pnet happens to cover,
 * and the cost is one round trip and two HMACs per connection.
 *
 * Protocol /murmur/admission/1.0.0, opened by the dialling side of each connection, messages
 * length-prefixed:
 *   dialer → listener: nonceD (32 random bytes)
 *   listener → dialer: nonceL ‖ HMAC(K, "listener" ‖ dialerId ‖ listenerId ‖ nonceD ‖ nonceL)
 *   dialer → listener: HMAC(K, "dialer" ‖ dialerId ‖ listenerId ‖ nonceD ‖ nonceL)
 * K = SHA-256("murmur admission key v1" ‖ swarm key file). The peer ids are those the connection's
 * encryption authenticated (noise), so a proof cannot be replayed on another connection or relayed
 * for another peer; the fresh nonces of both sides prevent replay on the same pair; the role labels
 * keep one side's proof from serving as the other's.
 *
 * A connection that does not complete it within `timeoutMs` (an outsider that does not speak the
 * protocol, or stalls) or answers wrongly is closed and counted. Until a peer is admitted, the murmur
 * protocols refuse it (`settled`), gossipsub neither sends to it nor takes models from it (its score,
 * see host.ts), and it is no push candidate.
 */
export const ADMISSION_PROTOCOL = '/murmur/admission/1.0.0'

const NONCE_BYTES = 32
const MAC_BYTES = 32
const DEFAULT_TIMEOUT_MS = 5_000
const KEY_LABEL = new TextEncoder().encode('murmur admission key v1')
const DIALER = new TextEncoder().encode('dialer')
const LISTENER = new TextEncoder().encode('listener')

export interface AdmissionInit {
  /** the swarm key, as parseSwarmKey returns it */
  readonly swarmKey: Uint8Array
  /** how long a connection may stay unproven before it is closed (default 5000 ms) */
  readonly timeoutMs?: number
}

export interface AdmissionCounts {
  /** connections whose peer proved it holds the key */
  readonly admitted: number
  /** connections whose peer answered with a wrong proof, or did not speak the protocol */
  readonly refused: number
  /** connections closed because the peer did not prove anything in time */
  readonly timedOut: number
}

export interface Admission {
  /** whether the peer has at least one open connection that passed admission */
  isAdmitted: (peer: PeerId | string) => boolean
  /**
   * Resolves once the peer's admission is decided: true when admitted, false when it failed or the
   * peer has no connection being admitted. A stream handler awaits it, so an honest peer's first
   * stream, which can overtake the admission exchange, is served and not refused.
   */
  settled: (peer: PeerId | string, signal?: AbortSignal) => Promise<boolean>
  counts: () => AdmissionCounts
}

interface AdmissionComponents {
  peerId: PeerId
  registrar: Registrar
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

interface Pending {
  readonly decided: Promise<boolean>
  readonly decide: (admitted: boolean) => void
  readonly peer: string
}

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

/** Compares two MACs in time independent of where they differ. */
function equalMacs (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  let difference = 0
  for (let index = 0; index < a.byteLength; index++) difference |= (a[index] as number) ^ (b[index] as number)
  return difference === 0
}

function randomNonce (): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES))
}

/** The admission key of a swarm key: a key of its own, never the bytes pnet encrypts with. */
export function admissionKey (swarmKey: Uint8Array): Uint8Array {
  return sha256(concat(KEY_LABEL, swarmKey))
}

/** The proof one side gives on one connection. */
export function admissionProof (key: Uint8Array, role: 'dialer' | 'listener', dialer: PeerId, listener: PeerId, dialerNonce: Uint8Array, listenerNonce: Uint8Array): Uint8Array {
  return hmac(sha256, key, concat(role === 'dialer' ? DIALER : LISTENER, dialer.toMultihash().bytes, listener.toMultihash().bytes, dialerNonce, listenerNonce))
}

class AdmissionService implements Admission, Startable {
  private readonly components: AdmissionComponents
  private readonly key: Uint8Array
  private readonly timeoutMs: number
  private readonly log: Logger
  /** connection id → its admission in progress or decided */
  private readonly pending = new Map<string, Pending>()
  /** peer → number of its open connections that passed */
  private readonly admittedPeers = new Map<string, number>()
  private readonly admittedConnections = new Set<string>()
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private count = { admitted: 0, refused: 0, timedOut: 0 }
  private readonly onOpen = (event: CustomEvent<Connection>): void => { this.admit(event.detail) }
  private readonly onClose = (event: CustomEvent<Connection>): void => { this.forget(event.detail) }

  constructor (components: AdmissionComponents, init: AdmissionInit) {
    this.components = components
    this.key = admissionKey(init.swarmKey)
    this.timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.log = components.logger.forComponent('murmur:admission')
  }

  readonly [Symbol.toStringTag] = 'murmur/admission'

  async start (): Promise<void> {
    await this.components.registrar.handle(ADMISSION_PROTOCOL, ({ stream, connection }) => {
      this.answer(stream, connection).catch((error: unknown) => { this.log('answering %p failed: %e', connection.remotePeer, error) })
    }, { runOnLimitedConnection: true, maxInboundStreams: 1, maxOutboundStreams: 1 })
    this.components.events.addEventListener('connection:open', this.onOpen)
    this.components.events.addEventListener('connection:close', this.onClose)
  }

  async stop (): Promise<void> {
    this.components.events.removeEventListener('connection:open', this.onOpen)
    this.components.events.removeEventListener('connection:close', this.onClose)
    await this.components.registrar.unhandle(ADMISSION_PROTOCOL)
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    for (const entry of this.pending.values()) entry.decide(false)
    this.pending.clear()
  }

  isAdmitted (peer: PeerId | string): boolean {
    return (this.admittedPeers.get(peer.toString()) ?? 0) > 0
  }

  async settled (peer: PeerId | string, signal?: AbortSignal): Promise<boolean> {
    const id = peer.toString()
    if (this.isAdmitted(id)) return true
    const waiting = [...this.pending.values()].filter(entry => entry.peer === id).map(async entry => entry.decided)
    if (waiting.length === 0) return false
    const aborted = new Promise<boolean>(resolve => {
      if (signal?.aborted === true) resolve(false)
      signal?.addEventListener('abort', () => { resolve(false) }, { once: true })
    })
    // Admitted on any of its connections is enough.
    const any = Promise.all(waiting.map(async decided => { if (await decided) throw new Error('admitted') })).then(() => false, () => true)
    return Promise.race([any, aborted])
  }

  counts (): AdmissionCounts {
    return { ...this.count }
  }

  /** The entry of a connection's admission, made by whichever comes first: the open event or the peer's stream. */
  private entry (connection: Connection): Pending {
    const existing = this.pending.get(connection.id)
    if (existing !== undefined) return existing
    let decide: (admitted: boolean) => void = () => {}
    const decided = new Promise<boolean>(resolve => { decide = resolve })
    const entry: Pending = { decided, decide, peer: connection.remotePeer.toString() }
    this.pending.set(connection.id, entry)
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.conclude(connection, false, 'timedOut')
    }, this.timeoutMs)
    this.timers.add(timer)
    decided.finally(() => {
      clearTimeout(timer)
      this.timers.delete(timer)
    }).catch(() => {})
    return entry
  }

  private admit (connection: Connection): void {
    this.entry(connection)
    if (connection.direction !== 'outbound') return
    this.prove(connection).then(
      admitted => { this.conclude(connection, admitted, 'refused') },
      (error: unknown) => {
        this.log('admission to %p failed: %e', connection.remotePeer, error)
        this.conclude(connection, false, 'refused')
      })
  }

  /** Dialer side: challenge the listener, check its proof, prove in turn. */
  private async prove (connection: Connection): Promise<boolean> {
    const signal = AbortSignal.timeout(this.timeoutMs)
    const stream = await connection.newStream(ADMISSION_PROTOCOL, { signal, runOnLimitedConnection: true })
    try {
      const lp = lpStream(stream, { maxDataLength: NONCE_BYTES + MAC_BYTES })
      const dialerNonce = randomNonce()
      await lp.write(dialerNonce, { signal })
      const answer = (await lp.read({ signal })).subarray()
      if (answer.byteLength !== NONCE_BYTES + MAC_BYTES) throw new Error('malformed admission answer')
      const listenerNonce = answer.subarray(0, NONCE_BYTES)
      const expected = admissionProof(this.key, 'listener', this.components.peerId, connection.remotePeer, dialerNonce, listenerNonce)
      if (!equalMacs(answer.subarray(NONCE_BYTES), expected)) {
        stream.abort(new Error('wrong admission proof'))
        return false
      }
      await lp.write(admissionProof(this.key, 'dialer', this.components.peerId, connection.remotePeer, dialerNonce, listenerNonce), { signal })
      await stream.close({ signal })
      return true
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)))
      throw error
    }
  }

  /** Listener side: answer the dialer's challenge with a proof, then check the dialer's. */
  private async answer (stream: Stream, connection: Connection): Promise<void> {
    this.entry(connection)
    if (connection.direction !== 'inbound') {
      stream.abort(new Error('the dialer proves first'))
      return
    }
    const signal = AbortSignal.timeout(this.timeoutMs)
    let admitted = false
    try {
      const lp = lpStream(stream, { maxDataLength: NONCE_BYTES + MAC_BYTES })
      const dialerNonce = (await lp.read({ signal })).subarray()
      if (dialerNonce.byteLength !== NONCE_BYTES) throw new Error('malformed admission challenge')
      const listenerNonce = randomNonce()
      await lp.write(concat(listenerNonce, admissionProof(this.key, 'listener', connection.remotePeer, this.components.peerId, dialerNonce, listenerNonce)), { signal })
      const proof = (await lp.read({ signal })).subarray()
      admitted = equalMacs(proof, admissionProof(this.key, 'dialer', connection.remotePeer, this.components.peerId, dialerNonce, listenerNonce))
      await stream.close({ signal }).catch(() => {})
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)))
    }
    this.conclude(connection, admitted, 'refused')
  }

  private conclude (connection: Connection, admitted: boolean, failure: 'refused' | 'timedOut'): void {
    const entry = this.pending.get(connection.id)
    if (entry === undefined || this.admittedConnections.has(connection.id)) return
    if (admitted) {
      this.admittedConnections.add(connection.id)
      this.admittedPeers.set(entry.peer, (this.admittedPeers.get(entry.peer) ?? 0) + 1)
      this.count.admitted++
      entry.decide(true)
      return
    }
    // A connection that closed on its own (the peer left) is not a refusal.
    this.pending.delete(connection.id)
    entry.decide(false)
    if (connection.status !== 'open') return
    this.count[failure]++
    this.log('closing the connection to %p: %s', connection.remotePeer, failure === 'timedOut' ? 'no admission proof in time' : 'wrong admission proof')
    connection.abort(new Error(failure === 'timedOut' ? 'no admission proof in time' : 'admission refused'))
  }

  private forget (connection: Connection): void {
    const entry = this.pending.get(connection.id)
    if (entry === undefined) return
    this.pending.delete(connection.id)
    entry.decide(false)
    if (this.admittedConnections.delete(connection.id)) {
      const left = (this.admittedPeers.get(entry.peer) ?? 1) - 1
      if (left > 0) this.admittedPeers.set(entry.peer, left)
      else this.admittedPeers.delete(entry.peer)
    }
  }
}

/** The admission service for libp2p's services map. */
export function admission (init: AdmissionInit): (components: AdmissionComponents) => Admission {
  return components => new AdmissionService(components, init)
}

/**
 * Whether `peer` may be served: admitted, or (without admission, a swarm without a key) anyone.
 * Awaits a pending admission, bounded by the signal.
 */
export async function mayServe (admissionService: Admission | undefined, peer: PeerId | string, signal?: AbortSignal): Promise<boolean> {
  return admissionService === undefined || admissionService.settled(peer, signal)
}
