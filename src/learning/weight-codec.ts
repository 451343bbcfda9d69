import { MurmurError } from '../errors.js'

/**
 * How a tensor's values become bytes on the wire. Only full precision for now; the codec is named in
 * every update so that compressed codecs can join without a new protocol version.
 */
export const WEIGHT_CODECS = ['fp32'] as const
export type WeightCodec = typeof WEIGHT_CODECS[number]

export function isWeightCodec (name: string): name is WeightCodec {
  return (WEIGHT_CODECS as readonly string[]).includes(name)
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** fp32: IEEE 754 single precision, little-endian. */
export function encodeValues (values: Float32Array, codec: WeightCodec): Uint8Array {
  void codec
  if (littleEndian) return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength))
  const bytes = new Uint8Array(values.length * 4)
  const view = new DataView(bytes.buffer)
  values.forEach((value, index) => { view.setFloat32(index * 4, value, true) })
  return bytes
}

export function decodeValues (bytes: Uint8Array, codec: WeightCodec, count: number): Float32Array {
  void codec
  if (bytes.byteLength !== count * 4) {
    throw new MurmurError('ERR_INVALID_UPDATE', `expected ${count * 4} bytes of fp32 values, got ${bytes.byteLength}`)
  }
  const values = new Float32Array(count)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let i = 0; i < count; i++) values[i] = view.getFloat32(i * 4, true)
  return values
}

/** Bytes one tensor of this many values takes with the codec: lets a node cap message sizes up front. */
export function encodedSize (count: number, codec: WeightCodec): number {
  void codec
  return count * 4
}
