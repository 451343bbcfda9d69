import { describe, it, expect } from 'vitest'
import { createRandom } from '../src/data/random.js'
import { isMurmurError } from '../src/errors.js'
import { decodeValues, encodeValues, isCodecName, maxEncodedSize, type WeightCodec } from '../src/learning/weight-codec.js'
import type { Weights } from '../src/learning/weights.js'
import {
  REJECTION_REASONS,
  encodeUpdate,
  maxUpdateBytes,
  validateUpdate,
  type ModelUpdate,
  type RejectionReason,
  type UpdateExpectations,
  type UpdateVerdict
} from '../src/core/update-codec.js'
import { PROTOCOL_VERSION, decodeModelUpdate, encodeModelUpdate, type ModelUpdateMessage } from '../src/core/wire/model-update.js'

const SWARM_ID = '0123456789abcdef0123456789abcdef'
const OTHER_SWARM_ID = 'fedcba9876543210fedcba9876543210'
const SHAPES: number[][] = [[4, 3], [3]]
const EXPECTATIONS: UpdateExpectations = { swarmId: SWARM_ID, shapes: SHAPES }
const FP32: WeightCodec = { kind: 'fp32' }
const CREATED_AT = 1_717_171_717_171

/** Distinct, non-trivial float32 values (negative, fractional, tiny, large) per tensor. */
function sampleWeights (): Weights {
  const kernel = Float32Array.from({ length: 12 }, (_, i) => (i - 5.5) * 0.37 + (i === 7 ? 1e-30 : 0) + (i === 11 ? 3e30 : 0))
  const bias = Float32Array.from([-0.125, 0.1, 42])
  return [{ shape: [4, 3], values: kernel }, { shape: [3], values: bias }]
}

function sampleUpdate (overrides: Partial<ModelUpdate> = {}): ModelUpdate {
  return { swarmId: SWARM_ID, step: 1234, samples: 39_488, weights: sampleWeights(), createdAt: CREATED_AT, ...overrides }
}

/** A raw wire message equal to what encodeUpdate produces for sampleUpdate(), with fields overridable. */
function sampleMessage (overrides: Partial<ModelUpdateMessage> = {}): ModelUpdateMessage {
  return {
    protocolVersion: PROTOCOL_VERSION,
    swarmId: SWARM_ID,
    step: 1234,
    samples: 39_488,
    codec: 'fp32',
    tensors: sampleWeights().map(tensor => ({ shape: tensor.shape, data: encodeValues(tensor.values, FP32) })),
    createdAt: CREATED_AT,
    base: 0,
    ...overrides
  }
}

function rejection (verdict: UpdateVerdict): { reason: RejectionReason; detail: string } {
  if (verdict.ok) throw new Error('expected the update to be rejected, but it was accepted')
  return { reason: verdict.reason, detail: verdict.detail }
}

function expectSameFloats (actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length)
  for (let i = 0; i < expected.length; i++) {
    // Object.is distinguishes -0 from 0 and treats NaN as equal to itself: a bit-exact comparison.
    if (!Object.is(actual[i], expected[i])) throw new Error(`value ${i}: got ${actual[i]}, expected ${expected[i]}`)
  }
}

function randomBytes (random: ReturnType<typeof createRandom>, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => random.integer(256))
}

describe('weight codec (fp32)', () => {
  it('knows fp32 and refuses names it does not know', () => {
    expect(isCodecName('fp32')).toBe(true)
    expect(isCodecName('int3')).toBe(false)
    expect(isCodecName('')).toBe(false)
  })

  it('encodes 4 little-endian bytes per value and decodes them back bit for bit', () => {
    const values = Float32Array.from([1, -2.5, 0, -0, Number.MIN_VALUE, 3.4e38, Math.PI])
    const bytes = encodeValues(values, FP32)
    expect(bytes.byteLength).toBe(values.length * 4)
    expect(maxEncodedSize(values.length, FP32)).toBe(bytes.byteLength)
    // 1.0f is 0x3f800000; little-endian puts the low byte first.
    expect([...bytes.subarray(0, 4)]).toEqual([0x00, 0x00, 0x80, 0x3f])
    // -2.5f is 0xc0200000
    expect([...bytes.subarray(4, 8)]).toEqual([0x00, 0x00, 0x20, 0xc0])
    expectSameFloats(decodeValues(bytes, FP32, values.length), Float32Array.from(values))
  })

  it('encodes only the viewed part of a shared buffer, and decodes from an unaligned offset', () => {
    const backing = Float32Array.from([9, 9, 1.5, -7, 9])
    const view = backing.subarray(2, 4)
    const bytes = encodeValues(view, FP32)
    expect(bytes.byteLength).toBe(8)
    const shifted = new Uint8Array(bytes.byteLength + 3)
    shifted.set(bytes, 3)
    expectSameFloats(decodeValues(shifted.subarray(3), FP32, 2), Float32Array.from([1.5, -7]))
  })

  it('refuses bytes of the wrong length', () => {
    let caught: unknown
    try {
      decodeValues(new Uint8Array(11), FP32, 3)
    } catch (error) {
      caught = error
    }
    expect(isMurmurError(caught, 'ERR_INVALID_UPDATE')).toBe(true)
  })
})

