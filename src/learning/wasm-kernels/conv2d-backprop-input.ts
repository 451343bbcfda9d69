import * as tf from '@tensorflow/tfjs'
import { convAttributes, inputOf, requireChannelsLast, requireShape, shape4Of, type Shape4 } from './conv-attributes.js'
import { forwardConvolution } from './conv-geometry.js'
import { KernelScope } from './kernel-scope.js'
import { spreadGradient } from './spread-gradient.js'

const NAME = tf.Conv2DBackpropInput

/**
 * dx[b, h, w, ci] = sum over taps and output channels of dy[b, oh, ow, co] * W[kh, kw, ci, co], where
 * h = oh*s + kh*d - padTop: a transposed convolution. Spread dy out by the stride and convolve it,
 * stride 1, with the filter flipped in space and its channel axes swapped ([kh, kw, co, ci]).
 * The wasm backend's own kernel does the same sums in a plain loop; XNNPACK does them about ten
 * times faster, and this version also honours dilations.
 */
export function conv2dBackpropInput ({ inputs, backend, attrs = {} }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  requireChannelsLast(NAME, attrs)
  const dy = inputOf(NAME, inputs, 'dy')
  const filter = inputOf(NAME, inputs, 'filter')
  const inputShape = shape4Of(NAME, 'inputShape', attrs.inputShape)
  const attributes = convAttributes(NAME, attrs)
  const info = forwardConvolution(inputShape, filter.shape as Shape4, attributes, false)
  requireShape(NAME, 'dy', dy, info.outShape)

  const scope = new KernelScope(backend)
  try {
    const { window, padding } = spreadGradient(scope, dy, info)
    const flipped = scope.transpose(scope.run(tf.Reverse, { x: filter }, { dims: [0, 1] }), [0, 1, 3, 2])
    return scope.keep(scope.run(tf.Conv2D, { x: window, filter: flipped }, {
      strides: 1,
      dilations: [info.dilationHeight, info.dilationWidth],
      pad: padding,
      dataFormat: 'NHWC'
    }))
  } finally {
    scope.close()
  }
}

/** Channels-first gradients go to the backend's own kernel, which reads that layout; the rest come here. */
export function conv2dBackpropInputWithFallback (native: tf.KernelFunc | undefined): tf.KernelFunc {
  return parameters => native !== undefined && parameters.attrs?.dataFormat === 'NCHW'
    ? native(parameters)
    : conv2dBackpropInput(parameters)
}
