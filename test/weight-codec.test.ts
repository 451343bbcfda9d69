import { describe, it, expect } from 'vitest'
import { createRandom, type Random } from '../src/data/random.js'
import { isMurmurError } from '../src/errors.js'
import {
  CODEC_NAMES_HELP,
  decodeValues,
  encodeValues,
  encodeValuesDecoded,
  formatCodec,
  isCodecName,
  maxEncodedSize,
  parseCodec,
  type WeightCodec
} from '../src/learning/weight-codec.js'
import { errorOf } from './helpers.js'

const FP32: WeightCodec = { kind: 'fp32' }
const FP16: WeightCodec = { kind: 'fp16' }
const INT8: WeightCodec = { kind: 'int8', blockSize: 256 }
const TOPK: WeightCodec = { kind: 'topk', fraction: 0.1 }
const CODECS: WeightCodec[] = [FP32, FP16, INT8, { kind: 'int8', blockSize: 7 }, TOPK, { kind: 'topk', fraction: 1 }, { kind: 'topk', fraction: 0.003 }]
const SIZES = [0, 1, 7, 256, 1000, 101_770]

/** Normal values at a few scales, with some exact zeros and repeats so ties get exercised. */
function randomValues (random: Random, count: number): Float32Array {
  const values = new Float32Array(count)
  for (let i = 0; i < count; i++) {
    const pick = random.integer(20)
    values[i] = pick === 0 ? 0 : pick === 1 ? 0.5 : random.normal() * (pick < 10 ? 1 : 0.01)
  }
  return values
}

function roundTrip (values: Float32Array, codec: WeightCodec): Float32Array {
  return decodeValues(encodeValues(values, codec), codec, values.length)
}


function expectCode (action: () => unknown, code: 'ERR_INVALID_UPDATE' | 'ERR_INVALID_ARGUMENT'): void {
  const error = errorOf(action)
  expect(isMurmurError(error, code), String(error)).toBe(true)
}

/** Indices of the k largest |v|, ties to the lower index, ascending: the slow, obvious way. */
function expectedTopk (values: Float32Array, k: number): number[] {
  const order = Array.from(values.keys()).sort((a, b) => Math.abs(values[b] as number) - Math.abs(values[a] as number) || a - b)
  return order.slice(0, k).sort((a, b) => a - b)
}

function bytesOf (...parts: Array<['u32' | 'f32', number] | ['i8', number]>): Uint8Array {
  const size = parts.reduce((total, [type]) => total + (type === 'i8' ? 1 : 4), 0)
  const bytes = new Uint8Array(size)
  const view = new DataView(bytes.buffer)
  let offset = 0
  for (const [type, value] of parts) {
    if (type === 'u32') view.setUint32(offset, value, true)
    else if (type === 'f32') view.setFloat32(offset, value, true)
    else view.setInt8(offset, value)
    offset += type === 'i8' ? 1 : 4
  }
  return bytes
}

const f16round = (Math as unknown as { f16round?: (x: number) => number }).f16round

describe('round trips', () => {
  for (const codec of CODECS) {
    for (const size of SIZES) {
      it(`${formatCodec(codec)} with ${size} values: right length, exact size bound`, () => {
        const values = randomValues(createRandom(size), size)
        const bytes = encodeValues(values, codec)
        expect(maxEncodedSize(size, codec)).toBeGreaterThanOrEqual(bytes.byteLength)
        expect(maxEncodedSize(size, codec)).toBe(bytes.byteLength) // every layout has a fixed size
        const decoded = decodeValues(bytes, codec, size)
        expect(decoded).toBeInstanceOf(Float32Array)
        expect(decoded.length).toBe(size)
        // Encoding is deterministic and decoding what was decoded changes nothing more.
        expect(encodeValues(values, codec)).toEqual(bytes)
      })
    }
  }

  it('gives the sender exactly what the receiver will decode, without a decode (error feedback)', () => {
    for (const codec of CODECS) {
      for (const size of SIZES) {
        const values = randomValues(createRandom(size + 1), size)
        // An all-zero block, a tiny one (scale underflows to 0) and NaN (sent as 0) take their own paths.
        if (size >= 256) values.fill(0, 0, 7).fill(1e-45, 7, 14)
        if (size >= 1000 && codec.kind === 'int8') values[500] = Number.NaN
        const { bytes, decoded } = encodeValuesDecoded(values, codec)
        expect(bytes).toEqual(encodeValues(values, codec))
        expect(decoded).toEqual(decodeValues(bytes, codec, size))
      }
    }
  })

  it('reads values from unaligned and offset views', () => {
    const values = randomValues(createRandom(5), 300)
    for (const codec of CODECS) {
      const bytes = encodeValues(values, codec)
      const shifted = new Uint8Array(bytes.byteLength + 3)
      shifted.set(bytes, 3)
      expect(decodeValues(shifted.subarray(3), codec, values.length)).toEqual(decodeValues(bytes, codec, values.length))
      const padded = new Float32Array(values.length + 2)
      padded.set(values, 1)
      expect(encodeValues(padded.subarray(1, values.length + 1), codec)).toEqual(bytes)
    }
  })
})

