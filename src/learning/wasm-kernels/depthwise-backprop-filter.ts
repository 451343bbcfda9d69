import * as tf from '@tensorflow/tfjs'
import { convAttributes, inputOf, requireChannelsLast, requireShape, shape4Of, type Shape4 } from './conv-attributes.js'
import { axesOf, explicitPadding, filterGradientPadding, forwardConvolution } from './conv-geometry.js'
import { KernelScope } from './kernel-scope.js'

const NAME = tf.DepthwiseConv2dNativeBackpropFilter

/**
 * dW[kh, kw, c, m] = sum over batch and output positions of x[b, oh*s + kh*d, ow*s + kw*d, c] * dy[b, oh, ow, c*M + m].
 * Putting every (channel, sample) pair in its own channel of one image, x' [1, H, W, C*B], and the
 * output gradient in the filter, dy' [OH, OW, C*B, M], makes each pair one depthwise convolution
 * (channel multiplier M); summing the B results of each channel gives the gradient.
 */
export function depthwiseConv2dBackpropFilter ({ inputs, backend, attrs = {} }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  requireChannelsLast(NAME, attrs)
  const x = inputOf(NAME, inputs, 'x')
  const dy = inputOf(NAME, inputs, 'dy')
  const filterShape = shape4Of(NAME, 'filterShape', attrs.filterShape)
  const attributes = convAttributes(NAME, attrs)
  const info = forwardConvolution(x.shape as Shape4, filterShape, attributes, true)
  requireShape(NAME, 'dy', dy, info.outShape)
  const [batch, inputHeight, inputWidth, channels] = x.shape as Shape4
  const [filterHeight, filterWidth, , multiplier] = filterShape
  const [, outputHeight, outputWidth] = info.outShape
  const [height, width] = axesOf(info)

  const scope = new KernelScope(backend)
  try {
    const image = scope.reshape(scope.transpose(x, [1, 2, 3, 0]), [1, inputHeight, inputWidth, channels * batch])
    const perSample = scope.reshape(dy, [batch, outputHeight, outputWidth, channels, multiplier])
    const filter = scope.reshape(scope.transpose(perSample, [1, 2, 3, 0, 4]), [outputHeight, outputWidth, channels * batch, multiplier])
    const grown = scope.run(tf.DepthwiseConv2dNative, { x: image, filter }, {
      strides: attributes.dilations,
      dilations: attributes.strides,
      pad: explicitPadding(filterGradientPadding(height), filterGradientPadding(width))
    })
    const cropped = scope.crop(grown, [0, 0, 0, 0], [1, filterHeight, filterWidth, channels * batch * multiplier])
    const split = scope.reshape(cropped, [filterHeight, filterWidth, channels, batch, multiplier])
    return scope.keep(scope.run(tf.Sum, { x: split }, { axis: [3], keepDims: false }))
  } finally {
    scope.close()
  }
}
