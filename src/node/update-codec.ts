import { MurmurError, isMurmurError } from '../errors.js'
import { decodeValues, encodeValues, encodedSize, isWeightCodec, type WeightCodec } from '../learning/weight-codec.js'
import { tensorSize, type Weights } from '../learning/weights.js'
import { PROTOCOL_VERSION, decodeModelUpdate, encodeModelUpdate } from '../p2p/model-update.js'

/** A model update that passed every check: safe to merge. */
export interface ModelUpdate {
  readonly swarmId: string
  readonly step: number
  readonly samples: number
  readonly weights: Weights
  readonly createdAt: number
}

/** Why an update was refused; counted per reason in /status and /metrics. */
export const REJECTION_REASONS = [
  'too-large', 'malformed', 'protocol-version', 'wrong-swarm', 'unknown-codec', 'shape-mismatch', 'non-finite'
] as const
export type RejectionReason = typeof REJECTION_REASONS[number]

export type UpdateVerdict = { readonly ok: true; readonly value: ModelUpdate } | { readonly ok: false; readonly reason: RejectionReason; readonly detail: string }

/** What a node expects of every update in its swarm. */
export interface UpdateExpectations {
  readonly swarmId: string
  readonly shapes: ReadonlyArray<readonly number[]>
  readonly codec: WeightCodec
}

/** Room for the envelope (ids, counters, shapes) around the tensor bytes. */
const ENVELOPE_ALLOWANCE = 4096

export function maxUpdateBytes (expectations: UpdateExpectations): number {
  return expectations.shapes.reduce((total, shape) => total + encodedSize(tensorSize(shape), expectations.codec) + 16, ENVELOPE_ALLOWANCE)
}

export function encodeUpdate (update: ModelUpdate, codec: WeightCodec): Uint8Array {
  return encodeModelUpdate({
    protocolVersion: PROTOCOL_VERSION,
    swarmId: update.swarmId,
    step: update.step,
    samples: update.samples,
    codec,
    tensors: update.weights.map(tensor => ({ shape: tensor.shape, data: encodeValues(tensor.values, codec) })),
    createdAt: update.createdAt
  })
}

function reject (reason: RejectionReason, detail: string): UpdateVerdict {
  return { ok: false, reason, detail }
}

/**
 * Checks an update from the network, cheapest checks first: size before decoding, then envelope,
 * then shapes, then every value. Never throws: whatever a peer sends becomes a verdict.
 */
export function validateUpdate (bytes: Uint8Array, expectations: UpdateExpectations): UpdateVerdict {
  const limit = maxUpdateBytes(expectations)
  if (bytes.byteLength > limit) return reject('too-large', `${bytes.byteLength} bytes, more than the ${limit} this swarm's model needs`)
  let message
  try {
    message = decodeModelUpdate(bytes, { maxTensors: expectations.shapes.length })
  } catch (error) {
    return reject('malformed', isMurmurError(error) ? error.message : String(error))
  }
  if (message.protocolVersion !== PROTOCOL_VERSION) return reject('protocol-version', `version ${message.protocolVersion}, this node speaks ${PROTOCOL_VERSION}`)
  if (message.swarmId !== expectations.swarmId) return reject('wrong-swarm', `swarm ${message.swarmId}`)
  if (!isWeightCodec(message.codec) || message.codec !== expectations.codec) return reject('unknown-codec', `codec "${message.codec}"`)
  if (message.tensors.length !== expectations.shapes.length) return reject('shape-mismatch', `${message.tensors.length} tensors, expected ${expectations.shapes.length}`)
  const weights = []
  for (const [index, tensor] of message.tensors.entries()) {
    const expected = expectations.shapes[index] ?? []
    if (tensor.shape.length !== expected.length || tensor.shape.some((size, axis) => size !== expected[axis])) {
      return reject('shape-mismatch', `tensor ${index} has shape [${tensor.shape.join(', ')}], expected [${expected.join(', ')}]`)
    }
    let values
    try {
      values = decodeValues(tensor.data, message.codec, tensorSize(expected))
    } catch (error) {
      return reject('malformed', `tensor ${index}: ${error instanceof MurmurError ? error.message : String(error)}`)
    }
    if (!values.every(Number.isFinite)) return reject('non-finite', `tensor ${index} holds NaN or infinite values`)
    weights.push({ shape: [...expected], values })
  }
  return { ok: true, value: { swarmId: message.swarmId, step: message.step, samples: message.samples, weights, createdAt: message.createdAt } }
}
