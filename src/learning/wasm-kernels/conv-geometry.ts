import * as tf from '@tensorflow/tfjs'
import type { ConvAttributes, Pair, Shape4 } from './conv-attributes.js'

/** The forward convolution a gradient belongs to, as tfjs computes it (padding, output size). */
export function forwardConvolution (inputShape: Shape4, filterShape: Shape4, attributes: ConvAttributes, depthwise: boolean): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(inputShape, filterShape, attributes.strides, attributes.dilations,
    attributes.pad, attributes.dimRoundingMode, depthwise, 'channelsLast')
}

/** One spatial axis (height or width) of a forward convolution. */
export interface Axis {
  readonly inputSize: number
  readonly outputSize: number
  readonly filterSize: number
  readonly stride: number
  readonly dilation: number
  /** zeros the forward convolution put before the input on this axis */
  readonly padBefore: number
}

export function axesOf (info: tf.backend_util.Conv2DInfo): [Axis, Axis] {
  return [
    { inputSize: info.inHeight, outputSize: info.outHeight, filterSize: info.filterHeight, stride: info.strideHeight, dilation: info.dilationHeight, padBefore: info.padInfo.top },
    { inputSize: info.inWidth, outputSize: info.outWidth, filterSize: info.filterWidth, stride: info.strideWidth, dilation: info.dilationWidth, padBefore: info.padInfo.left }
  ]
}

/**
 * Padding for the filter gradient computed as a convolution of the input with the output gradient:
 * dW[i] = sum over o of xPadded[o * stride + i * dilation] * dy[o], for i < filterSize. The output
 * gradient becomes the filter, dilated by the forward stride, and the forward dilation becomes the
 * stride. Only the zeros that some (i, o) reads are added after the input; when the output does not
 * tile the input exactly, that convolution yields more than filterSize positions and the caller crops.
 */
export function filterGradientPadding (axis: Axis): Pair {
  const reach = (axis.outputSize - 1) * axis.stride + (axis.filterSize - 1) * axis.dilation + 1
  return [axis.padBefore, Math.max(0, reach - axis.inputSize - axis.padBefore)]
}

/**
 * The input gradient as a stride-1 convolution of the output gradient with the flipped filter:
 * dx[h] = sum over i of z[h + i * dilation] * flipped[i], where z is the output gradient with
 * (stride - 1) zeros after each value, shifted by `before` and cut or zero-filled to the input size.
 * Negative amounts mean values that no input position receives; they are cropped instead of padded.
 */
export interface InputGradientAxis {
  /** length of the output gradient after zero insertion: outputSize * stride */
  readonly spreadSize: number
  /** window of the spread gradient that is used */
  readonly cropStart: number
  readonly cropSize: number
  /** zeros the stride-1 convolution adds around that window */
  readonly padding: Pair
}

export function inputGradientAxis (axis: Axis): InputGradientAxis {
  const spreadSize = axis.outputSize * axis.stride
  const before = (axis.filterSize - 1) * axis.dilation - axis.padBefore
  const after = axis.inputSize + (axis.filterSize - 1) * axis.dilation - before - spreadSize
  const cropStart = Math.max(0, -before)
  return {
    spreadSize,
    cropStart,
    cropSize: spreadSize - cropStart - Math.max(0, -after),
    padding: [Math.max(0, before), Math.max(0, after)]
  }
}

/** Explicit NHWC padding in the form the Conv2D kernels take. */
export function explicitPadding (height: Pair, width: Pair): [Pair, Pair, Pair, Pair] {
  return [[0, 0], height, width, [0, 0]]
}
