import { MurmurError } from '../errors.js'
import { isTopologySpec, weightShapes, type Activation, type ModelSpec } from './models.js'
import type { Tensor, Weights } from './weights.js'
import type { SparseRows } from './sparse-rows.js'

interface DenseLayer {
  readonly inputs: number
  readonly units: number
  readonly activation: Activation
  /** offsets of the layer's kernel ([inputs, units], row-major) and bias in the flat parameters */
  readonly kernel: number
  readonly bias: number
}

/**
 * A stack of dense layers (murmur's logistic and mlp models) computed in plain JavaScript on flat
 * Float32Arrays, for simulating many nodes in one process: no TF.js, no tensors, one set of scratch
 * buffers shared by every node (a node's state is its parameter array). The maths is what TF.js does
 * for the same model: a softmax output with sparse categorical cross-entropy averaged over the batch.
 * The first layer reads sparse rows, so it costs in proportion to the non-zero features.
 *
 * Parameters are laid out in the manifest's weight order (per layer: kernel [inputs, units] row-major,
 * then bias), so `weights()` views are exactly what the node core and the wire format expect.
 */
export class DenseNetwork {
  readonly parameterCount: number
  readonly shapes: ReadonlyArray<readonly number[]>
  private readonly layers: DenseLayer[]
  private readonly classes: number
  /** scratch: each layer's outputs for one batch, [batch, units] */
  // Scratch in doubles: the sums are taken in doubles anyway, and no rounding back and forth.
  private activations: Float64Array[] = []
  private deltas: Float64Array[] = []
  private capacity = 0

  private constructor (layers: DenseLayer[], shapes: number[][]) {
    this.layers = layers
    this.shapes = shapes
    const last = layers[layers.length - 1] as DenseLayer
    this.classes = last.units
    this.parameterCount = last.bias + last.units
  }

  /** Whether the fast path can train this model (flatten and dense layers, a softmax output). */
  static supports (spec: ModelSpec): boolean {
    if (isTopologySpec(spec)) return false
    const dense = spec.layers.filter(layer => layer.type === 'dense')
    const last = dense[dense.length - 1]
    return dense.length > 0 && spec.layers.every(layer => layer.type === 'flatten' || layer.type === 'dense') &&
      spec.layers[spec.layers.length - 1]?.type === 'dense' && last?.type === 'dense' && last.activation === 'softmax' &&
      dense.slice(0, -1).every(layer => layer.type === 'dense' && layer.activation !== 'softmax')
  }

  static create (spec: ModelSpec, inputShape: readonly number[]): DenseNetwork {
    if (!DenseNetwork.supports(spec) || isTopologySpec(spec)) {
      throw new MurmurError('ERR_INVALID_ARGUMENT', `the flat trainer runs models of dense layers with a softmax output (logistic, mlp); "${spec.name}" is not one`)
    }
    const shapes = weightShapes(spec, inputShape).map(weight => [...weight.shape])
    const layers: DenseLayer[] = []
    let offset = 0
    for (const layer of spec.layers) {
      if (layer.type !== 'dense') continue
      const kernelShape = shapes[2 * layers.length] as number[]
      const inputs = kernelShape[0] as number
      layers.push({ inputs, units: layer.units, activation: layer.activation, kernel: offset, bias: offset + inputs * layer.units })
      offset += inputs * layer.units + layer.units
    }
    return new DenseNetwork(layers, shapes)
  }

  /** Views of flat parameters as the model's weight tensors (no copy: they share its memory). */
  weights (parameters: Float32Array): Weights {
    const tensors: Tensor[] = []
    for (const layer of this.layers) {
      tensors.push({ shape: [layer.inputs, layer.units], values: parameters.subarray(layer.kernel, layer.kernel + layer.inputs * layer.units) })
      tensors.push({ shape: [layer.units], values: parameters.subarray(layer.bias, layer.bias + layer.units) })
    }
    return tensors
  }

  /** Copies weight tensors into flat parameters (a new array unless `into` is given). */
  flatten (weights: Weights, into: Float32Array = new Float32Array(this.parameterCount)): Float32Array {
    if (weights.length !== this.shapes.length) throw new MurmurError('ERR_INVALID_ARGUMENT', 'weights do not fit this model')
    let offset = 0
    for (const [index, tensor] of weights.entries()) {
      const shape = this.shapes[index] as readonly number[]
      if (tensor.shape.length !== shape.length || tensor.shape.some((size, axis) => size !== shape[axis])) throw new MurmurError('ERR_INVALID_ARGUMENT', 'weights do not fit this model')
      into.set(tensor.values, offset)
      offset += tensor.values.length
    }
    return into
  }

  private ensureCapacity (batch: number): void {
    if (batch <= this.capacity) return
    this.capacity = batch
    this.activations = this.layers.map(layer => new Float64Array(batch * layer.units))
    this.deltas = this.layers.map(layer => new Float64Array(batch * layer.units))
  }

