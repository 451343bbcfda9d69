import * as tf from '@tensorflow/tfjs'
import { MurmurError } from '../../errors.js'

export type Pair = [number, number]
export type Shape4 = [number, number, number, number]
export type ExplicitPadding = [Pair, Pair, Pair, Pair]
export type Padding = 'valid' | 'same' | number | ExplicitPadding
export type RoundingMode = 'floor' | 'round' | 'ceil'

/** The attributes the convolution gradient kernels share, checked once and typed. */
export interface ConvAttributes {
  readonly strides: Pair
  readonly dilations: Pair
  readonly pad: Padding
  readonly dimRoundingMode: RoundingMode | undefined
}

function refuse (kernelName: string, problem: string): never {
  throw new MurmurError('ERR_INVALID_ARGUMENT', `${kernelName} on wasm: ${problem}`)
}

function isCount (value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
}

function isPair (value: unknown): value is Pair {
  return Array.isArray(value) && value.length === 2 && value.every(isCount)
}

/** A stride or dilation: one number for both axes, or [height, width]. */
function pairOf (kernelName: string, name: string, value: tf.Attribute | undefined, fallback: number): Pair {
  if (value === undefined || value === null) return [fallback, fallback]
  if (isCount(value) && value > 0) return [value, value]
  if (isPair(value) && value[0] > 0 && value[1] > 0) return [value[0], value[1]]
  return refuse(kernelName, `${name} must be a positive integer or a pair of them, got ${JSON.stringify(value)}`)
}

function isPadding (value: unknown): value is Padding {
  if (value === 'valid' || value === 'same' || isCount(value)) return true
  return Array.isArray(value) && value.length === 4 && value.every(isPair)
}

function paddingOf (kernelName: string, value: tf.Attribute | undefined): Padding {
  if (isPadding(value)) return value
  return refuse(kernelName, `pad must be 'valid', 'same', a number or explicit [[top, bottom], ...] pairs, got ${JSON.stringify(value)}`)
}

function isRoundingMode (value: unknown): value is RoundingMode {
  return value === 'floor' || value === 'round' || value === 'ceil'
}

function roundingOf (kernelName: string, value: tf.Attribute | undefined): RoundingMode | undefined {
  if (value === undefined || value === null) return undefined
  if (isRoundingMode(value)) return value
  return refuse(kernelName, `dimRoundingMode must be 'floor', 'round' or 'ceil', got ${JSON.stringify(value)}`)
}

/** XNNPACK works on channels-last tensors only; a channels-first request is refused rather than misread. */
export function requireChannelsLast (kernelName: string, attrs: tf.NamedAttrMap): void {
  const format = attrs.dataFormat
  if (format === undefined || format === null || format === 'NHWC') return
  refuse(kernelName, format === 'NCHW'
    ? 'dataFormat NCHW is not supported; the wasm backend convolves channels-last (NHWC) tensors only'
    : `unknown dataFormat ${JSON.stringify(format)}`)
}

export function convAttributes (kernelName: string, attrs: tf.NamedAttrMap): ConvAttributes {
  return {
    strides: pairOf(kernelName, 'strides', attrs.strides, 1),
    // tfjs never passes dilations to Conv2DBackpropFilter (its conv2d gradient refuses dilated
    // convolutions); a caller that does gets them honoured rather than silently ignored.
    dilations: pairOf(kernelName, 'dilations', attrs.dilations, 1),
    pad: paddingOf(kernelName, attrs.pad),
    dimRoundingMode: roundingOf(kernelName, attrs.dimRoundingMode)
  }
}

export function shape4Of (kernelName: string, name: string, value: tf.Attribute | undefined): Shape4 {
  if (Array.isArray(value) && value.length === 4 && value.every(size => isCount(size) && size > 0)) return value as Shape4
  return refuse(kernelName, `${name} must list four positive sizes, got ${JSON.stringify(value)}`)
}

export function inputOf (kernelName: string, inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const input = inputs[name]
  if (input === undefined) return refuse(kernelName, `input ${name} is missing`)
  if (input.shape.length !== 4) return refuse(kernelName, `input ${name} must have rank 4, got shape [${input.shape.join(', ')}]`)
  if (input.dtype !== 'float32') return refuse(kernelName, `input ${name} must be float32, got ${input.dtype}`)
  return input
}

/** A gradient of the wrong shape would otherwise be read with the wrong strides and give silent garbage. */
export function requireShape (kernelName: string, name: string, input: tf.TensorInfo, expected: readonly number[]): void {
  if (input.shape.length !== expected.length || input.shape.some((size, axis) => size !== expected[axis])) {
    refuse(kernelName, `input ${name} has shape [${input.shape.join(', ')}] but the convolution's output has shape [${expected.join(', ')}]`)
  }
}

/** The attributes of a pooling gradient: window, strides, padding. */
export interface PoolAttributes {
  readonly filterSize: Pair
  readonly strides: Pair
  readonly pad: Padding
  readonly dimRoundingMode: RoundingMode | undefined
}

export function poolAttributes (kernelName: string, attrs: tf.NamedAttrMap): PoolAttributes {
  return {
    filterSize: pairOf(kernelName, 'filterSize', attrs.filterSize, 1),
    strides: pairOf(kernelName, 'strides', attrs.strides, 1),
    pad: paddingOf(kernelName, attrs.pad),
    dimRoundingMode: roundingOf(kernelName, attrs.dimRoundingMode)
  }
}