describe('fp32', () => {
  it('is exact, -0 and extremes included', () => {
    for (const size of SIZES) {
      const values = randomValues(createRandom(size + 1), size)
      expect(roundTrip(values, FP32)).toEqual(values)
    }
    const extremes = Float32Array.from([-0, 3.4028234663852886e38, -1.401298464324817e-45, 1e-30])
    const decoded = roundTrip(extremes, FP32)
    expect(Object.is(decoded[0], -0)).toBe(true)
    expect(decoded).toEqual(extremes)
  })

  it('lays values out as little-endian float32', () => {
    expect(encodeValues(Float32Array.from([1.5, -2]), FP32)).toEqual(bytesOf(['f32', 1.5], ['f32', -2]))
  })
})

describe('fp16', () => {
  it('keeps relative error within 2^-11 in the normal range (and 2^-25 absolute below it)', () => {
    for (const size of SIZES) {
      const values = randomValues(createRandom(size + 2), size)
      const decoded = roundTrip(values, FP16)
      for (let i = 0; i < size; i++) {
        const v = values[i] as number
        const error = Math.abs((decoded[i] as number) - v)
        if (Math.abs(v) >= 2 ** -14) expect(error).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11)
        else expect(error).toBeLessThanOrEqual(2 ** -25)
      }
    }
  })

  it('saturates at ±65504 instead of overflowing to infinity', () => {
    const decoded = roundTrip(Float32Array.from([1e6, -1e6, 65504, 65519, 65520, 3.4e38, Infinity, -Infinity]), FP16)
    expect(Array.from(decoded)).toEqual([65504, -65504, 65504, 65504, 65504, 65504, 65504, -65504])
  })

  it('rounds to nearest even and keeps zeros, subnormals and NaN', () => {
    const inputs = [0, -0, 1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 1.5 * 2 ** -24, 2 ** -14, 2 ** -14 - 2 ** -25, -(2 ** -20), 1e-10]
    const expected = [0, -0, 1, 1, 1 + 2 ** -9, 2 ** -24, 0, 2 ** -24, 2 ** -23, 2 ** -14, 2 ** -14, -(2 ** -20), 0]
    const decoded = roundTrip(Float32Array.from(inputs), FP16)
    expected.forEach((value, index) => { expect(Object.is(decoded[index], value), `input ${inputs[index]}`).toBe(true) })
    expect(Number.isNaN(roundTrip(Float32Array.from([NaN]), FP16)[0])).toBe(true)
    expect(encodeValues(Float32Array.from([1, -2, 65504]), FP16)).toEqual(Uint8Array.from([0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b]))
  })

  it('encodes every finite half back to itself', () => {
    const halves = new Uint8Array(2 * 65536)
    for (let h = 0; h < 65536; h++) { halves[2 * h] = h & 0xff; halves[2 * h + 1] = h >>> 8 }
    const decoded = decodeValues(halves, FP16, 65536)
    const finite = Array.from(decoded.keys()).filter(h => Number.isFinite(decoded[h]))
    expect(finite.length).toBe(65536 - 2048)
    const again = encodeValues(Float32Array.from(finite, h => decoded[h] as number), FP16)
    finite.forEach((h, i) => {
      if (((again[2 * i] as number) | ((again[2 * i + 1] as number) << 8)) !== h) expect.fail(`half 0x${h.toString(16)} came back different`)
    })
  })

  it.skipIf(f16round === undefined)('agrees with Math.f16round on random float32 bit patterns (saturating)', () => {
    const round = f16round as (x: number) => number
    const random = createRandom(16)
    const bits = new Uint32Array(200_000)
    for (let i = 0; i < bits.length; i++) {
      // Spread over all exponents, and concentrate on the half range (exponent 100..145) too.
      const word = Math.floor(random.next() * 2 ** 32)
      bits[i] = i % 2 === 0 ? word : (word & 0x807fffff) | ((100 + random.integer(46)) << 23)
    }
    const values = new Float32Array(bits.buffer)
    const decoded = roundTrip(values, FP16)
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number
      if (Number.isNaN(v)) { expect(Number.isNaN(decoded[i])).toBe(true); continue }
      const reference = round(v)
      const expected = Number.isFinite(reference) ? reference : Math.sign(reference) * 65504
      if (!Object.is(decoded[i], expected)) expect.fail(`${v} became ${decoded[i]}, expected ${expected}`)
    }
  })
})

