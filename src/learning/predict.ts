import * as tf from '@tensorflow/tfjs'
import type { Dataset } from '../data/dataset.js'
import { MurmurError } from '../errors.js'

export interface Predictions {
  /** the most probable class of each sample */
  readonly classes: Int32Array
  /** that class's probability */
  readonly confidence: Float32Array
  /** share of samples whose predicted class is their label */
  readonly accuracy: number
}

const CHUNK = 512

/** Runs a classifier over a dataset in chunks (samples are reshaped to the model's input). */
export function predict (model: tf.LayersModel, dataset: Dataset): Predictions {
  const inputShape = model.inputs[0]?.shape.slice(1) ?? []
  const size = dataset.inputShape.reduce((a, b) => a * b, 1)
  if (inputShape.some(axis => axis === null) || inputShape.reduce<number>((a, b) => a * (b ?? 0), 1) !== size) {
    throw new MurmurError('ERR_INVALID_DATA', `the model takes inputs of shape [${inputShape.join(', ')}] but ${dataset.name} has samples of shape [${dataset.inputShape.join(', ')}]`)
  }
  const classes = new Int32Array(dataset.count)
  const confidence = new Float32Array(dataset.count)
  let correct = 0
  for (let start = 0; start < dataset.count; start += CHUNK) {
    const count = Math.min(CHUNK, dataset.count - start)
    const [best, probability] = tf.tidy(() => {
      const x = tf.tensor(dataset.features.subarray(start * size, (start + count) * size), [count, ...inputShape as number[]])
      const output = model.predict(x) as tf.Tensor
      return [output.argMax(-1).dataSync(), output.max(-1).dataSync()]
    })
    for (let i = 0; i < count; i++) {
      classes[start + i] = best?.[i] ?? 0
      confidence[start + i] = probability?.[i] ?? 0
      if (classes[start + i] === dataset.labels[start + i]) correct++
    }
  }
  return { classes, confidence, accuracy: dataset.count === 0 ? 0 : correct / dataset.count }
}
