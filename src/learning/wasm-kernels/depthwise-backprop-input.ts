import * as tf from '@tensorflow/tfjs'
import { convAttributes, inputOf, requireChannelsLast, requireShape, shape4Of, type Shape4 } from './conv-attributes.js'
import { forwardConvolution } from './conv-geometry.js'
import { KernelScope } from './kernel-scope.js'
import { spreadGradient } from './spread-gradient.js'

const NAME = tf.DepthwiseConv2dNativeBackpropInput

/**
 * dx[b, h, w, c] = sum over filter taps and multipliers of dy[b, oh, ow, c*M + m] * W[kh, kw, c, m], where
 * h = oh*s + kh*d - padTop. That is a transposed convolution: spread dy out by the stride (zeros
 * between values), then run a stride-1 depthwise convolution with the filter flipped in space (each of
 * the C*M gradient channels by its own tap), and add up the M channels that feed each input channel.
 */
export function depthwiseConv2dBackpropInput ({ inputs, backend, attrs = {} }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  requireChannelsLast(NAME, attrs)
  const dy = inputOf(NAME, inputs, 'dy')
  const filter = inputOf(NAME, inputs, 'filter')
  const inputShape = shape4Of(NAME, 'inputShape', attrs.inputShape)
  const attributes = convAttributes(NAME, attrs)
  const info = forwardConvolution(inputShape, filter.shape as Shape4, attributes, true)
  requireShape(NAME, 'dy', dy, info.outShape)
  const [batch, inputHeight, inputWidth, channels] = inputShape
  const [filterHeight, filterWidth, , multiplier] = filter.shape as Shape4
  const outChannels = info.outChannels

  const scope = new KernelScope(backend)
  try {
    const { window, padding } = spreadGradient(scope, dy, info)
    const flipped = scope.reshape(scope.run(tf.Reverse, { x: filter }, { dims: [0, 1] }), [filterHeight, filterWidth, outChannels, 1])
    const perMultiplier = scope.run(tf.DepthwiseConv2dNative, { x: window, filter: flipped }, {
      strides: 1,
      dilations: [info.dilationHeight, info.dilationWidth],
      pad: padding
    })
    if (multiplier === 1) return scope.keep(scope.reshape(perMultiplier, [...inputShape]))
    const split = scope.reshape(perMultiplier, [batch, inputHeight, inputWidth, channels, multiplier])
    return scope.keep(scope.run(tf.Sum, { x: split }, { axis: [4], keepDims: false }))
  } finally {
    scope.close()
  }
}