describe('int8', () => {
  for (const blockSize of [256, 7, 1, 1000]) {
    it(`keeps each value within half its block's step (blocks of ${blockSize})`, () => {
      const codec: WeightCodec = { kind: 'int8', blockSize }
      for (const size of SIZES) {
        const values = randomValues(createRandom(size + 3), size)
        const decoded = roundTrip(values, codec)
        for (let start = 0; start < size; start += blockSize) {
          const block = values.subarray(start, start + blockSize)
          const scale = Math.fround(block.reduce((max, v) => Math.max(max, Math.abs(v)), 0) / 127)
          block.forEach((v, offset) => {
            const error = Math.abs((decoded[start + offset] as number) - v)
            // scale/2 from quantization, plus float32 rounding of the decoded product
            if (error > scale / 2 + (Math.abs(v) + scale) * 2 ** -22) expect.fail(`value ${start + offset}: ${v} decoded with error ${error}, scale ${scale}`)
          })
        }
      }
    })
  }

  it('lays out a float32 scale then int8 values per block, the last block shorter', () => {
    const codec: WeightCodec = { kind: 'int8', blockSize: 2 }
    const bytes = encodeValues(Float32Array.from([127, -63.4, 0, 2, 0]), codec)
    expect(bytes).toEqual(bytesOf(['f32', 1], ['i8', 127], ['i8', -63], ['f32', 2 / 127], ['i8', 0], ['i8', 127], ['f32', 0], ['i8', 0]))
    expect(Array.from(decodeValues(bytes, codec, 5))).toEqual([127, -63, 0, 2, 0])
  })

  it('turns an all-zero block into scale 0 and zeros', () => {
    expect(roundTrip(new Float32Array(300), INT8)).toEqual(new Float32Array(300))
  })

  it('is at least 3.9 times smaller than fp32 in blocks of 256', () => {
    const values = randomValues(createRandom(8), 101_770)
    expect(encodeValues(values, FP32).byteLength / encodeValues(values, INT8).byteLength).toBeGreaterThanOrEqual(3.9)
  })
})

