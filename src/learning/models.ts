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

export interface ModelSpec {
  /** registry name, e.g. 'mlp' */
  readonly name: string
  readonly layers: readonly LayerSpec[]
}

export const MODEL_NAMES = ['mlp', 'cnn', 'logistic'] as const
export type ModelName = typeof MODEL_NAMES[number]

export function isModelName (name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name)
}

/** The small registry of architectures a swarm can be created with. */
export function modelSpec (name: string, classes: number): ModelSpec {
  const output: LayerSpec = { type: 'dense', units: classes, activation: 'softmax' }
  switch (name) {
    case 'logistic':
      return { name, layers: [{ type: 'flatten' }, output] }
    case 'mlp':
      return { name, layers: [{ type: 'flatten' }, { type: 'dense', units: 128, activation: 'relu' }, output] }
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
  return spec.layers.some(layer => layer.type === 'conv2d')
}

export interface WeightShape {
  readonly shape: readonly number[]
  /** 'kernel' weights get a Glorot initialisation, 'bias' weights start at zero */
  readonly role: 'kernel' | 'bias'
}

/**
 * The shapes of the trainable weights in the order tfjs-layers reports them (per layer: kernel, bias),
 * computed from the description alone so that learning code and validators agree without TF.js.
 */
export function weightShapes (spec: ModelSpec, inputShape: readonly number[]): WeightShape[] {
  return walkLayers(spec, inputShape).weights
}

/** The shape of each layer's output for one sample, in layer order (what training holds per sample). */
export function outputShapes (spec: ModelSpec, inputShape: readonly number[]): number[][] {
  return walkLayers(spec, inputShape).outputs
}

function walkLayers (spec: ModelSpec, inputShape: readonly number[]): { weights: WeightShape[]; outputs: number[][] } {
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
