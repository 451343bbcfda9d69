import { describe, expect, it } from 'vitest'
import { isMurmurError } from '../src/errors.js'
import { averageRounds, ModelAverage } from '../src/learning/model-average.js'
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

  it('a round that counts as several fades the past by decay to that power: long rounds average over a time, not five of them', () => {
    const average = new ModelAverage(0.8)
    average.add(model(0))
    // Control: one round moves the average by 1 − 0.8 of the way.
    expect(valuesOf(average.add(model(10)))[0]).toBeCloseTo(2, 5)
    const long = new ModelAverage(0.8)
    long.add(model(0))
    // A 2-minute round counts as 16 rounds of 7.5 s: 0.8^16 ≈ 0.028 of the past is left.
    expect(averageRounds(120_000)).toBe(16)
    expect(valuesOf(long.add(model(10), averageRounds(120_000)))[0]).toBeCloseTo(10 * (1 - 0.8 ** 16), 4)
    // Rounds up to 7.5 s count as one, as before.
    expect(averageRounds(2_000)).toBe(1)
    expect(averageRounds(Number.NaN)).toBe(1)
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
