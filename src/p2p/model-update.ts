import { MurmurError } from '../errors.js'
import { ModelUpdate } from './update-message.js'

/** Version of the wire format in docs/protocol.md; bump it on any incompatible change. */
export const PROTOCOL_VERSION = 1

/** An update as plain data, before or after the protobuf encoding. */
export interface ModelUpdateMessage {
  readonly protocolVersion: number
  readonly swarmId: string
  readonly step: number
  readonly samples: number
  readonly codec: string
  readonly tensors: ReadonlyArray<{ readonly shape: readonly number[]; readonly data: Uint8Array }>
  readonly createdAt: number
}

export function encodeModelUpdate (update: ModelUpdateMessage): Uint8Array {
  return ModelUpdate.encode({
    protocolVersion: update.protocolVersion,
    swarmId: update.swarmId,
    step: BigInt(update.step),
    samples: BigInt(update.samples),
    codec: update.codec,
    tensors: update.tensors.map(tensor => ({ shape: [...tensor.shape], data: tensor.data })),
    createdAt: BigInt(update.createdAt)
  })
}

export interface DecodeLimits {
  /** most tensors an update may list; bounds the work a hostile message can cause */
  readonly maxTensors: number
}

function safeNumber (value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new MurmurError('ERR_INVALID_UPDATE', `${field} is out of range`)
  return Number(value)
}

/** Decodes the protobuf bytes; throws ERR_INVALID_UPDATE on anything that is not a well-formed update. */
export function decodeModelUpdate (bytes: Uint8Array, limits: DecodeLimits): ModelUpdateMessage {
  let decoded: ModelUpdate
  try {
    decoded = ModelUpdate.decode(bytes, { limits: { tensors: limits.maxTensors } })
  } catch (error) {
    throw new MurmurError('ERR_INVALID_UPDATE', `malformed update: ${error instanceof Error ? error.message : String(error)}`)
  }
  return {
    protocolVersion: decoded.protocolVersion,
    swarmId: decoded.swarmId,
    step: safeNumber(decoded.step, 'step'),
    samples: safeNumber(decoded.samples, 'samples'),
    codec: decoded.codec,
    tensors: decoded.tensors.map(tensor => ({ shape: tensor.shape, data: tensor.data })),
    createdAt: safeNumber(decoded.createdAt, 'createdAt')
  }
}
