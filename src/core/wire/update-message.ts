/* eslint-disable import/export */
/* eslint-disable complexity */
/* eslint-disable @typescript-eslint/no-namespace */
/* eslint-disable @typescript-eslint/no-unnecessary-boolean-literal-compare */
/* eslint-disable @typescript-eslint/no-empty-interface */
/* eslint-disable import/consistent-type-specifier-style */
/* eslint-disable @typescript-eslint/no-unused-vars */

import { decodeMessage, encodeMessage, MaxLengthError, message } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface ModelUpdate {
  protocolVersion: number
  swarmId: string
  step: bigint
  samples: bigint
  codec: string
  tensors: TensorData[]
  createdAt: bigint
  base: bigint
}

export namespace ModelUpdate {
  let _codec: Codec<ModelUpdate>

  export const codec = (): Codec<ModelUpdate> => {
    if (_codec == null) {
      _codec = message<ModelUpdate>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.protocolVersion != null && obj.protocolVersion !== 0)) {
          w.uint32(8)
          w.uint32(obj.protocolVersion)
        }

        if ((obj.swarmId != null && obj.swarmId !== '')) {
          w.uint32(18)
          w.string(obj.swarmId)
        }

        if ((obj.step != null && obj.step !== 0n)) {
          w.uint32(24)
          w.uint64(obj.step)
        }

        if ((obj.samples != null && obj.samples !== 0n)) {
          w.uint32(32)
          w.uint64(obj.samples)
        }

        if ((obj.codec != null && obj.codec !== '')) {
          w.uint32(42)
          w.string(obj.codec)
        }

        if (obj.tensors != null) {
          for (const value of obj.tensors) {
            w.uint32(50)
            TensorData.codec().encode(value, w)
          }
        }

        if ((obj.createdAt != null && obj.createdAt !== 0n)) {
          w.uint32(56)
          w.uint64(obj.createdAt)
        }

        if ((obj.base != null && obj.base !== 0n)) {
          w.uint32(64)
          w.uint64(obj.base)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          protocolVersion: 0,
          swarmId: '',
          step: 0n,
          samples: 0n,
          codec: '',
          tensors: [],
          createdAt: 0n,
          base: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.protocolVersion = reader.uint32()
              break
            }
            case 2: {
              obj.swarmId = reader.string()
              break
            }
            case 3: {
              obj.step = reader.uint64()
              break
            }
            case 4: {
              obj.samples = reader.uint64()
              break
            }
            case 5: {
              obj.codec = reader.string()
              break
            }
            case 6: {
              if (opts.limits?.tensors != null && obj.tensors.length === opts.limits.tensors) {
                throw new MaxLengthError('Decode error - map field "tensors" had too many elements')
              }

              obj.tensors.push(TensorData.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.tensors$
              }))
              break
            }
            case 7: {
              obj.createdAt = reader.uint64()
              break
            }
            case 8: {
              obj.base = reader.uint64()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      })
    }

    return _codec
  }

  export const encode = (obj: Partial<ModelUpdate>): Uint8Array => {
    return encodeMessage(obj, ModelUpdate.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ModelUpdate>): ModelUpdate => {
    return decodeMessage(buf, ModelUpdate.codec(), opts)
  }
}

export interface TensorData {
  shape: number[]
  data: Uint8Array
}

export namespace TensorData {
  let _codec: Codec<TensorData>

  export const codec = (): Codec<TensorData> => {
    if (_codec == null) {
      _codec = message<TensorData>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.shape != null) {
          for (const value of obj.shape) {
            w.uint32(8)
            w.uint32(value)
          }
        }

        if ((obj.data != null && obj.data.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.data)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          shape: [],
          data: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.shape != null && obj.shape.length === opts.limits.shape) {
                throw new MaxLengthError('Decode error - map field "shape" had too many elements')
              }

              obj.shape.push(reader.uint32())
              break
            }
            case 2: {
              obj.data = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      })
    }

    return _codec
  }

  export const encode = (obj: Partial<TensorData>): Uint8Array => {
    return encodeMessage(obj, TensorData.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TensorData>): TensorData => {
    return decodeMessage(buf, TensorData.codec(), opts)
  }
}

export interface Announcement {
  protocolVersion: number
  swarmId: string
  step: bigint
  samples: bigint
  createdAt: bigint
}

export namespace Announcement {
  let _codec: Codec<Announcement>

  export const codec = (): Codec<Announcement> => {
    if (_codec == null) {
      _codec = message<Announcement>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.protocolVersion != null && obj.protocolVersion !== 0)) {
          w.uint32(8)
          w.uint32(obj.protocolVersion)
        }

        if ((obj.swarmId != null && obj.swarmId !== '')) {
          w.uint32(18)
          w.string(obj.swarmId)
        }

        if ((obj.step != null && obj.step !== 0n)) {
          w.uint32(24)
          w.uint64(obj.step)
        }

        if ((obj.samples != null && obj.samples !== 0n)) {
          w.uint32(32)
          w.uint64(obj.samples)
        }

        if ((obj.createdAt != null && obj.createdAt !== 0n)) {
          w.uint32(40)
          w.uint64(obj.createdAt)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          protocolVersion: 0,
          swarmId: '',
          step: 0n,
          samples: 0n,
          createdAt: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.protocolVersion = reader.uint32()
              break
            }
            case 2: {
              obj.swarmId = reader.string()
              break
            }
            case 3: {
              obj.step = reader.uint64()
              break
            }
            case 4: {
              obj.samples = reader.uint64()
              break
            }
            case 5: {
              obj.createdAt = reader.uint64()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      })
    }

    return _codec
  }

  export const encode = (obj: Partial<Announcement>): Uint8Array => {
    return encodeMessage(obj, Announcement.codec())
  }

  export const decode = (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Announcement>): Announcement => {
    return decodeMessage(buf, Announcement.codec(), opts)
  }
}
