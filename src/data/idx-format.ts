import { MurmurError } from '../errors.js'
import { type Dataset, createDataset } from './dataset.js'

/**
 * The IDX format of MNIST and Fashion-MNIST: two zero bytes, a type byte (0x08 = unsigned byte,
 * the only type these datasets use), a dimension count, then one big-endian uint32 per dimension
 * and the values. Files may be gzip-compressed, as they are distributed.
 */
const UNSIGNED_BYTE = 0x08

export interface IdxArray {
  dims: number[]
  /** The values, row-major; a view on the input bytes, not a copy. */
  data: Uint8Array
}

/**
 * An IDX file's dimensions and header length, from its first bytes (the whole header, at most
 * 4 + 4 × 255 bytes, or more): what parseIdx checks before the values, for a reader that takes the
 * values row by row instead of holding the whole file.
 */
export function parseIdxHeader (bytes: Uint8Array): { dims: number[]; headerLength: number } {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new MurmurError('ERR_INVALID_DATA', 'not an IDX file: it should start with two zero bytes, a type byte and a dimension count (magic 0x0000080N); is it still compressed or a different format?')
  }
  const type = bytes[2] as number
  const rank = bytes[3] as number
  if (type !== UNSIGNED_BYTE) {
    throw new MurmurError('ERR_INVALID_DATA', `IDX value type 0x${type.toString(16).padStart(2, '0')} is not supported; only unsigned bytes (0x08), as in MNIST and Fashion-MNIST, are`)
  }
  if (rank === 0) throw new MurmurError('ERR_INVALID_DATA', 'IDX file declares zero dimensions')
  const headerLength = 4 + 4 * rank
  if (bytes.length < headerLength) {
    throw new MurmurError('ERR_INVALID_DATA', `IDX file is truncated: its header declares ${rank} dimensions (${headerLength} bytes) but the file has ${bytes.length} bytes`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return { dims: Array.from({ length: rank }, (_, axis) => view.getUint32(4 + 4 * axis, false)), headerLength }
}

export function parseIdx (bytes: Uint8Array): IdxArray {
  const { dims, headerLength } = parseIdxHeader(bytes)
  const size = dims.reduce((a, b) => a * b, 1)
  if (bytes.length - headerLength !== size) {
    throw new MurmurError('ERR_INVALID_DATA', `IDX file size does not match its header: dimensions [${dims.join(', ')}] need ${size} value bytes, the file has ${bytes.length - headerLength}`)
  }
  return { dims, data: bytes.subarray(headerLength) }
}

/** Writes pixels (unsigned bytes) into target from offset on, scaled to [0, 1] as every IDX loader scales them. */
export function scalePixels (pixels: Uint8Array, target: Float32Array, offset: number): void {
  for (let i = 0; i < pixels.length; i++) target[offset + i] = (pixels[i] as number) / 255
}

/**
 * A dataset from an images file and a labels file: pixels scaled to [0, 1]; classes is the largest
 * label + 1 (at least 2).
 */
export function idxDataset (name: string, images: IdxArray, labels: IdxArray, imageFile: string, labelFile: string): Dataset {
  const [count, rows, columns] = images.dims
  if (images.dims.length !== 3 || count === undefined || rows === undefined || columns === undefined) {
    throw new MurmurError('ERR_INVALID_DATA', `${imageFile}: image files have 3 dimensions (count, rows, columns), this one has [${images.dims.join(', ')}]`)
  }
  if (labels.dims.length !== 1 || labels.dims[0] !== count) {
    throw new MurmurError('ERR_INVALID_DATA', `${labelFile}: expected ${count} labels (one per image in ${imageFile}), found dimensions [${labels.dims.join(', ')}]`)
  }
  const features = new Float32Array(images.data.length)
  scalePixels(images.data, features, 0)
  const classes = Math.max(2, labels.data.reduce((max, label) => Math.max(max, label), 0) + 1)
  return createDataset({ name, inputShape: [rows, columns, 1], classes, features, labels: Int32Array.from(labels.data) })
}

/** An IDX file of unsigned bytes (what parseIdx reads back): the built-in data a web node serves to browser nodes. */
export function encodeIdx (dims: readonly number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length)
  header[2] = UNSIGNED_BYTE
  header[3] = dims.length
  const view = new DataView(header.buffer)
  dims.forEach((dim, axis) => { view.setUint32(4 + 4 * axis, dim, false) })
  const out = new Uint8Array(header.byteLength + data.byteLength)
  out.set(header)
  out.set(data, header.byteLength)
  return out
}
