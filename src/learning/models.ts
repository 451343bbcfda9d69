import { MurmurError } from '../errors.js'

/**
 * Models are described as data (in the manner of tfjs-layers' JSON), so that a manifest can carry the
 * architecture and every node builds exactly the same network from it.
 */
export type Activation = 'relu' | 'softmax' | 'linear' | 'tanh' | 'sigmoid'

export type LayerSpec =
  | { type: 'flatten' }
  | { type: 'dense'; units: number; activation: Activation }
  | { type: 'conv2d'; filters: number; kernelSize: number; strides: number; padding: 'same' | 'valid'; activation: Activation }
  | { type: 'maxPooling2d'; poolSize: number }
  /** a fixed 2-D DCT of each channel keeping the size × size lowest frequencies (dct-layer.ts): no weights */
  | { type: 'dct2d'; size: number }

/** A network from the small built-in registry, as a list of layers. */
export interface LayerListModelSpec {
  /** registry name, e.g. 'mlp' */
  readonly name: string
  readonly layers: readonly LayerSpec[]
}

/** One weight tensor of a topology model: its tfjs-layers name (e.g. dense_1/kernel) and shape. */
export interface TopologyWeight {
  readonly name: string
  readonly shape: readonly number[]
}

/**
 * A network brought by the user as a tfjs-layers topology (model.json's modelTopology, the same JSON
 * Keras writes as model_config), e.g. through `murmur manifest --model-file`. Checked by topology-spec.ts, built by layers-model.ts.
 */
export interface TopologyModelSpec {
  readonly name: string
  /** { class_name, config } exactly as tfjs-layers or Keras write it */
  readonly topology: Readonly<Record<string, unknown>>
  /**
   * Every weight of the network in tfjs-layers' order (trainable ones first, then the others, such
   * as batch normalization's moving statistics): what nodes exchange and check updates against.
   */
  readonly weights: readonly TopologyWeight[]
  /** the weights every node starts from, from the model's weight files; seeded like the built-ins when absent */
  readonly initialWeights?: { readonly encoding: 'float32-le-base64'; readonly data: string }
}

export type ModelSpec = LayerListModelSpec | TopologyModelSpec

export function isTopologySpec (spec: ModelSpec): spec is TopologyModelSpec {
  return 'topology' in spec
}

export const MODEL_NAMES = ['mlp', 'cnn', 'logistic', 'dct-mlp'] as const
export type ModelName = typeof MODEL_NAMES[number]

export function isModelName (name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name)
}

