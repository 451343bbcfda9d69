import { MurmurError } from '../errors.js'
import type { Manifest } from './manifest.js'
import { isTopologySpec, outputShapes, weightShapes } from './models.js'

/**
 * The largest values a manifest may hold. Every node of a swarm builds the manifest's model and
 * allocates for it what the manifest says, so a manifest from a file or from flags is refused
 * beyond these, with an error naming the field, rather than exhausting the machine's memory. They
 * are far above what murmur's models and datasets use (the CNN on MNIST: 28×28×1 inputs, 10 classes,
 * ~5,000 parameters, 32 samples a batch).
 */
export const MANIFEST_LIMITS = {
  /** characters of model.name and dataset.name */
  nameLength: 256,
  /** dimensions of dataset.inputShape */
  inputRank: 4,
  /** each entry of dataset.inputShape */
  inputDimension: 65_536,
  /** values in one sample: the product of dataset.inputShape */
  inputValues: 1 << 24,
  classes: 65_536,
  layers: 64,
  /** units of a dense layer */
  units: 65_536,
  /** filters of a conv2d layer */
  filters: 4_096,
  /** kernelSize, strides and poolSize */
  window: 64,
  /** trainable values in all: 32 Mi, 128 MiB as fp32 (every model update carries them all) */
  parameters: 1 << 25,
  /** values of the largest layer output for a whole batch: 256 Mi, 1 GiB as fp32 */
  batchActivations: 1 << 28,
  batchSize: 65_536,
  localSteps: 1_000_000,
  learningRate: 10,
  fanout: 1_024
} as const

function refuse (message: string): never {
  throw new MurmurError('ERR_INVALID_MANIFEST', `invalid manifest: ${message}`)
}

function atMost (value: number, limit: number, path: string, unit = ''): void {
  if (value > limit) refuse(`${path} is ${value}${unit}, more than the ${limit}${unit} murmur accepts (MANIFEST_LIMITS)`)
}

/** Refuses a manifest (already checked field by field) that is beyond MANIFEST_LIMITS, naming the field. */
export function checkManifestBounds (manifest: Manifest): void {
  const limits = MANIFEST_LIMITS
  atMost(manifest.model.name.length, limits.nameLength, 'model.name', ' characters')
  atMost(manifest.dataset.name.length, limits.nameLength, 'dataset.name', ' characters')
  const { inputShape, classes } = manifest.dataset
  if (inputShape.length > limits.inputRank) refuse(`dataset.inputShape has ${inputShape.length} dimensions, more than the ${limits.inputRank} murmur accepts (MANIFEST_LIMITS)`)
  inputShape.forEach((size, index) => { atMost(size, limits.inputDimension, `dataset.inputShape[${index}]`) })
  atMost(inputShape.reduce((a, b) => a * b, 1), limits.inputValues, 'the product of dataset.inputShape (values in a sample)')
  atMost(classes, limits.classes, 'dataset.classes')
  // A topology model's layers are TF.js configurations: topology-spec.ts bounds them (layer count, parameters).
  const layers = isTopologySpec(manifest.model) ? [] : manifest.model.layers
  atMost(layers.length, limits.layers, 'the number of model.layers')
  layers.forEach((layer, index) => {
    const path = `model.layers[${index}]`
    if (layer.type === 'dense') atMost(layer.units, limits.units, `${path}.units`)
    if (layer.type === 'conv2d') {
      atMost(layer.filters, limits.filters, `${path}.filters`)
      atMost(layer.kernelSize, limits.window, `${path}.kernelSize`)
      atMost(layer.strides, limits.window, `${path}.strides`)
    }
    if (layer.type === 'maxPooling2d') atMost(layer.poolSize, limits.window, `${path}.poolSize`)
    if (layer.type === 'dct2d') atMost(layer.size, limits.window, `${path}.size`)
  })
  const { training, exchange } = manifest
  atMost(training.batchSize, limits.batchSize, 'training.batchSize')
  atMost(training.localSteps, limits.localSteps, 'training.localSteps')
  atMost(training.learningRate, limits.learningRate, 'training.learningRate')
  atMost(exchange.fanout, limits.fanout, 'exchange.fanout')
  // Sizes that follow from the fields together: the model's weights, and what one batch holds.
  const parameters = weightShapes(manifest.model, inputShape).reduce((total, weight) => total + weight.shape.reduce((a, b) => a * b, 1), 0)
  atMost(parameters, limits.parameters, 'the model\'s trainable parameters')
  outputShapes(manifest.model, inputShape).forEach((shape, index) => {
    atMost(shape.reduce((a, b) => a * b, 1) * training.batchSize, limits.batchActivations, `the output of model.layers[${index}] for a batch of training.batchSize samples (values)`)
  })
}
