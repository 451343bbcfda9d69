import { MurmurError } from '../errors.js'

/**
 * Weight codecs: how one tensor's float32 values become bytes on the wire. Nodes usually send the
 * difference between their model and a reference both sides hold, so the values may be deltas or full
 * weights; error feedback (keeping what was actually received as the new reference) is the caller's.
 *
 * Layouts, all little-endian, n = number of values:
 * - fp32: n × float32.                                                            4n bytes
 * - fp16: n × IEEE 754 half, rounded to nearest even; magnitudes above 65504 (and ±Infinity)
 *         saturate to ±65504, never ±Infinity; zeros keep their sign; NaN stays NaN.   2n bytes
 * - int8[:B] (B = blockSize, default 256): for each block of B values (the last may be shorter):
 *         float32 scale = max|v| / 127 (0 for an all-zero block), then the block's int8 values
 *         round(v / scale) clamped to [-127, 127]; a value decodes as int × scale.  n + 4⌈n/B⌉ bytes
 * - topk:F (0 < F ≤ 1): uint32 k, then k uint32 indices strictly increasing, then the k float32
 *         values at those indices; every other value decodes as 0. k = max(1, round(F × n)) for
 *         n > 0, k = 0 for n = 0. The k largest |v| are kept, ties going to the lower index;
 *         NaN counts as the largest magnitude, so it is sent (and refused by the receiver). 4 + 8k bytes
 *
 * Decoding refuses anything an encoder could not have produced for `count` values (wrong length,
 * a non-finite or negative int8 scale, an int8 value of -128, a topk k other than the codec's, topk
 * indices out of range or not strictly increasing) with ERR_INVALID_UPDATE, never reads out of
 * bounds and allocates O(count) at most. Values themselves are not checked: fp32, fp16 and topk may
 * carry NaN or ±Infinity, which callers must refuse (as they would for any update).
 */
export type WeightCodec =
  | { readonly kind: 'fp32' }
  | { readonly kind: 'fp16' }
  | { readonly kind: 'int8'; readonly blockSize: number }
  | { readonly kind: 'topk'; readonly fraction: number }

/** The accepted spellings, for error messages and --help. */
export const CODEC_NAMES_HELP = 'fp32, fp16, int8[:BLOCK], topk:FRACTION'

/** Block size of plain 'int8'. */
export const DEFAULT_INT8_BLOCK_SIZE = 256

const INT8_NAME = /^int8(?::([1-9][0-9]*))?$/
const TOPK_NAME = /^topk:((?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)$/

/** The codec a name stands for, or undefined. */
function codecOf (text: string): WeightCodec | undefined {
  if (text === 'fp32' || text === 'fp16') return { kind: text }
  const int8 = INT8_NAME.exec(text)
  if (int8 !== null) {
    const blockSize = int8[1] === undefined ? DEFAULT_INT8_BLOCK_SIZE : Number(int8[1])
    return Number.isSafeInteger(blockSize) ? { kind: 'int8', blockSize } : undefined
  }
  const topk = TOPK_NAME.exec(text)
  if (topk !== null) {
    const fraction = Number(topk[1])
    return fraction > 0 && fraction <= 1 ? { kind: 'topk', fraction } : undefined
  }
  return undefined
}

/** 'fp32', 'fp16', 'int8' (blocks of 256), 'int8:64', 'topk:0.1' (0 < fraction ≤ 1). */
export function parseCodec (text: string): WeightCodec {
  const codec = codecOf(text)
  if (codec === undefined) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `unknown weight codec ${JSON.stringify(text)}; expected one of: ${CODEC_NAMES_HELP} (BLOCK a positive integer, 0 < FRACTION ≤ 1)`)
  }
  return codec
}

/** Whether parseCodec accepts the text. */
export function isCodecName (text: string): boolean {
  return codecOf(text) !== undefined
}

function assertCodec (codec: WeightCodec): void {
  const kind = (codec as { kind?: unknown } | undefined)?.kind
  let valid
  switch (kind) {
    case 'fp32':
    case 'fp16':
      valid = true
      break
    case 'int8': {
      const { blockSize } = codec as { blockSize: unknown }
      valid = Number.isSafeInteger(blockSize) && (blockSize as number) >= 1
      break
    }
    case 'topk': {
      const { fraction } = codec as { fraction: unknown }
      valid = typeof fraction === 'number' && fraction > 0 && fraction <= 1
      break
    }
    default:
      valid = false
  }
  if (!valid) throw new MurmurError('ERR_INVALID_ARGUMENT', `invalid weight codec ${JSON.stringify(codec)}; expected one of: ${CODEC_NAMES_HELP}`)
}

