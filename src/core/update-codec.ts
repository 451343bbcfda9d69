import { isMurmurError } from '../errors.js'
import { decodeValues, encodeValues, formatCodec, maxEncodedSize, parseCodec, type WeightCodec } from '../learning/weight-codec.js'
import { tensorSize, type Weights } from '../learning/weights.js'
import { PROTOCOL_VERSION, decodeModelUpdate, encodeModelUpdate } from './wire/model-update.js'

/** A model update whose values are the weights themselves (base 0), after every check. */
export interface ModelUpdate {
  readonly swarmId: string
  readonly step: number
  readonly samples: number
  readonly weights: Weights
  readonly createdAt: number
}

/** An update after every check, whatever its base: the decoded values are weights (base 0) or differences. */
export interface DecodedUpdate {
  readonly swarmId: string
  readonly step: number
  readonly samples: number
  readonly createdAt: number
  readonly base: number
  readonly codec: WeightCodec
  readonly values: Weights
}

/** Why an update was refused; counted per reason in /status and /metrics. */
export const REJECTION_REASONS = [
  'too-large', 'malformed', 'protocol-version', 'wrong-swarm', 'unknown-codec', 'shape-mismatch', 'non-finite',
  // decided by the node's intake guard rather than the format
  'rate-limited', 'implausible-norm',
  // broadcast mode: decided by who signed the message (docs/protocol.md, section 10.1, step 0)
  'blocked-author', 'not-a-neighbour'
] as const
export type RejectionReason = typeof REJECTION_REASONS[number]

export type Verdict<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: RejectionReason; readonly detail: string }
export type UpdateVerdict = Verdict<ModelUpdate>

/** What a node expects of every update in its swarm. */
export interface UpdateExpectations {
  readonly swarmId: string
  readonly shapes: ReadonlyArray<readonly number[]>
}

/** Room for the envelope (ids, counters, shapes) around the tensor bytes. */
const ENVELOPE_ALLOWANCE = 4096
/** The codec with the largest encoding: every value kept, with its index. */
const LARGEST_CODEC: WeightCodec = { kind: 'topk', fraction: 1 }

/** The largest update of this swarm's model under any codec: anything bigger is refused unread. */
export function maxUpdateBytes (expectations: UpdateExpectations): number {
  return expectations.shapes.reduce((total, shape) => total + maxEncodedSize(tensorSize(shape), LARGEST_CODEC) + 16, ENVELOPE_ALLOWANCE)
}

export interface OutgoingUpdate {
  readonly swarmId: string
  readonly step: number
  readonly samples: number
  readonly createdAt: number
  /** see docs/protocol.md: 0 = weights, 1 = difference from the initial weights, n ≥ 2 = from reconstruction n */
  readonly base: number
  /** the tensors' values, already encoded with the codec */
  readonly data: readonly Uint8Array[]
  readonly shapes: ReadonlyArray<readonly number[]>
}

export function encodeUpdateMessage (update: OutgoingUpdate, codec: WeightCodec): Uint8Array {
  return encodeModelUpdate({
    protocolVersion: PROTOCOL_VERSION,
    swarmId: update.swarmId,
    step: update.step,
    samples: update.samples,
    codec: formatCodec(codec),
    tensors: update.data.map((data, index) => ({ shape: update.shapes[index] ?? [], data })),
    createdAt: update.createdAt,
    base: update.base
  })
}

/** Encodes a full model (base 0), for gossip broadcast, checkpoints, /model and warm joins. */
export function encodeUpdate (update: ModelUpdate, codec: WeightCodec = { kind: 'fp32' }): Uint8Array {
  return encodeUpdateMessage({
    ...update,
    base: 0,
    data: update.weights.map(tensor => encodeValues(tensor.values, codec)),
    shapes: update.weights.map(tensor => tensor.shape)
  }, codec)
}

function reject<T> (reason: RejectionReason, detail: string): Verdict<T> {
  return { ok: false, reason, detail }
}

/**
 * Checks an update from the network, cheapest checks first: size before decoding, then envelope,
 * then shapes, then every value. Never throws: whatever a peer sends becomes a verdict.
 */
export function decodeUpdate (bytes: Uint8Array, expectations: UpdateExpectations): Verdict<DecodedUpdate> {
  const limit = maxUpdateBytes(expectations)
  if (bytes.byteLength > limit) return reject('too-large', `${bytes.byteLength} bytes, more than the ${limit} this swarm's model can need`)
  let message
  try {
    message = decodeModelUpdate(bytes, { maxTensors: expectations.shapes.length })
  } catch (error) {
    return reject('malformed', isMurmurError(error) ? error.message : String(error))
  }
  if (message.protocolVersion !== PROTOCOL_VERSION) return reject('protocol-version', `version ${message.protocolVersion}, this node speaks ${PROTOCOL_VERSION}`)
  if (message.swarmId !== expectations.swarmId) return reject('wrong-swarm', `swarm ${message.swarmId}`)
  let codec: WeightCodec
  try {
    codec = parseCodec(message.codec)
  } catch {
    return reject('unknown-codec', `codec "${message.codec}"`)
  }
  if (message.tensors.length !== expectations.shapes.length) return reject('shape-mismatch', `${message.tensors.length} tensors, expected ${expectations.shapes.length}`)
  const values = []
  for (const [index, tensor] of message.tensors.entries()) {
    const expected = expectations.shapes[index] ?? []
    if (tensor.shape.length !== expected.length || tensor.shape.some((size, axis) => size !== expected[axis])) {
      return reject('shape-mismatch', `tensor ${index} has shape [${tensor.shape.join(', ')}], expected [${expected.join(', ')}]`)
    }
    let decoded
    try {
      decoded = decodeValues(tensor.data, codec, tensorSize(expected))
    } catch (error) {
      return reject('malformed', `tensor ${index}: ${isMurmurError(error) ? error.message : String(error)}`)
    }
    if (!finite(decoded)) return reject('non-finite', `tensor ${index} holds NaN or infinite values`)
    values.push({ shape: [...expected], values: decoded })
  }
  return { ok: true, value: { swarmId: message.swarmId, step: message.step, samples: message.samples, createdAt: message.createdAt, base: message.base, codec, values } }
}

/** Whether every value is a finite number: an indexed loop, as every received value passes here (a callback per value was a thirteenth of a 3,000-phone simulation). */
function finite (values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false
  return true
}

/** Checks an update that must hold full weights (base 0), as checkpoints, /model answers and gossip broadcasts do. */
export function validateUpdate (bytes: Uint8Array, expectations: UpdateExpectations): UpdateVerdict {
  const verdict = decodeUpdate(bytes, expectations)
  if (!verdict.ok) return verdict
  if (verdict.value.base !== 0) return reject('malformed', `base ${verdict.value.base} where full weights (base 0) were expected`)
  const { swarmId, step, samples, createdAt, values } = verdict.value
  return { ok: true, value: { swarmId, step, samples, createdAt, weights: values } }
}
