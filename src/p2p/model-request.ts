import type { PeerId } from '@libp2p/interface'
import { lpStream } from 'it-length-prefixed-stream'
import { mayServe } from './admission.js'
import type { Host } from './host.js'

/**
 * Request/response protocol for a peer's current model: a node that joins late, or whose state is
 * gone, asks a peer for the swarm's model instead of starting again from the initial weights.
 * Request: the swarm id (UTF-8), length-prefixed. Response: an encoded update, length-prefixed, or
 * an empty message when the peer has no model of that swarm.
 */
export const MODEL_REQUEST_PROTOCOL = '/murmur/model/1.0.0'

const MAX_SWARM_ID_BYTES = 128
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export interface ModelServerOptions {
  readonly swarmId: string
  /** the node's current model for the peer that asked, encoded; null before it has one */
  readonly model: (from: string) => Promise<Uint8Array | null>
  /** how long a request may take before the stream is dropped */
  readonly timeoutMs?: number
  /** whether `from` may have an answer now (a rate limit); a refused request's stream is reset unanswered */
  readonly admit?: (from: string) => boolean
  /** requests answered at once over all connections; more are reset (default 4) */
  readonly maxConcurrent?: number
  /** a request was refused: over its rate, or too many at once */
  readonly onRefused?: (from: string) => void
}

/** Answers model requests for one swarm. */
export async function serveModel (host: Host, options: ModelServerOptions): Promise<void> {
  let serving = 0
  await host.handle(MODEL_REQUEST_PROTOCOL, ({ stream, connection }) => {
    const from = connection.remotePeer.toString()
    if (serving >= (options.maxConcurrent ?? 4) || !(options.admit?.(from) ?? true)) {
      options.onRefused?.(from)
      stream.abort(new Error('model request refused: over the rate'))
      return
    }
    serving++
    const signal = AbortSignal.timeout(options.timeoutMs ?? 10_000)
    const answer = async (): Promise<void> => {
      // In a private swarm, only a peer that proved it holds the key gets a model (admission.ts).
      if (!await mayServe(host.services.admission, connection.remotePeer, signal)) throw new Error('model request refused: the peer is not admitted')
      const lp = lpStream(stream, { maxDataLength: MAX_SWARM_ID_BYTES })
      const requested = decoder.decode((await lp.read({ signal })).subarray())
      const model = requested === options.swarmId ? await options.model(from) : null
      await lp.write(model ?? new Uint8Array(0), { signal })
      await stream.close({ signal })
    }
    answer()
      .catch((error: unknown) => { stream.abort(error instanceof Error ? error : new Error(String(error))) })
      .finally(() => { serving-- })
  }, { runOnLimitedConnection: false, maxInboundStreams: 2 })
}

export interface ModelRequestOptions {
  readonly swarmId: string
  /** refuse answers larger than this before reading them */
  readonly maxBytes: number
  readonly signal: AbortSignal
}

/** Asks one peer for its model; resolves to the encoded update, or null if it has none. */
export async function requestModel (host: Host, peer: PeerId, options: ModelRequestOptions): Promise<Uint8Array | null> {
  if (!await mayServe(host.services.admission, peer, options.signal)) throw new Error(`${peer.toString()} is not admitted to the swarm`)
  const stream = await host.dialProtocol(peer, MODEL_REQUEST_PROTOCOL, { signal: options.signal })
  try {
    const lp = lpStream(stream, { maxDataLength: options.maxBytes })
    await lp.write(encoder.encode(options.swarmId), { signal: options.signal })
    const answer = (await lp.read({ signal: options.signal })).subarray()
    await stream.close({ signal: options.signal })
    return answer.byteLength === 0 ? null : answer
  } catch (error) {
    stream.abort(error instanceof Error ? error : new Error(String(error)))
    throw error
  }
}