/** The small registry of architectures a swarm can be created with. */
export function modelSpec (name: string, classes: number): LayerListModelSpec {
  const output: LayerSpec = { type: 'dense', units: classes, activation: 'softmax' }
  switch (name) {
    case 'logistic':
      return { name, layers: [{ type: 'flatten' }, output] }
    case 'mlp':
      return { name, layers: [{ type: 'flatten' }, { type: 'dense', units: 128, activation: 'relu' }, output] }
    case 'dct-mlp':
      // Made for record-level DP-SGD (docs/privacy.md): a fixed DCT keeps 8 × 8 frequencies per channel,
      // so the noise covers 4,810 weights (MNIST) instead of the mlp's 101,770; tanh, not relu (Papernot
      // et al., "Tempered Sigmoid Activations for Deep Learning with Differential Privacy", AAAI 2021).
      return { name, layers: [{ type: 'dct2d', size: 8 }, { type: 'flatten' }, { type: 'dense', units: 64, activation: 'tanh' }, output] }
    case 'cnn':
      return {
        name,
        layers: [
          { type: 'conv2d', filters: 8, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu' },
          { type: 'maxPooling2d', poolSize: 2 },
          { type: 'conv2d', filters: 16, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu' },
          { type: 'maxPooling2d', poolSize: 2 },
          { type: 'flatten' },
          output
        ]
      }
    default:
      throw new MurmurError('ERR_UNKNOWN_MODEL', `unknown model "${name}": choose one of ${MODEL_NAMES.join(', ')}`)
  }
}

/** Whether training the model needs convolution gradients (which the wasm backend lacks today). */
export function hasConvolutions (spec: ModelSpec): boolean {
  if (isTopologySpec(spec)) return topologyLayers(spec.topology).some(layer => /Conv|Pooling/.test(layer.className))
  return spec.layers.some(layer => layer.type === 'conv2d')
}

/**
 * The tfjs-layers / Keras layer classes a topology model may use: those whose forward pass and
 * gradients both backends run (test/topology-model.test.ts trains a network made of all of them).
 */
export const SUPPORTED_LAYERS = [
  'InputLayer', 'Dense', 'Flatten', 'Reshape', 'Dropout', 'BatchNormalization', 'LayerNormalization',
  'Activation', 'ReLU', 'LeakyReLU', 'ELU', 'Softmax', 'Conv2D', 'DepthwiseConv2D', 'MaxPooling2D',
  'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Add', 'Concatenate'
] as const

/** One layer of a topology, as far as murmur needs to know it without TF.js. */
export interface TopologyLayer {
  readonly className: string
  readonly name: string
  readonly config: Readonly<Record<string, unknown>>
}

function objectOf (value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : null
}

/**
 * The layers of a Sequential or functional topology ({ class_name, config }), in order. Nested models
 * come out as one layer of class Sequential/Functional/Model, which is not supported.
 */
export function topologyLayers (topology: Readonly<Record<string, unknown>>): TopologyLayer[] {
  const config = topology.config
  // Old Sequential topologies hold the layer list as config itself.
  const list = Array.isArray(config) ? config as unknown[] : objectOf(config)?.layers
  if (!Array.isArray(list)) throw new MurmurError('ERR_INVALID_MANIFEST', 'the model topology has no layer list (expected { class_name, config: { layers: [...] } })')
  return list.map((entry, index) => {
    const layer = objectOf(entry)
    const className = layer?.class_name
    if (layer === null || typeof className !== 'string') throw new MurmurError('ERR_INVALID_MANIFEST', `layer ${index} of the model topology has no class_name`)
    const layerConfig = objectOf(layer.config) ?? {}
    return { className, name: typeof layerConfig.name === 'string' ? layerConfig.name : typeof layer.name === 'string' ? layer.name : `#${index}`, config: layerConfig }
  })
}

/** Refuses a topology that uses a layer murmur does not support, naming it. */
export function checkTopologyLayers (topology: Readonly<Record<string, unknown>>): TopologyLayer[] {
  const layers = topologyLayers(topology)
  if (layers.length === 0) throw new MurmurError('ERR_INVALID_MANIFEST', 'the model topology has no layers')
  for (const layer of layers) {
    if (!(SUPPORTED_LAYERS as readonly string[]).includes(layer.className)) {
      throw new MurmurError('ERR_INVALID_MANIFEST', `unsupported layer ${layer.className} ("${layer.name}"): murmur trains models made of ${SUPPORTED_LAYERS.join(', ')} (see docs/models.md)`)
    }
  }
  return layers
}

/**
 * Shape of one sample the topology takes (without the batch axis), from its first layer's
 * batch_input_shape (tfjs-layers, Keras 2) or batch_shape (Keras 3).
 */
export function topologyInputShape (topology: Readonly<Record<string, unknown>>): number[] {
  const first = topologyLayers(topology)[0]
  const shape = first?.config.batch_input_shape ?? first?.config.batch_shape
  if (!Array.isArray(shape) || shape.length < 2 || !shape.slice(1).every(size => Number.isInteger(size) && (size as number) > 0)) {
    throw new MurmurError('ERR_INVALID_MANIFEST', 'the model topology does not fix its input shape: its first layer needs batch_input_shape (e.g. [null, 28, 28, 1])')
  }
  return shape.slice(1) as number[]
}

export interface WeightShape {
  readonly shape: readonly number[]
  /** 'kernel' weights get a Glorot initialisation, 'bias' weights start at zero, 'scale' weights at one */
  readonly role: 'kernel' | 'bias' | 'scale'
}

/** How a topology weight starts when the model brings no weights, by the last part of its name. */
function topologyRole (name: string): WeightShape['role'] {
  const last = name.slice(name.lastIndexOf('/') + 1)
  if (/kernel|embeddings/.test(last)) return 'kernel'
  if (last === 'gamma' || last === 'moving_variance') return 'scale'
  return 'bias'
}

/**
 * The shapes of the trainable weights in the order tfjs-layers reports them (per layer: kernel, bias),
 * computed from the description alone so that learning code and validators agree without TF.js.
 */
export function weightShapes (spec: ModelSpec, inputShape: readonly number[]): WeightShape[] {
  // A topology model declares its weights; the trainer checks them against what TF.js builds.
  if (isTopologySpec(spec)) return spec.weights.map(weight => ({ shape: [...weight.shape], role: topologyRole(weight.name) }))
  return walkLayers(spec, inputShape).weights
}

/**
 * The shape of each layer's output for one sample, in layer order (what training holds per sample).
 * Empty for a topology model: only TF.js knows its outputs (topology-spec.ts bounds its parameters).
 */
export function outputShapes (spec: ModelSpec, inputShape: readonly number[]): number[][] {
  return isTopologySpec(spec) ? [] : walkLayers(spec, inputShape).outputs
}

function walkLayers (spec: LayerListModelSpec, inputShape: readonly number[]): { weights: WeightShape[]; outputs: number[][] } {
  let shape = [...inputShape]
  const shapes: WeightShape[] = []
  const outputs: number[][] = []
  for (const layer of spec.layers) {
    switch (layer.type) {
      case 'flatten':
        shape = [shape.reduce((a, b) => a * b, 1)]
        break
      case 'dense': {
        const inputs = shape[shape.length - 1] ?? 0
        if (shape.length !== 1) throw new MurmurError('ERR_INVALID_MANIFEST', `dense layer needs a flat input, got shape [${shape.join(', ')}]: add a flatten layer before it`)
        shapes.push({ shape: [inputs, layer.units], role: 'kernel' }, { shape: [layer.units], role: 'bias' })
        shape = [layer.units]
        break
      }
      case 'conv2d': {
        const [height = 0, width = 0, channels = 0] = shape
        if (shape.length !== 3) throw new MurmurError('ERR_INVALID_MANIFEST', `conv2d needs an input of shape [height, width, channels], got [${shape.join(', ')}]`)
        shapes.push({ shape: [layer.kernelSize, layer.kernelSize, channels, layer.filters], role: 'kernel' }, { shape: [layer.filters], role: 'bias' })
        const outputSize = (size: number): number => layer.padding === 'same'
          ? Math.ceil(size / layer.strides)
          : Math.floor((size - layer.kernelSize) / layer.strides) + 1
        shape = [outputSize(height), outputSize(width), layer.filters]
        break
      }
      case 'dct2d': {
        const [height = 0, width = 0, channels = 0] = shape
        if (shape.length !== 3) throw new MurmurError('ERR_INVALID_MANIFEST', `dct2d needs an input of shape [height, width, channels], got [${shape.join(', ')}]`)
        if (layer.size > height || layer.size > width) throw new MurmurError('ERR_INVALID_MANIFEST', `dct2d keeps ${layer.size} × ${layer.size} frequencies, more than an input of ${height} × ${width} has`)
        shape = [layer.size, layer.size, channels]
        break
      }
      case 'maxPooling2d': {
        const [height = 0, width = 0, channels = 0] = shape
        if (shape.length !== 3) throw new MurmurError('ERR_INVALID_MANIFEST', `maxPooling2d needs an input of shape [height, width, channels], got [${shape.join(', ')}]`)
        shape = [Math.floor(height / layer.poolSize), Math.floor(width / layer.poolSize), channels]
        break
      }
    }
    if (shape.some(size => size <= 0)) {
      throw new MurmurError('ERR_INVALID_MANIFEST', `the ${layer.type} layer leaves nothing of the input: its output shape would be [${shape.join(', ')}]; the input is too small for this model`)
    }
    outputs.push([...shape])
  }
  return { weights: shapes, outputs }
}