describe('model update wire message', () => {
  it('round-trips every field through protobuf', () => {
    const message = sampleMessage()
    const decoded = decodeModelUpdate(encodeModelUpdate(message), { maxTensors: 2 })
    expect(decoded.protocolVersion).toBe(PROTOCOL_VERSION)
    expect(decoded.swarmId).toBe(SWARM_ID)
    expect(decoded.step).toBe(1234)
    expect(decoded.samples).toBe(39_488)
    expect(decoded.codec).toBe('fp32')
    expect(decoded.createdAt).toBe(CREATED_AT)
    expect(decoded.tensors.map(t => t.shape)).toEqual([[4, 3], [3]])
    decoded.tensors.forEach((tensor, index) => {
      expect(Buffer.compare(tensor.data, message.tensors[index]!.data)).toBe(0)
    })
  })

  it('throws ERR_INVALID_UPDATE for more tensors than the limit, and for counters beyond 2^53', () => {
    const errorOf = (action: () => unknown): unknown => {
      try {
        action()
      } catch (error) {
        return error
      }
      return undefined
    }
    expect(isMurmurError(errorOf(() => decodeModelUpdate(encodeModelUpdate(sampleMessage()), { maxTensors: 1 })), 'ERR_INVALID_UPDATE')).toBe(true)
    expect(isMurmurError(errorOf(() => decodeModelUpdate(encodeModelUpdate(sampleMessage({ step: 2 ** 60 })), { maxTensors: 2 })), 'ERR_INVALID_UPDATE')).toBe(true)
  })
})

