import * as tf from '@tensorflow/tfjs'
import type { Pair } from './conv-attributes.js'
import { axesOf, explicitPadding, inputGradientAxis } from './conv-geometry.js'
import type { KernelScope } from './kernel-scope.js'

/** An output gradient laid out so that a stride-1 convolution with the flipped filter yields the input gradient. */
export interface SpreadGradient {
  readonly window: tf.TensorInfo
  readonly padding: [Pair, Pair, Pair, Pair]
}

/**
 * Spreads dy out by the forward stride (stride - 1 zeros after each value along height and width:
 * a size-1 axis behind each, padded, then merged) and cuts the part the input gradient reads.
 * See inputGradientAxis for the arithmetic.
 */
export function spreadGradient (scope: KernelScope, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): SpreadGradient {
  const [height, width] = axesOf(info).map(inputGradientAxis) as [ReturnType<typeof inputGradientAxis>, ReturnType<typeof inputGradientAxis>]
  const [batch, outputHeight, outputWidth, channels] = dy.shape as [number, number, number, number]
  let spread = dy
  if (info.strideHeight > 1 || info.strideWidth > 1) {
    const apart = scope.reshape(dy, [batch, outputHeight, 1, outputWidth, 1, channels])
    const padded = scope.run(tf.PadV2, { x: apart }, {
      paddings: [[0, 0], [0, 0], [0, info.strideHeight - 1], [0, 0], [0, info.strideWidth - 1], [0, 0]],
      constantValue: 0
    })
    spread = scope.reshape(padded, [batch, height.spreadSize, width.spreadSize, channels])
  }
  return {
    window: scope.crop(spread, [0, height.cropStart, width.cropStart, 0], [batch, height.cropSize, width.cropSize, channels]),
    padding: explicitPadding(height.padding, width.padding)
  }
}