/** The name parseCodec reads back as the same codec: 'int8' for blocks of 256, else 'int8:N'; 'topk:0.1'. */
export function formatCodec (codec: WeightCodec): string {
  assertCodec(codec)
  switch (codec.kind) {
    case 'fp32':
    case 'fp16':
      return codec.kind
    case 'int8':
      return codec.blockSize === DEFAULT_INT8_BLOCK_SIZE ? 'int8' : `int8:${codec.blockSize}`
    case 'topk':
      // String() is the shortest text that reads back as the same number: no trailing zeros.
      return `topk:${String(codec.fraction)}`
  }
}

function assertCount (count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `a value count must be a non-negative integer, got ${String(count)}`)
  }
}

function topkCount (count: number, fraction: number): number {
  return count === 0 ? 0 : Math.min(count, Math.max(1, Math.round(fraction * count)))
}

/** Exact size of encodeValues' output for `count` values (so also an upper bound for capping messages). */
export function maxEncodedSize (count: number, codec: WeightCodec): number {
  assertCodec(codec)
  assertCount(count)
  switch (codec.kind) {
    case 'fp32': return 4 * count
    case 'fp16': return 2 * count
    case 'int8': return count + 4 * Math.ceil(count / codec.blockSize)
    case 'topk': return 4 + 8 * topkCount(count, codec.fraction)
  }
}

function invalid (message: string): MurmurError {
  return new MurmurError('ERR_INVALID_UPDATE', message)
}

function assertLength (bytes: Uint8Array, expected: number, what: string): void {
  if (bytes.byteLength !== expected) throw invalid(`expected ${expected} bytes of ${what}, got ${bytes.byteLength}`)
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

// fp32 ------------------------------------------------------------------------------------------

function encodeFp32 (values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4)
  if (littleEndian) {
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength))
  } else {
    const view = new DataView(bytes.buffer)
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] as number, true)
  }
  return bytes
}

function decodeFp32 (bytes: Uint8Array, count: number): Float32Array {
  assertLength(bytes, 4 * count, `fp32 values for ${count} values`)
  const values = new Float32Array(count)
  if (littleEndian) {
    new Uint8Array(values.buffer).set(bytes)
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let i = 0; i < count; i++) values[i] = view.getFloat32(i * 4, true)
  }
  return values
}

// fp16 ------------------------------------------------------------------------------------------

/** Half bits of a float32 given as its bits (and its value, for the subnormal range). */
function halfOf (bits: number, value: number): number {
  const sign = (bits >>> 16) & 0x8000
  const abs = bits & 0x7fffffff
  if (abs > 0x7f800000) return sign | 0x7e00 // NaN
  if (abs >= 0x477fe000) return sign | 0x7bff // ≥ 65504, ±Infinity included: saturate
  if (abs >= 0x38800000) {
    // Normal half: rebias the exponent, drop 13 mantissa bits rounding to nearest even.
    return sign | ((abs - 0x38000000 + 0xfff + ((abs >>> 13) & 1)) >>> 13)
  }
  // Below 2^-14: a subnormal half (or zero) with mantissa round(|v| × 2^24), exact in a double;
  // ties to even. 1024 is the smallest normal's bit pattern, so rounding up into it is right too.
  const scaled = Math.abs(value) * 16777216
  let mantissa = Math.floor(scaled)
  const rest = scaled - mantissa
  if (rest > 0.5 || (rest === 0.5 && (mantissa & 1) === 1)) mantissa++
  return sign | mantissa
}

let halfTable: Float32Array | undefined

/** All 65,536 half values, built on first use. */
function halfValues (): Float32Array {
  if (halfTable !== undefined) return halfTable
  const table = new Float32Array(65536)
  for (let h = 0; h < 65536; h++) {
    const exponent = (h >>> 10) & 0x1f
    const mantissa = h & 0x3ff
    const magnitude = exponent === 0
      ? mantissa * 2 ** -24
      : exponent === 31 ? (mantissa === 0 ? Infinity : NaN) : (mantissa + 1024) * 2 ** (exponent - 25)
    table[h] = (h & 0x8000) === 0 ? magnitude : -magnitude
  }
  halfTable = table
  return table
}

function encodeFp16 (values: Float32Array): Uint8Array {
  const n = values.length
  const bytes = new Uint8Array(n * 2)
  const bits = new Uint32Array(values.buffer, values.byteOffset, n)
  for (let i = 0; i < n; i++) {
    const half = halfOf(bits[i] as number, values[i] as number)
    bytes[2 * i] = half & 0xff
    bytes[2 * i + 1] = half >>> 8
  }
  return bytes
}