describe('topk', () => {
  for (const fraction of [0.1, 0.003, 0.5, 1]) {
    it(`keeps exactly the k largest magnitudes exactly and zeros the rest (fraction ${fraction})`, () => {
      const codec: WeightCodec = { kind: 'topk', fraction }
      for (const size of SIZES) {
        const values = randomValues(createRandom(size + 4), size)
        const k = size === 0 ? 0 : Math.max(1, Math.round(fraction * size))
        const bytes = encodeValues(values, codec)
        expect(new DataView(bytes.buffer).getUint32(0, true)).toBe(k)
        const kept = new Set(expectedTopk(values, k))
        const decoded = decodeValues(bytes, codec, size)
        for (let i = 0; i < size; i++) {
          const expected = kept.has(i) ? values[i] : 0
          if (decoded[i] !== expected) expect.fail(`value ${i}: ${decoded[i]}, expected ${expected}`)
        }
      }
    })
  }

  it('breaks ties toward the lower index and lists indices ascending, then values', () => {
    const codec: WeightCodec = { kind: 'topk', fraction: 0.5 }
    expect(encodeValues(Float32Array.from([0.5, 1, -1, 1]), codec)).toEqual(bytesOf(['u32', 2], ['u32', 1], ['u32', 2], ['f32', 1], ['f32', -1]))
    expect(encodeValues(new Float32Array(4), codec)).toEqual(bytesOf(['u32', 2], ['u32', 0], ['u32', 1], ['f32', 0], ['f32', 0]))
    expect(encodeValues(new Float32Array(0), codec)).toEqual(bytesOf(['u32', 0]))
  })

  it('selects correctly among many ties and in adversarial orders', () => {
    const random = createRandom(9)
    const codec: WeightCodec = { kind: 'topk', fraction: 0.37 }
    const inputs = [
      Float32Array.from({ length: 5000 }, () => random.integer(5) - 2),
      Float32Array.from({ length: 5000 }, (_, i) => i),
      Float32Array.from({ length: 5000 }, (_, i) => -i),
      Float32Array.from({ length: 5001 }, (_, i) => (i % 2 === 0 ? i : 5001 - i)),
      new Float32Array(5000).fill(3)
    ]
    for (const values of inputs) {
      const kept = expectedTopk(values, Math.round(0.37 * values.length))
      const decoded = roundTrip(values, codec)
      const expected = new Float32Array(values.length)
      for (const index of kept) expected[index] = values[index] as number
      expect(decoded).toEqual(expected)
    }
  })

  it('matches a full sort on thousands of small arrays full of duplicates', () => {
    const random = createRandom(13)
    for (let trial = 0; trial < 3000; trial++) {
      const values = Float32Array.from({ length: 1 + random.integer(300) }, () => (random.integer(2) === 0 ? 0 : random.integer(9) - 4))
      const codec: WeightCodec = { kind: 'topk', fraction: (1 + random.integer(100)) / 100 }
      const k = Math.max(1, Math.round(codec.fraction * values.length))
      const expected = new Float32Array(values.length)
      for (const index of expectedTopk(values, k)) expected[index] = values[index] as number
      const decoded = roundTrip(values, codec)
      if (!decoded.every((v, i) => Object.is(v, expected[i]))) expect.fail(`[${values.join(', ')}] with ${formatCodec(codec)}`)
    }
  })

  it('sends NaN as the largest magnitude, for the receiver to refuse', () => {
    const decoded = roundTrip(Float32Array.from([1, NaN, 2, 3]), { kind: 'topk', fraction: 0.25 })
    expect(Number.isNaN(decoded[1])).toBe(true)
    expect(decoded[3]).toBe(0)
  })

  it('topk:0.1 is about a fifth of fp32', () => {
    const values = randomValues(createRandom(10), 101_770)
    expect(encodeValues(values, TOPK).byteLength / encodeValues(values, FP32).byteLength).toBeCloseTo(0.2, 3)
  })
})

