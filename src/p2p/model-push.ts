import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from 'it-length-prefixed-stream'
import { mayServe } from './admission.js'
import type { Host } from './host.js'

/**
 * Direct model transfer: a node pushes its model (an encoded update) to a peer over a stream of its
 * own, and the peer answers with one byte. Unlike gossip, the bytes a node sends per exchange depend
 * on its fanout, not on the size of the swarm.
 */
export const MODEL_PUSH_PROTOCOL = '/murmur/push/1.0.0'

/** The receiver's answer to a push. */
export type PushReply =
  /** merged, or queued for the next merge */
  | 'accepted'
  /** the update was a difference from a reconstruction the receiver does not have: send from a known base */
  | 'resync'
  /** invalid; counted by reason on the receiving side */
  | 'rejected'

const REPLY_CODES: readonly PushReply[] = ['accepted', 'resync', 'rejected']

export interface PushHandlerOptions {
  /** refuse pushes larger than this before reading them */
  readonly maxBytes: number
  /** streams served at once per connection; more are refused by libp2p (backpressure on senders) */
  readonly maxInboundStreams: number
  /** streams served at once by the node over all connections; more are reset unread (default unbounded) */
  readonly maxConcurrent?: number
  /** a push was reset unread because `maxConcurrent` were being served */
  readonly onBusy?: (from: string) => void
  readonly timeoutMs: number
  readonly onPush: (from: string, bytes: Uint8Array) => PushReply | Promise<PushReply>
}

export async function handlePushes (host: Host, options: PushHandlerOptions): Promise<void> {
  let serving = 0
  await host.handle(MODEL_PUSH_PROTOCOL, ({ stream, connection }) => {
    if (serving >= (options.maxConcurrent ?? Infinity)) {
      // Memory and decoding work stay bounded however many peers push at once: the sender sees a failed push.
      options.onBusy?.(connection.remotePeer.toString())
      stream.abort(new Error('too many pushes at once'))
      return
    }
    serving++
    const signal = AbortSignal.timeout(options.timeoutMs)
    const serve = async (): Promise<void> => {
      // In a private swarm, only a peer that proved it holds the key is heard (admission.ts).
      if (!await mayServe(host.services.admission, connection.remotePeer, signal)) throw new Error('push refused: the peer is not admitted')
      const lp = lpStream(stream, { maxDataLength: options.maxBytes })
      const bytes = (await lp.read({ signal })).subarray()
      const reply = await options.onPush(connection.remotePeer.toString(), bytes)
      await lp.write(Uint8Array.of(REPLY_CODES.indexOf(reply)), { signal })
      await stream.close({ signal })
    }
    serve()
      .catch((error: unknown) => { stream.abort(error instanceof Error ? error : new Error(String(error))) })
      .finally(() => { serving-- })
  }, {
    maxInboundStreams: options.maxInboundStreams,
    maxOutboundStreams: 4,
    // Senders push over a relay only what fits in its data limit (relay-allowance.ts); maxBytes still applies.
    runOnLimitedConnection: true
  })
}

/**
 * Sends one update to a peer, dialling it if needed, and resolves to its answer; rejects on timeout
 * or a broken stream. The protocol is negotiated before the model goes: a peer that refuses this host
 * (a connection gater's denial after the handshake) then fails the push at once, where an optimistic
 * write would wait for the connection's end (about 0.6 s on loopback).
 */
export async function pushModel (host: Host, peer: PeerId, bytes: Uint8Array, signal: AbortSignal): Promise<PushReply> {
  return exchange(await host.dialProtocol(peer, MODEL_PUSH_PROTOCOL, { signal }), bytes, signal)
}

// A push over an open connection writes before it reads, so the protocol's name goes out with the
// model (multistream-select's optimistic select) instead of a round trip ahead of it: on a host whose
// nodes share few cores, every round trip waits for a busy peer's event loop, and a peer still busy
// with the previous push gets none (push-exchange.ts). A peer that does not speak the protocol fails
// the read, as a refused push does.
const OPTIMISTIC = { negotiateFully: false } as const

/**
 * Sends one update over a given connection, relayed (limited) ones included: the caller has checked
 * that it fits in what the relay allows (see relay-allowance.ts).
 */
export async function pushModelOver (connection: Connection, bytes: Uint8Array, signal: AbortSignal): Promise<PushReply> {
  return exchange(await connection.newStream(MODEL_PUSH_PROTOCOL, { signal, runOnLimitedConnection: true, ...OPTIMISTIC }), bytes, signal)
}

async function exchange (stream: Stream, bytes: Uint8Array, signal: AbortSignal): Promise<PushReply> {
  try {
    const lp = lpStream(stream, { maxDataLength: 1 })
    await lp.write(bytes, { signal })
    const answer = (await lp.read({ signal })).subarray()
    await stream.close({ signal })
    const reply = REPLY_CODES[answer[0] ?? 255]
    if (reply === undefined) throw new Error('the peer answered with an unknown code')
    return reply
  } catch (error) {
    stream.abort(error instanceof Error ? error : new Error(String(error)))
    throw error
  }
}