function decodeFp16 (bytes: Uint8Array, count: number): Float32Array {
  assertLength(bytes, 2 * count, `fp16 values for ${count} values`)
  const table = halfValues()
  const values = new Float32Array(count)
  for (let i = 0; i < count; i++) values[i] = table[(bytes[2 * i] as number) | ((bytes[2 * i + 1] as number) << 8)] as number
  return values
}

// int8 ------------------------------------------------------------------------------------------

/** `decoded`, when given, receives what decodeInt8 will read back, value for value (the sender's copy for error feedback). */
function encodeInt8 (values: Float32Array, blockSize: number, decoded?: Float32Array): Uint8Array {
  const n = values.length
  const bytes = new Uint8Array(n + 4 * Math.ceil(n / blockSize))
  const view = new DataView(bytes.buffer)
  const ints = new Int8Array(bytes.buffer)
  let offset = 0
  for (let start = 0; start < n; start += blockSize) {
    const end = Math.min(start + blockSize, n)
    let max = 0
    for (let i = start; i < end; i++) {
      const magnitude = Math.abs(values[i] as number)
      if (magnitude > max) max = magnitude
    }
    // The stored (float32) scale is what the receiver multiplies by, so quantize against it.
    const scale = Math.fround(max / 127)
    view.setFloat32(offset, scale, true)
    offset += 4
    if (scale === 0) { offset += end - start; continue } // all zeros (or too small for a float32 scale)
    for (let i = start; i < end; i++) {
      const q = Math.round((values[i] as number) / scale)
      ints[offset] = q > 127 ? 127 : q < -127 ? -127 : q // NaN becomes 0
      if (decoded !== undefined) decoded[i] = (ints[offset] as number) * scale
      offset++
    }
  }
  return bytes
}

function decodeInt8 (bytes: Uint8Array, count: number, blockSize: number): Float32Array {
  assertLength(bytes, count + 4 * Math.ceil(count / blockSize), `int8 blocks of ${blockSize} for ${count} values`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const ints = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const values = new Float32Array(count)
  let offset = 0
  for (let start = 0; start < count; start += blockSize) {
    const end = Math.min(start + blockSize, count)
    const scale = view.getFloat32(offset, true)
    if (!(scale >= 0 && scale < Infinity)) throw invalid(`int8 block at value ${start} has scale ${scale}`)
    offset += 4
    for (let i = start; i < end; i++) {
      const q = ints[offset++] as number
      if (q === -128) throw invalid(`int8 value ${i} is -128, outside [-127, 127]`)
      values[i] = q * scale
    }
  }
  return values
}

// topk ------------------------------------------------------------------------------------------

/** |v| with NaN as the largest magnitude, so the order is total. */
function magnitudeOf (value: number): number {
  return Number.isNaN(value) ? Infinity : Math.abs(value)
}

/**
 * Rearranges `work` so that work[target] holds the value that would be there if it were sorted
 * ascending, smaller-or-equal values before it and greater-or-equal ones after (Hoare quickselect,
 * median-of-three; after too many rounds the remaining range is sorted natively: O(n log n) worst case).
 */
function select (work: Float32Array, target: number): void {
  let lo = 0
  let hi = work.length - 1
  let rounds = 2 * Math.ceil(Math.log2(work.length + 1)) + 16
  while (hi - lo >= 16) {
    if (rounds-- === 0) { work.subarray(lo, hi + 1).sort(); return }
    // Median of three, swapped in place: lo ≤ mid ≤ hi.
    const mid = (lo + hi) >>> 1
    if ((work[mid] as number) < (work[lo] as number)) swap(work, lo, mid)
    if ((work[hi] as number) < (work[mid] as number)) swap(work, mid, hi)
    if ((work[mid] as number) < (work[lo] as number)) swap(work, lo, mid)
    const pivot = work[mid] as number
    let i = lo
    let j = hi
    while (i <= j) {
      while ((work[i] as number) < pivot) i++
      while ((work[j] as number) > pivot) j--
      if (i <= j) swap(work, i++, j--)
    }
    if (target <= j) hi = j
    else if (target >= i) lo = i
    else return // between j and i every value equals the pivot
  }
  // A short range: insertion sort.
  for (let i = lo + 1; i <= hi; i++) {
    const value = work[i] as number
    let j = i - 1
    while (j >= lo && (work[j] as number) > value) { work[j + 1] = work[j] as number; j-- }
    work[j + 1] = value
  }
}

function swap (work: Float32Array, a: number, b: number): void {
  const t = work[a] as number
  work[a] = work[b] as number
  work[b] = t
}

function encodeTopk (values: Float32Array, fraction: number): Uint8Array {
  const n = values.length
  const k = topkCount(n, fraction)
  const bytes = new Uint8Array(4 + 8 * k)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, k, true)
  if (k === 0) return bytes
  const valuesOffset = 4 + 4 * k
  if (k === n) {
    for (let i = 0; i < n; i++) {
      view.setUint32(4 + 4 * i, i, true)
      view.setFloat32(valuesOffset + 4 * i, values[i] as number, true)
    }
    return bytes
  }
  // The k-th largest magnitude is the threshold; above it every index is kept, at it the lowest ones.
  const work = new Float32Array(n)
  for (let i = 0; i < n; i++) work[i] = magnitudeOf(values[i] as number)
  const target = n - k
  select(work, target)
  const threshold = work[target] as number
  let ties = k
  for (let j = target; j < n; j++) if ((work[j] as number) > threshold) ties--
  let taken = 0
  for (let i = 0; i < n && taken < k; i++) {
    const magnitude = magnitudeOf(values[i] as number)
    if (magnitude > threshold || (magnitude === threshold && ties-- > 0)) {
      view.setUint32(4 + 4 * taken, i, true)
      view.setFloat32(valuesOffset + 4 * taken, values[i] as number, true)
      taken++
    }
  }
  return bytes
}