  /** Forward pass of `count` rows (row numbers rows[start..start+count)); leaves each layer's outputs in the scratch. */
  private forward (parameters: Float32Array, data: SparseRows, rows: ArrayLike<number>, start: number, count: number): void {
    this.ensureCapacity(count)
    for (let index = 0; index < this.layers.length; index++) {
      const layer = this.layers[index] as DenseLayer
      const out = this.activations[index] as Float64Array
      const units = layer.units
      const bias = layer.bias
      for (let b = 0; b < count; b++) {
        const o = b * units
        for (let j = 0; j < units; j++) out[o + j] = parameters[bias + j] as number
      }
      if (index === 0) {
        for (let b = 0; b < count; b++) {
          const row = rows[start + b] as number
          const o = b * units
          for (let e = data.offsets[row] as number, end = data.offsets[row + 1] as number; e < end; e++) {
            const value = data.values[e] as number
            const k = layer.kernel + (data.columns[e] as number) * units
            for (let j = 0; j < units; j++) out[o + j] = (out[o + j] as number) + value * (parameters[k + j] as number)
          }
        }
      } else {
        const input = this.activations[index - 1] as Float64Array
        const inputs = layer.inputs
        for (let b = 0; b < count; b++) {
          const o = b * units
          for (let i = 0; i < inputs; i++) {
            const value = input[b * inputs + i] as number
            if (value === 0) continue
            const k = layer.kernel + i * units
            for (let j = 0; j < units; j++) out[o + j] = (out[o + j] as number) + value * (parameters[k + j] as number)
          }
        }
      }
      activate(out, count, units, layer.activation)
    }
  }

  /**
   * One batch's gradient of the mean cross-entropy, written into `gradient` (overwritten); returns the
   * batch's mean loss.
   */
  gradient (parameters: Float32Array, data: SparseRows, rows: ArrayLike<number>, gradient: Float32Array): number {
    const count = rows.length
    this.forward(parameters, data, rows, 0, count)
    gradient.fill(0)
    const last = this.layers.length - 1
    const classes = this.classes
    const probabilities = this.activations[last] as Float64Array
    const outputDelta = this.deltas[last] as Float64Array
    let loss = 0
    for (let b = 0; b < count; b++) {
      const label = data.labels[rows[b] as number] as number
      for (let j = 0; j < classes; j++) {
        const p = probabilities[b * classes + j] as number
        outputDelta[b * classes + j] = (p - (j === label ? 1 : 0)) / count
      }
      loss -= Math.log(Math.max(probabilities[b * classes + label] as number, 1e-7))
    }
    for (let index = last; index >= 0; index--) {
      const layer = this.layers[index] as DenseLayer
      const units = layer.units
      const delta = this.deltas[index] as Float64Array
      for (let b = 0; b < count; b++) {
        for (let j = 0; j < units; j++) gradient[layer.bias + j] = (gradient[layer.bias + j] as number) + (delta[b * units + j] as number)
      }
      if (index === 0) {
        for (let b = 0; b < count; b++) {
          const row = rows[b] as number
          const o = b * units
          for (let e = data.offsets[row] as number, end = data.offsets[row + 1] as number; e < end; e++) {
            const value = data.values[e] as number
            const k = layer.kernel + (data.columns[e] as number) * units
            for (let j = 0; j < units; j++) gradient[k + j] = (gradient[k + j] as number) + value * (delta[o + j] as number)
          }
        }
        continue
      }
      const input = this.activations[index - 1] as Float64Array
      const inputDelta = this.deltas[index - 1] as Float64Array
      const inputs = layer.inputs
      const below = (this.layers[index - 1] as DenseLayer).activation
      for (let b = 0; b < count; b++) {
        const o = b * units
        for (let i = 0; i < inputs; i++) {
          const value = input[b * inputs + i] as number
          // A unit relu switched off passes no gradient down and its weights get none.
          if (value === 0 && below === 'relu') {
            inputDelta[b * inputs + i] = 0
            continue
          }
          const k = layer.kernel + i * units
          let back = 0
          for (let j = 0; j < units; j++) {
            const d = delta[o + j] as number
            back += (parameters[k + j] as number) * d
            if (value !== 0) gradient[k + j] = (gradient[k + j] as number) + value * d
          }
          inputDelta[b * inputs + i] = back * derivative(value, below)
        }
      }
    }
    return loss / count
  }

  /** Share of the rows the model classifies correctly (argmax of its output). */
  accuracy (parameters: Float32Array, data: SparseRows, rows: ArrayLike<number>): number {
    if (rows.length === 0) return 0
    const chunk = 256
    let correct = 0
    const classes = this.classes
    for (let start = 0; start < rows.length; start += chunk) {
      const count = Math.min(chunk, rows.length - start)
      this.forward(parameters, data, rows, start, count)
      const output = this.activations[this.layers.length - 1] as Float64Array
      for (let b = 0; b < count; b++) {
        let best = 0
        for (let j = 1; j < classes; j++) if ((output[b * classes + j] as number) > (output[b * classes + best] as number)) best = j
        if (best === data.labels[rows[start + b] as number]) correct++
      }
    }
    return correct / rows.length
  }
}

function activate (values: Float64Array, count: number, units: number, activation: Activation): void {
  const n = count * units
  switch (activation) {
    case 'relu':
      for (let i = 0; i < n; i++) if ((values[i] as number) < 0) values[i] = 0
      return
    case 'tanh':
      for (let i = 0; i < n; i++) values[i] = Math.tanh(values[i] as number)
      return
    case 'sigmoid':
      for (let i = 0; i < n; i++) values[i] = 1 / (1 + Math.exp(-(values[i] as number)))
      return
    case 'linear':
      return
    case 'softmax':
      for (let b = 0; b < count; b++) {
        const o = b * units
        let max = -Infinity
        for (let j = 0; j < units; j++) max = Math.max(max, values[o + j] as number)
        let sum = 0
        for (let j = 0; j < units; j++) {
          const e = Math.exp((values[o + j] as number) - max)
          values[o + j] = e
          sum += e
        }
        for (let j = 0; j < units; j++) values[o + j] = (values[o + j] as number) / sum
      }
  }
}

/** d activation / d input, from the activation's output */
function derivative (output: number, activation: Activation): number {
  switch (activation) {
    case 'relu': return output > 0 ? 1 : 0
    case 'tanh': return 1 - output * output
    case 'sigmoid': return output * (1 - output)
    default: return 1
  }
}