describe('malformed input', () => {
  it('refuses wrong lengths for every codec', () => {
    for (const codec of CODECS) {
      for (const count of [0, 1, 7, 300]) {
        const bytes = encodeValues(randomValues(createRandom(count), count), codec)
        const longer = new Uint8Array(bytes.byteLength + 1)
        longer.set(bytes)
        expectCode(() => decodeValues(longer, codec, count), 'ERR_INVALID_UPDATE')
        if (bytes.byteLength > 0) expectCode(() => decodeValues(bytes.subarray(0, bytes.byteLength - 1), codec, count), 'ERR_INVALID_UPDATE')
        // (a topk message can be valid for two counts whose k agree: 7 and 8 values both have k = 1 at 0.1)
        if (maxEncodedSize(count + 1, codec) !== bytes.byteLength) expectCode(() => decodeValues(bytes, codec, count + 1), 'ERR_INVALID_UPDATE')
      }
    }
  })

  it('refuses non-finite or negative int8 scales and the value -128', () => {
    const codec: WeightCodec = { kind: 'int8', blockSize: 2 }
    expect(Array.from(decodeValues(bytesOf(['f32', 0.5], ['i8', 2], ['i8', -127]), codec, 2))).toEqual([1, -63.5])
    for (const scale of [NaN, Infinity, -Infinity, -0.5]) {
      expectCode(() => decodeValues(bytesOf(['f32', scale], ['i8', 1], ['i8', 1]), codec, 2), 'ERR_INVALID_UPDATE')
    }
    expectCode(() => decodeValues(bytesOf(['f32', 1], ['i8', 1], ['i8', 1], ['f32', NaN], ['i8', 0]), codec, 3), 'ERR_INVALID_UPDATE')
    expectCode(() => decodeValues(bytesOf(['f32', 1], ['i8', -128], ['i8', 1]), codec, 2), 'ERR_INVALID_UPDATE')
  })

  it('refuses topk messages with a wrong k or bad indices', () => {
    const codec: WeightCodec = { kind: 'topk', fraction: 0.5 }
    expect(Array.from(decodeValues(bytesOf(['u32', 2], ['u32', 0], ['u32', 3], ['f32', 1], ['f32', 2]), codec, 4))).toEqual([1, 0, 0, 2])
    const refused = [
      new Uint8Array(0),
      new Uint8Array(3),
      bytesOf(['u32', 1], ['u32', 0], ['f32', 1]),
      bytesOf(['u32', 3], ['u32', 0], ['u32', 1], ['u32', 2], ['f32', 1], ['f32', 2], ['f32', 3]),
      bytesOf(['u32', 0xffffffff]),
      bytesOf(['u32', 2], ['u32', 0], ['u32', 4], ['f32', 1], ['f32', 2]),
      bytesOf(['u32', 2], ['u32', 0], ['u32', 0xffffffff], ['f32', 1], ['f32', 2]),
      bytesOf(['u32', 2], ['u32', 1], ['u32', 1], ['f32', 1], ['f32', 2]),
      bytesOf(['u32', 2], ['u32', 2], ['u32', 1], ['f32', 1], ['f32', 2]),
      bytesOf(['u32', 2], ['u32', 0], ['u32', 1], ['f32', 1])
    ]
    for (const bytes of refused) expectCode(() => decodeValues(bytes, codec, 4), 'ERR_INVALID_UPDATE')
    expectCode(() => decodeValues(bytesOf(['u32', 1], ['u32', 0], ['f32', 1]), codec, 0), 'ERR_INVALID_UPDATE')
  })

  it('treats a bad count or codec as the caller\'s mistake', () => {
    for (const count of [-1, 1.5, NaN, Infinity]) expectCode(() => decodeValues(new Uint8Array(0), FP32, count), 'ERR_INVALID_ARGUMENT')
    const invalid = [{ kind: 'int8', blockSize: 0 }, { kind: 'int8', blockSize: 2.5 }, { kind: 'topk', fraction: 0 }, { kind: 'topk', fraction: 1.5 }, { kind: 'topk', fraction: NaN }, { kind: 'fp64' }] as unknown as WeightCodec[]
    for (const codec of invalid) {
      expectCode(() => encodeValues(new Float32Array(4), codec), 'ERR_INVALID_ARGUMENT')
      expectCode(() => decodeValues(new Uint8Array(16), codec, 4), 'ERR_INVALID_ARGUMENT')
      expectCode(() => maxEncodedSize(4, codec), 'ERR_INVALID_ARGUMENT')
      expectCode(() => formatCodec(codec), 'ERR_INVALID_ARGUMENT')
    }
  })

  it('fuzz: random and corrupted bytes only ever give ERR_INVALID_UPDATE or count values', () => {
    const random = createRandom(2024)
    for (const codec of CODECS) {
      let accepted = 0
      for (let round = 0; round < 2000; round++) {
        const count = random.integer(2001)
        let bytes: Uint8Array
        const kind = round % 3
        if (kind === 0) {
          bytes = new Uint8Array(random.integer(4097))
          for (let i = 0; i < bytes.length; i++) bytes[i] = random.integer(256)
        } else if (kind === 1) {
          bytes = new Uint8Array(maxEncodedSize(count, codec))
          for (let i = 0; i < bytes.length; i++) bytes[i] = random.integer(256)
          if (codec.kind === 'topk' && bytes.length >= 4) new DataView(bytes.buffer).setUint32(0, (bytes.length - 4) / 8, true)
        } else {
          bytes = encodeValues(randomValues(random, count), codec)
          const flips = 1 + random.integer(3)
          for (let f = 0; f < flips && bytes.length > 0; f++) bytes[random.integer(bytes.length)] = random.integer(256)
        }
        try {
          const values = decodeValues(bytes, codec, count)
          expect(values.length).toBe(count)
          accepted++
        } catch (error) {
          if (!isMurmurError(error, 'ERR_INVALID_UPDATE')) expect.fail(`${formatCodec(codec)}, ${bytes.length} bytes for ${count} values: ${String(error)}`)
        }
      }
      expect(accepted).toBeGreaterThan(0) // the near-valid inputs do reach the value checks
    }
  })
})