function decodeTopk (bytes: Uint8Array, count: number, fraction: number): Float32Array {
  const k = topkCount(count, fraction)
  if (bytes.byteLength < 4) throw invalid(`expected a topk header of 4 bytes, got ${bytes.byteLength} bytes`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const sent = view.getUint32(0, true)
  if (sent !== k) throw invalid(`topk message carries ${sent} values, expected ${k} for ${count} values`)
  assertLength(bytes, 4 + 8 * k, `topk indices and values for k = ${k}`)
  const values = new Float32Array(count)
  const valuesOffset = 4 + 4 * k
  let previous = -1
  for (let j = 0; j < k; j++) {
    const index = view.getUint32(4 + 4 * j, true)
    if (index <= previous || index >= count) {
      throw invalid(`topk index ${index} at position ${j} is ${index >= count ? `out of range for ${count} values` : 'not above the previous one'}`)
    }
    previous = index
    values[index] = view.getFloat32(valuesOffset + 4 * j, true)
  }
  return values
}

// -----------------------------------------------------------------------------------------------

/** The bytes carrying these values with the codec (layouts at the top of this file). */
export function encodeValues (values: Float32Array, codec: WeightCodec): Uint8Array {
  assertCodec(codec)
  switch (codec.kind) {
    case 'fp32': return encodeFp32(values)
    case 'fp16': return encodeFp16(values)
    case 'int8': return encodeInt8(values, codec.blockSize)
    case 'topk': return encodeTopk(values, codec.fraction)
  }
}

/**
 * Encodes `values` and returns, beside the bytes, the values a receiver decodes from them: what a
 * sender of differences adds to its copy of the receiver's model (error feedback, core/model-links.ts).
 * For int8 the encoder computes them as it quantizes, sparing a decode of every push.
 */
export function encodeValuesDecoded (values: Float32Array, codec: WeightCodec): { bytes: Uint8Array; decoded: Float32Array } {
  assertCodec(codec)
  if (codec.kind === 'int8') {
    const decoded = new Float32Array(values.length)
    return { bytes: encodeInt8(values, codec.blockSize, decoded), decoded }
  }
  const bytes = encodeValues(values, codec)
  return { bytes, decoded: decodeValues(bytes, codec, values.length) }
}

/**
 * The `count` values these bytes carry. Throws ERR_INVALID_UPDATE for anything the encoder could not
 * have produced, ERR_INVALID_ARGUMENT for an invalid codec or count (the caller's, not the peer's, fault).
 */
export function decodeValues (bytes: Uint8Array, codec: WeightCodec, count: number): Float32Array {
  assertCodec(codec)
  assertCount(count)
  switch (codec.kind) {
    case 'fp32': return decodeFp32(bytes, count)
    case 'fp16': return decodeFp16(bytes, count)
    case 'int8': return decodeInt8(bytes, count, codec.blockSize)
    case 'topk': return decodeTopk(bytes, count, codec.fraction)
  }
}