describe('encodeUpdate / validateUpdate', () => {
  it('accepts its own encoding and returns identical weights, step, samples, swarm id and time', () => {
    const update = sampleUpdate()
    const verdict = validateUpdate(encodeUpdate(update, FP32), EXPECTATIONS)
    if (!verdict.ok) throw new Error(`rejected: ${verdict.reason} (${verdict.detail})`)
    const value = verdict.value
    expect(value.swarmId).toBe(SWARM_ID)
    expect(value.step).toBe(1234)
    expect(value.samples).toBe(39_488)
    expect(value.createdAt).toBe(CREATED_AT)
    expect(value.weights.map(t => t.shape)).toEqual([[4, 3], [3]])
    value.weights.forEach((tensor, index) => { expectSameFloats(tensor.values, update.weights[index]!.values) })
  })

  it('round-trips zero counters and large safe-integer counters', () => {
    for (const [step, samples] of [[0, 0], [Number.MAX_SAFE_INTEGER, 2 ** 40 + 7]] as const) {
      const verdict = validateUpdate(encodeUpdate(sampleUpdate({ step, samples }), FP32), EXPECTATIONS)
      if (!verdict.ok) throw new Error(`rejected: ${verdict.reason} (${verdict.detail})`)
      expect(verdict.value.step).toBe(step)
      expect(verdict.value.samples).toBe(samples)
    }
  })

  it('sizes the limit from the model: envelope allowance plus 4 bytes per value and 16 per tensor', () => {
    // 4096 + (12 * 4 + 16) + (3 * 4 + 16)
    // Bounded by the largest codec (topk keeping every value: a count, then 8 bytes per value), plus 16 per tensor.
    expect(maxUpdateBytes(EXPECTATIONS)).toBe(4096 + (4 + 8 * 12 + 16) + (4 + 8 * 3 + 16))
    expect(maxUpdateBytes({ ...EXPECTATIONS, shapes: [[100, 10], [10]] })).toBe(4096 + (4 + 8000 + 16) + (4 + 80 + 16))
    expect(encodeUpdate(sampleUpdate(), FP32).byteLength).toBeLessThanOrEqual(maxUpdateBytes(EXPECTATIONS))
  })

  it("rejects 'too-large' before decoding anything", () => {
    const limit = maxUpdateBytes(EXPECTATIONS)
    const valid = encodeUpdate(sampleUpdate(), FP32)
    /** the valid message followed by an unknown bytes field (number 15) that brings it to `total` bytes */
    const paddedTo = (total: number): Uint8Array => {
      const length = total - valid.byteLength - 3 // one tag byte, two length bytes
      expect(length).toBeGreaterThanOrEqual(128)
      expect(length).toBeLessThan(16384)
      const bytes = new Uint8Array(total)
      bytes.set(valid)
      bytes.set([(15 << 3) | 2, (length & 0x7f) | 0x80, length >> 7], valid.byteLength)
      return bytes
    }
    // exactly at the limit: decoders skip unknown fields, so the update is fine
    const atLimit = paddedTo(limit)
    expect(atLimit.byteLength).toBe(limit)
    expect(validateUpdate(atLimit, EXPECTATIONS).ok).toBe(true)
    // one byte more is refused unread
    const verdict = rejection(validateUpdate(paddedTo(limit + 1), EXPECTATIONS))
    expect(verdict.reason).toBe('too-large')
    expect(verdict.detail).toContain(String(limit))
    expect(rejection(validateUpdate(new Uint8Array(10 * limit).fill(0xff), EXPECTATIONS)).reason).toBe('too-large')
  })

  it("rejects garbage bytes as 'malformed'", () => {
    // 0xff… is a tag with wire type 7, which protobuf does not have
    expect(rejection(validateUpdate(new Uint8Array(64).fill(0xff), EXPECTATIONS)).reason).toBe('malformed')
    // seeded random garbage
    const garbage = randomBytes(createRandom(2024), 300)
    expect(rejection(validateUpdate(garbage, EXPECTATIONS)).reason).toBe('malformed')
  })

  it("rejects a truncated valid message as 'malformed'", () => {
    const valid = encodeUpdate(sampleUpdate(), FP32)
    expect(validateUpdate(valid, EXPECTATIONS).ok).toBe(true)
    // cut inside the second tensor's bytes, then inside the first
    expect(rejection(validateUpdate(valid.subarray(0, valid.byteLength - 12), EXPECTATIONS)).reason).toBe('malformed')
    expect(rejection(validateUpdate(valid.subarray(0, Math.floor(valid.byteLength / 2)), EXPECTATIONS)).reason).toBe('malformed')
  })

  it("rejects tensor data of the wrong byte length as 'malformed'", () => {
    const good = sampleMessage()
    const short = sampleMessage({ tensors: [{ shape: [4, 3], data: good.tensors[0]!.data.subarray(0, 47) }, good.tensors[1]!] })
    const long = sampleMessage({ tensors: [good.tensors[0]!, { shape: [3], data: new Uint8Array(16) }] })
    const empty = sampleMessage({ tensors: [good.tensors[0]!, { shape: [3], data: new Uint8Array(0) }] })
    for (const message of [short, long, empty]) {
      expect(rejection(validateUpdate(encodeModelUpdate(message), EXPECTATIONS)).reason).toBe('malformed')
    }
  })

  it("rejects a counter beyond Number.MAX_SAFE_INTEGER as 'malformed'", () => {
    const bytes = encodeModelUpdate(sampleMessage({ samples: 2 ** 60 }))
    expect(rejection(validateUpdate(bytes, EXPECTATIONS)).reason).toBe('malformed')
  })

  it("rejects another protocol version as 'protocol-version'", () => {
    const verdict = rejection(validateUpdate(encodeModelUpdate(sampleMessage({ protocolVersion: 99 })), EXPECTATIONS))
    expect(verdict.reason).toBe('protocol-version')
    expect(verdict.detail).toContain('99')
    // a message that omits the version (decodes as 0) is refused too
    expect(rejection(validateUpdate(encodeModelUpdate(sampleMessage({ protocolVersion: 0 })), EXPECTATIONS)).reason).toBe('protocol-version')
  })

  it("rejects an update of another swarm as 'wrong-swarm'", () => {
    const verdict = rejection(validateUpdate(encodeUpdate(sampleUpdate({ swarmId: OTHER_SWARM_ID }), FP32), EXPECTATIONS))
    expect(verdict.reason).toBe('wrong-swarm')
    expect(verdict.detail).toContain(OTHER_SWARM_ID)
    expect(rejection(validateUpdate(encodeUpdate(sampleUpdate({ swarmId: '' }), FP32), EXPECTATIONS)).reason).toBe('wrong-swarm')
  })

  it("rejects an unknown codec as 'unknown-codec'", () => {
    const verdict = rejection(validateUpdate(encodeModelUpdate(sampleMessage({ codec: 'int3' })), EXPECTATIONS))
    expect(verdict.reason).toBe('unknown-codec')
    expect(verdict.detail).toContain('int3')
    expect(rejection(validateUpdate(encodeModelUpdate(sampleMessage({ codec: '' })), EXPECTATIONS)).reason).toBe('unknown-codec')
  })

  it("rejects a tensor of the wrong shape as 'shape-mismatch', even with the right number of values", () => {
    const good = sampleMessage()
    // [3, 4] holds the same 12 values as [4, 3]: only the shape check can catch it
    const transposed = sampleMessage({ tensors: [{ shape: [3, 4], data: good.tensors[0]!.data }, good.tensors[1]!] })
    const flattened = sampleMessage({ tensors: [{ shape: [12], data: good.tensors[0]!.data }, good.tensors[1]!] })
    const wrongBias = sampleMessage({ tensors: [good.tensors[0]!, { shape: [4], data: new Uint8Array(16) }] })
    for (const message of [transposed, flattened, wrongBias]) {
      expect(rejection(validateUpdate(encodeModelUpdate(message), EXPECTATIONS)).reason).toBe('shape-mismatch')
    }
  })

  it("rejects the wrong number of tensors as 'shape-mismatch'", () => {
    const good = sampleMessage()
    const one = sampleMessage({ tensors: [good.tensors[0]!] })
    const none = sampleMessage({ tensors: [] })
    for (const message of [one, none]) {
      expect(rejection(validateUpdate(encodeModelUpdate(message), EXPECTATIONS)).reason).toBe('shape-mismatch')
    }
    // more tensors than the model has are stopped early by the decoder's limit (reported as 'malformed' today)
    const three = sampleMessage({ tensors: [...good.tensors, good.tensors[1]!] })
    expect(['shape-mismatch', 'malformed']).toContain(rejection(validateUpdate(encodeModelUpdate(three), EXPECTATIONS)).reason)
  })

  it("rejects NaN and infinite values as 'non-finite'", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const weights = sampleWeights()
      weights[1]!.values[2] = bad
      const verdict = rejection(validateUpdate(encodeUpdate(sampleUpdate({ weights }), FP32), EXPECTATIONS))
      expect(verdict.reason).toBe('non-finite')
      expect(verdict.detail).toContain('tensor 1')
    }
    const weights = sampleWeights()
    weights[0]!.values[0] = Number.NaN
    expect(rejection(validateUpdate(encodeUpdate(sampleUpdate({ weights }), FP32), EXPECTATIONS)).reason).toBe('non-finite')
  })

  it('never throws on 1,000 random byte strings, and rejects each with a known reason', () => {
    const random = createRandom(7)
    const seen = new Set<RejectionReason>()
    for (let i = 0; i < 1000; i++) {
      const bytes = randomBytes(random, random.integer(2001))
      let verdict: UpdateVerdict
      try {
        verdict = validateUpdate(bytes, EXPECTATIONS)
      } catch (error) {
        throw new Error(`validateUpdate threw on input ${i} (${bytes.byteLength} bytes): ${String(error)}`)
      }
      if (verdict.ok) throw new Error(`random input ${i} was accepted`)
      expect(REJECTION_REASONS).toContain(verdict.reason)
      expect(typeof verdict.detail).toBe('string')
      seen.add(verdict.reason)
    }
    // random bytes should mostly fail to decode
    expect(seen.has('malformed')).toBe(true)
  })
})