describe('names', () => {
  const accepted: Array<[string, WeightCodec, string]> = [
    ['fp32', FP32, 'fp32'],
    ['fp16', FP16, 'fp16'],
    ['int8', INT8, 'int8'],
    ['int8:64', { kind: 'int8', blockSize: 64 }, 'int8:64'],
    ['int8:256', INT8, 'int8'],
    ['int8:1', { kind: 'int8', blockSize: 1 }, 'int8:1'],
    ['topk:0.1', TOPK, 'topk:0.1'],
    ['topk:0.10', TOPK, 'topk:0.1'],
    ['topk:.25', { kind: 'topk', fraction: 0.25 }, 'topk:0.25'],
    ['topk:1', { kind: 'topk', fraction: 1 }, 'topk:1'],
    ['topk:1.0', { kind: 'topk', fraction: 1 }, 'topk:1'],
    ['topk:1e-3', { kind: 'topk', fraction: 0.001 }, 'topk:0.001'],
    ['topk:1e-7', { kind: 'topk', fraction: 1e-7 }, 'topk:1e-7']
  ]
  for (const [text, codec, canonical] of accepted) {
    it(`parses '${text}' and formats it as '${canonical}'`, () => {
      expect(isCodecName(text)).toBe(true)
      expect(parseCodec(text)).toEqual(codec)
      expect(formatCodec(parseCodec(text))).toBe(canonical)
      expect(parseCodec(formatCodec(codec))).toEqual(codec)
    })
  }

  it('formats fractions without trailing zeros and reads its output back', () => {
    for (const fraction of [0.5, 0.05, 1 / 3, 0.123456789, 2 ** -30, 1]) {
      const text = formatCodec({ kind: 'topk', fraction })
      expect(text).not.toMatch(/\.\d*0$/)
      expect(parseCodec(text)).toEqual({ kind: 'topk', fraction })
    }
  })

  const refused = ['int3', 'topk:0', 'topk:1.5', 'int8:0', 'fp64', '', 'topk', 'topk:', 'int8:', 'int8:-1', 'int8:1.5', 'int8:064', 'int8:99999999999999999999',
    'int8:64:1', 'topk:abc', 'topk:NaN', 'topk:Infinity', 'topk:-0.1', 'topk:0x1', 'topk:1e-400', 'topk:1e1', ' fp32', 'fp32 ', 'FP32', 'fp32\n']
  for (const text of refused) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      expect(isCodecName(text)).toBe(false)
      const error = errorOf(() => parseCodec(text))
      expect(isMurmurError(error, 'ERR_INVALID_ARGUMENT')).toBe(true)
      expect((error as Error).message).toContain(JSON.stringify(text))
      expect((error as Error).message).toContain(CODEC_NAMES_HELP)
    })
  }

  it('lists the accepted forms', () => {
    expect(CODEC_NAMES_HELP).toBe('fp32, fp16, int8[:BLOCK], topk:FRACTION')
  })
})

describe('error feedback', () => {
  /** Sends w − r for `rounds` rounds, adding what arrives to r each time, as two peers would. */
  function feedback (target: Float32Array, codec: WeightCodec, rounds: number): Float32Array {
    const reference = new Float32Array(target.length)
    const difference = new Float32Array(target.length)
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < target.length; i++) difference[i] = (target[i] as number) - (reference[i] as number)
      const received = decodeValues(encodeValues(difference, codec), codec, target.length)
      for (let i = 0; i < target.length; i++) reference[i] = (reference[i] as number) + (received[i] as number)
    }
    return reference
  }

  it('topk:0.1 delivers the target exactly in 10 rounds, the largest remaining entries first', () => {
    const random = createRandom(12)
    const target = Float32Array.from({ length: 101_770 }, () => random.normal())
    expect(feedback(target, TOPK, 9)).not.toEqual(target)
    expect(feedback(target, TOPK, 10)).toEqual(target)
  })

  it('int8 converges within 1e-6 relative in 5 rounds', () => {
    const target = randomValues(createRandom(11), 10_000)
    const peak = target.reduce((max, v) => Math.max(max, Math.abs(v)), 0)
    const maxError = (reference: Float32Array): number => reference.reduce((max, r, i) => Math.max(max, Math.abs(r - (target[i] as number))), 0)
    expect(maxError(feedback(target, INT8, 1))).toBeGreaterThan(1e-4 * peak)
    expect(maxError(feedback(target, INT8, 5))).toBeLessThanOrEqual(1e-6 * peak)
  })
})
