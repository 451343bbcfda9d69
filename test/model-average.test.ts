import { describe, expect, it } from 'vitest'
import { isMurmurError } from '../src/errors.js'
import { ModelAverage } from '../src/learning/model-average.js'
import type { Weights } from '../src/learning/weights.js'
import { errorOf } from './helpers.js'

function model (...values: number[]): Weights {
  return [{ shape: [values.length], values: Float32Array.from(values) }]
}

const valuesOf = (weights: Weights): number[] => Array.from(weights[0]?.values ?? [])

describe('ModelAverage (the model a node serves)', () => {
  it('takes the first model as it is, then lets each round count 1 − decay', () => {
    const average = new ModelAverage(0.5)
    expect(valuesOf(average.add(model(4, 0)))).toEqual([4, 0])
    expect(valuesOf(average.add(model(0, 4)))).toEqual([2, 2])
    expect(valuesOf(average.add(model(0, 4)))).toEqual([1, 3])
  })

  it('smooths a model that swings between rounds, which the last model does not', () => {
    // Under skew the merged model leans one way, then the other: ±1 around 0.
    const average = new ModelAverage(0.8)
    let served: Weights = model(0)
    for (let round = 0; round < 40; round++) served = average.add(model(round % 2 === 0 ? 1 : -1))
    expect(Math.abs(valuesOf(served)[0] ?? 1)).toBeLessThan(0.15)
  })

  it('starts over on reset, returns fresh arrays, and refuses a decay outside [0, 1)', () => {
    const average = new ModelAverage(0.9)
    average.add(model(10))
    const input = model(1)
    const reset = average.reset(input)
    expect(valuesOf(reset)).toEqual([1])
    ;(input[0]?.values as Float32Array)[0] = 7
    expect(valuesOf(average.add(model(1)))).toEqual([1])
    expect(valuesOf(new ModelAverage(0).add(model(3)))).toEqual([3])
    for (const decay of [1, -0.1, Number.NaN]) expect(isMurmurError(errorOf(() => new ModelAverage(decay)), 'ERR_INVALID_ARGUMENT')).toBe(true)
  })
})
