import { MurmurError } from '../errors.js'

/** One weight tensor as plain data: what travels between threads, peers and the store. */
export interface Tensor {
  readonly shape: readonly number[]
  readonly values: Float32Array
}

/** A model's trainable weights, in the order the model lists them. */
export type Weights = readonly Tensor[]

export function tensorSize (shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1)
}

export function parameterCount (weights: Weights): number {
  return weights.reduce((total, tensor) => total + tensor.values.length, 0)
}

export function sameShapes (a: readonly { shape: readonly number[] }[], b: readonly { shape: readonly number[] }[]): boolean {
  return a.length === b.length && a.every((tensor, index) => {
    const other = b[index]
    return other !== undefined && tensor.shape.length === other.shape.length && tensor.shape.every((size, axis) => size === other.shape[axis])
  })
}

function assertSameShapes (a: Weights, b: Weights): void {
  if (!sameShapes(a, b)) throw new MurmurError('ERR_INVALID_ARGUMENT', 'weights of different architectures cannot be combined')
}

/** Euclidean distance between two models, over all their parameters. */
export function distance (a: Weights, b: Weights): number {
  assertSameShapes(a, b)
  let sum = 0
  a.forEach((tensor, index) => {
    const other = (b[index] as Tensor).values
    for (let i = 0; i < tensor.values.length; i++) {
      const difference = (tensor.values[i] as number) - (other[i] as number)
      sum += difference * difference
    }
  })
  return Math.sqrt(sum)
}

/** Weighted average of models; the coefficients need not sum to one. */
export function weightedAverage (models: readonly Weights[], coefficients: readonly number[]): Weights {
  const first = models[0]
  if (first === undefined) throw new MurmurError('ERR_INVALID_ARGUMENT', 'cannot average zero models')
  if (coefficients.length !== models.length) throw new MurmurError('ERR_INVALID_ARGUMENT', 'one coefficient per model is needed')
  const total = coefficients.reduce((a, b) => a + b, 0)
  if (!(total > 0)) throw new MurmurError('ERR_INVALID_ARGUMENT', 'averaging coefficients must sum to a positive number')
  for (const model of models) assertSameShapes(first, model)
  return first.map((tensor, index) => {
    const values = new Float32Array(tensor.values.length)
    models.forEach((model, modelIndex) => {
      const scale = (coefficients[modelIndex] as number) / total
      const source = (model[index] as Tensor).values
      for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) + scale * (source[i] as number)
    })
    return { shape: [...tensor.shape], values }
  })
}

/** Mean L2 distance of each model to the mean model: how far the swarm is from agreeing. */
export function consensusDistance (models: readonly Weights[]): number | null {
  if (models.length === 0) return null
  const mean = weightedAverage(models, models.map(() => 1))
  return models.reduce((total, model) => total + distance(model, mean), 0) / models.length
}

/** Euclidean norm over all parameters. */
export function norm (weights: Weights): number {
  let sum = 0
  // Indexed loops: every pushed model is checked, and a callback or iterator per value cost a simulation of thousands of nodes a tenth of its time.
  for (const tensor of weights) {
    const values = tensor.values
    for (let i = 0; i < values.length; i++) sum += (values[i] as number) * (values[i] as number)
  }
  return Math.sqrt(sum)
}

export function allFinite (weights: Weights): boolean {
  for (const tensor of weights) {
    const values = tensor.values
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false
  }
  return true
}

/** a + b, tensor by tensor, in new arrays */
export function add (a: Weights, b: Weights): Weights {
  assertSameShapes(a, b)
  return a.map((tensor, index) => {
    const other = (b[index] as Tensor).values
    const values = new Float32Array(tensor.values.length)
    for (let i = 0; i < values.length; i++) values[i] = (tensor.values[i] as number) + (other[i] as number)
    return { shape: tensor.shape, values }
  })
}

/** a − b, tensor by tensor, in new arrays */
export function subtract (a: Weights, b: Weights): Weights {
  assertSameShapes(a, b)
  return a.map((tensor, index) => {
    const other = (b[index] as Tensor).values
    const values = new Float32Array(tensor.values.length)
    for (let i = 0; i < values.length; i++) values[i] = (tensor.values[i] as number) - (other[i] as number)
    return { shape: tensor.shape, values }
  })
}
