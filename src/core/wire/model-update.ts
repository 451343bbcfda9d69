import { MurmurError } from '../../errors.js'
import { Announcement, ModelUpdate } from './update-message.js'

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
  /** 0: the values are the weights; 1: a difference from the initial weights; n ≥ 2: from the receiver's reconstruction n */
  readonly base: number
}

export function encodeModelUpdate (update: ModelUpdateMessage): Uint8Array {
  return ModelUpdate.encode({
    protocolVersion: update.protocolVersion,
    swarmId: update.swarmId,
    step: BigInt(update.step),
    samples: BigInt(update.samples),
    codec: update.codec,
    tensors: update.tensors.map(tensor => ({ shape: [...tensor.shape], data: tensor.data })),
    createdAt: BigInt(update.createdAt),
    base: BigInt(update.base)
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
    createdAt: safeNumber(decoded.createdAt, 'createdAt'),
    base: safeNumber(decoded.base, 'base')
  }
}

/** A node's small public note after each exchange (gossipsub): it is in the swarm, and how far along. */
export interface AnnouncementMessage {
  readonly protocolVersion: number
  readonly swarmId: string
  readonly step: number
  readonly samples: number
  readonly createdAt: number
}

export const MAX_ANNOUNCEMENT_BYTES = 512

export function encodeAnnouncement (announcement: AnnouncementMessage): Uint8Array {
  return Announcement.encode({
    protocolVersion: announcement.protocolVersion,
    swarmId: announcement.swarmId,
    step: BigInt(announcement.step),
    samples: BigInt(announcement.samples),
    createdAt: BigInt(announcement.createdAt)
  })
}

export function decodeAnnouncement (bytes: Uint8Array): AnnouncementMessage {
  if (bytes.byteLength > MAX_ANNOUNCEMENT_BYTES) throw new MurmurError('ERR_INVALID_UPDATE', `announcement of ${bytes.byteLength} bytes, more than ${MAX_ANNOUNCEMENT_BYTES}`)
  let decoded: Announcement
  try {
    decoded = Announcement.decode(bytes)
  } catch (error) {
    throw new MurmurError('ERR_INVALID_UPDATE', `malformed announcement: ${error instanceof Error ? error.message : String(error)}`)
  }
  return {
    protocolVersion: decoded.protocolVersion,
    swarmId: decoded.swarmId,
    step: safeNumber(decoded.step, 'step'),
    samples: safeNumber(decoded.samples, 'samples'),
    createdAt: safeNumber(decoded.createdAt, 'createdAt')
  }
}
