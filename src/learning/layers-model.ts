import * as tf from '@tensorflow/tfjs'
import { MurmurError } from '../errors.js'
import { isTopologySpec, topologyInputShape, type LayerSpec } from './models.js'
import { sameShapes, type Weights } from './weights.js'
import type { Manifest } from './manifest.js'
import { Dct2dLayer } from './dct-layer.js'

function buildLayer (layer: LayerSpec, inputShape: number[] | undefined): tf.layers.Layer {
  const input = inputShape === undefined ? {} : { inputShape }
  switch (layer.type) {
    case 'flatten':
      // TF.js's Flatten refuses a flat input (ndim 2 with the batch), which records from CSV files
      // or arrays are: as the first layer, an identity reshape stands in for it (no weights either way).
      return inputShape !== undefined && inputShape.length === 1 ? tf.layers.reshape({ inputShape, targetShape: inputShape }) : tf.layers.flatten(input)
    case 'dense':
      return tf.layers.dense({ ...input, units: layer.units, activation: layer.activation })
    case 'conv2d':
      return tf.layers.conv2d({ ...input, filters: layer.filters, kernelSize: layer.kernelSize, strides: layer.strides, padding: layer.padding, activation: layer.activation })
    case 'maxPooling2d':
      return tf.layers.maxPooling2d({ ...input, poolSize: layer.poolSize })
    case 'dct2d':
      return new Dct2dLayer({ ...input, size: layer.size })
  }
}

function product (shape: readonly (number | null)[]): number {
  return shape.reduce<number>((a, b) => a * (b ?? 0), 1)
}

/** Whether the model's output is class probabilities: its last layer ends in a softmax. */
function endsInSoftmax (model: tf.LayersModel): boolean {
  const last = model.layers[model.layers.length - 1]
  if (last === undefined) return false
  const config = last.getConfig()
  return last.getClassName() === 'Softmax' || config.activation === 'softmax'
}

/**
 * Checks a model TF.js built against the data it is to learn: one input holding as many values as a
 * sample (it is reshaped to the model's input), one output of one probability per class.
 */
export function checkAgainstData (model: tf.LayersModel, dataset: { readonly inputShape: readonly number[]; readonly classes: number }): void {
  const inputs = model.inputs.map(input => input.shape)
  const outputs = model.outputs.map(output => output.shape)
  const input = inputs[0]
  const output = outputs[0]
  if (inputs.length !== 1 || input === undefined) throw new MurmurError('ERR_INVALID_MANIFEST', `the model has ${inputs.length} inputs; murmur trains models with one input`)
  if (outputs.length !== 1 || output === undefined) throw new MurmurError('ERR_INVALID_MANIFEST', `the model has ${outputs.length} outputs; murmur trains models with one output`)
  const sample = input.slice(1)
  if (product(sample) !== product(dataset.inputShape)) {
    throw new MurmurError('ERR_INVALID_MANIFEST', `the model takes inputs of shape [${sample.join(', ')}] but the data has samples of shape [${dataset.inputShape.join(', ')}] (${product(dataset.inputShape)} values, the model wants ${product(sample)})`)
  }
  if (output.length !== 2 || output[1] !== dataset.classes) {
    throw new MurmurError('ERR_INVALID_MANIFEST', `the model's output has shape [${output.slice(1).join(', ')}] but the data has ${dataset.classes} classes: end the model with a dense layer of ${dataset.classes} units`)
  }
  if (!endsInSoftmax(model)) {
    throw new MurmurError('ERR_INVALID_MANIFEST', 'the model must output class probabilities: end it with a softmax activation (murmur trains with sparse categorical cross-entropy)')
  }
}

/** The network TF.js builds from a topology, before its weights are set. */
export async function modelFromTopology (topology: Readonly<Record<string, unknown>>): Promise<tf.LayersModel> {
  try {
    return await tf.models.modelFromJSON({ modelTopology: topology as tf.io.ModelJSON['modelTopology'] })
  } catch (error) {
    throw new MurmurError('ERR_INVALID_MANIFEST', `TF.js cannot build the model topology: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
}

/**
 * Builds the manifest's network, uncompiled. A topology model is checked against the data and
 * against the weights the manifest declares, so a manifest cannot promise nodes other shapes than
 * the network has.
 */
export async function buildModel (manifest: Manifest): Promise<tf.LayersModel> {
  const spec = manifest.model
  if (!isTopologySpec(spec)) {
    const model = tf.sequential()
    spec.layers.forEach((layer, index) => {
      model.add(buildLayer(layer, index === 0 ? [...manifest.dataset.inputShape] : undefined))
    })
    return model
  }
  topologyInputShape(spec.topology)
  const model = await modelFromTopology(spec.topology)
  try {
    checkAgainstData(model, manifest.dataset)
    if (!sameShapes(weightList(model), spec.weights)) {
      throw new MurmurError('ERR_INVALID_MANIFEST', `invalid manifest: model.weights lists ${spec.weights.length} weights of shapes ${spec.weights.map(w => `[${w.shape.join(',')}]`).join(' ')}, but the topology builds ${model.weights.length} of shapes ${model.weights.map(w => `[${w.shape.join(',')}]`).join(' ')}`)
    }
  } catch (error) {
    model.dispose()
    throw error
  }
  return model
}

/** Which weights of a model a spec describes, by tfjs-layers' original (not uniquified) names. */
export function weightList (model: tf.LayersModel): { name: string; shape: number[] }[] {
  return model.weights.map(weight => ({ name: weight.originalName, shape: weight.shape.map(size => size ?? 0) }))
}

export function readWeights (model: tf.LayersModel): Weights {
  return model.getWeights().map(tensor => ({ shape: [...tensor.shape], values: Float32Array.from(tensor.dataSync()) }))
}

export function writeWeights (model: tf.LayersModel, weights: Weights): void {
  if (!sameShapes(weightList(model), weights)) throw new MurmurError('ERR_INVALID_ARGUMENT', 'weights do not fit this model')
  const tensors = weights.map(w => tf.tensor(w.values.slice(), [...w.shape]))
  try {
    model.setWeights(tensors)
  } finally {
    tf.dispose(tensors)
  }
}

/** Makes a spec's model name from a topology's own name, when it has one. */
export function topologyName (topology: Readonly<Record<string, unknown>>): string | null {
  const config = topology.config
  const name = typeof config === 'object' && config !== null && !Array.isArray(config) ? (config as Record<string, unknown>).name : undefined
  return typeof name === 'string' && name !== '' ? name : null
}
