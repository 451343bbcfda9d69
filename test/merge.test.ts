import { describe, it, expect } from 'vitest'
import { isMurmurError } from '../src/errors.js'
import { MERGE_RULE_NAMES, WeightedMean, createMergeRule, type Contribution } from '../src/learning/merge.js'
import { allFinite, consensusDistance, distance, parameterCount, sameShapes, tensorSize, weightedAverage, type Weights } from '../src/learning/weights.js'

/** A one-tensor model holding these values, shape [n]. */
function vector (...values: number[]): Weights {
  return [{ shape: [values.length], values: Float32Array.from(values) }]
}

/** A two-tensor model: a [2, 2] kernel and a [2] bias. */
function layer (kernel: [number, number, number, number], bias: [number, number]): Weights {
  return [{ shape: [2, 2], values: Float32Array.from(kernel) }, { shape: [2], values: Float32Array.from(bias) }]
}

function valuesOf (weights: Weights): number[][] {
  return weights.map(tensor => Array.from(tensor.values))
}

function expectClose (actual: Weights, expected: number[][], digits = 5): void {
  expect(actual.length).toBe(expected.length)
  actual.forEach((tensor, index) => {
    const want = expected[index]!
    expect(tensor.values.length).toBe(want.length)
    want.forEach((value, i) => { expect(tensor.values[i]).toBeCloseTo(value, digits) })
  })
}

function errorOf (action: () => unknown): unknown {
  try {
    action()
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}

describe('WeightedMean', () => {
  const rule = new WeightedMean()

  it('weights each model by the samples behind it', () => {
    // (1 * 100 + 3 * 300) / 400 = 2.5 and (2 * 100 + 6 * 300) / 400 = 5
    const merged = rule.merge({ weights: vector(1, 2), samples: 100 }, [{ weights: vector(3, 6), samples: 300 }])
    expectClose(merged, [[2.5, 5]])
    expect(merged[0]!.shape).toEqual([2])
  })

  it('averages several peers and several tensors', () => {
    const own: Contribution = { weights: layer([0, 1, 2, 3], [10, -10]), samples: 1 }
    const received: Contribution[] = [
      { weights: layer([4, 5, 6, 7], [0, 0]), samples: 2 },
      { weights: layer([-8, 0, 8, 1], [5, 5]), samples: 1 }
    ]
    // total 4: kernel[0] = (0*1 + 4*2 - 8*1)/4 = 0, kernel[1] = (1 + 10 + 0)/4 = 2.75,
    // kernel[2] = (2 + 12 + 8)/4 = 5.5, kernel[3] = (3 + 14 + 1)/4 = 4.5; bias = (10 + 0 + 5)/4, (-10 + 0 + 5)/4
    const merged = rule.merge(own, received)
    expectClose(merged, [[0, 2.75, 5.5, 4.5], [3.75, -1.25]])
    expect(merged.map(t => t.shape)).toEqual([[2, 2], [2]])
  })

  it('keeps its own weights when it heard from no one', () => {
    const own = layer([0.1, -0.2, 0.3, -0.4], [1e-3, 7])
    const merged = rule.merge({ weights: own, samples: 500 }, [])
    expect(merged.map(t => t.shape)).toEqual([[2, 2], [2]])
    merged.forEach((tensor, index) => {
      const expected = own[index]!.values
      for (let i = 0; i < expected.length; i++) expect(tensor.values[i]).toBeCloseTo(expected[i]!, 6)
    })
  })

  it('counts a node with zero samples as one sample', () => {
    // both fresh: plain mean
    expectClose(rule.merge({ weights: vector(0, 0), samples: 0 }, [{ weights: vector(2, 4), samples: 0 }]), [[1, 2]])
    // max(0, 1) = 1 against 3: (0 * 1 + 4 * 3) / 4 = 3 (a rule ignoring the fresh node would give 4)
    expectClose(rule.merge({ weights: vector(0), samples: 0 }, [{ weights: vector(4), samples: 3 }]), [[3]])
    // a fresh peer still pulls a seasoned node a little: (10 * 9 + 0 * 1) / 10 = 9
    expectClose(rule.merge({ weights: vector(10), samples: 9 }, [{ weights: vector(0), samples: 0 }]), [[9]])
  })

  it('does not modify the models it merges', () => {
    const own = vector(1, 2)
    const peer = vector(3, 6)
    rule.merge({ weights: own, samples: 1 }, [{ weights: peer, samples: 1 }])
    expect(valuesOf(own)).toEqual([[1, 2]])
    expect(valuesOf(peer)).toEqual([[3, 6]])
  })

  it('throws a MurmurError for models of different shapes', () => {
    const own = { weights: layer([1, 2, 3, 4], [5, 6]), samples: 1 }
    const cases: Weights[] = [
      vector(1, 2, 3, 4),
      [{ shape: [4], values: new Float32Array(4) }, { shape: [2], values: new Float32Array(2) }],
      [{ shape: [2, 2], values: new Float32Array(4) }, { shape: [3], values: new Float32Array(3) }],
      [...layer([1, 2, 3, 4], [5, 6]), { shape: [1], values: new Float32Array(1) }]
    ]
    for (const weights of cases) {
      const error = errorOf(() => rule.merge(own, [{ weights, samples: 1 }]))
      expect(isMurmurError(error, 'ERR_INVALID_ARGUMENT')).toBe(true)
    }
  })
})

describe('createMergeRule', () => {
  it("builds the weighted mean for 'mean'", () => {
    expect(MERGE_RULE_NAMES).toContain('mean')
    const rule = createMergeRule('mean')
    expect(rule).toBeInstanceOf(WeightedMean)
    expect(rule.name).toBe('mean')
    expectClose(rule.merge({ weights: vector(1, 2), samples: 100 }, [{ weights: vector(3, 6), samples: 300 }]), [[2.5, 5]])
  })

  it('throws ERR_INVALID_ARGUMENT for an unknown rule, naming it', () => {
    const error = errorOf(() => createMergeRule('nope'))
    expect(isMurmurError(error, 'ERR_INVALID_ARGUMENT')).toBe(true)
    expect((error as Error).message).toContain('nope')
    expect(isMurmurError(errorOf(() => createMergeRule('')), 'ERR_INVALID_ARGUMENT')).toBe(true)
  })
})

describe('weight arithmetic', () => {
  it('weightedAverage normalises coefficients that do not sum to one', () => {
    // (2 * 1 + 6 * 3) / 4 = 5, (-2 * 1 + 2 * 3) / 4 = 1
    expectClose(weightedAverage([vector(2, -2), vector(6, 2)], [1, 3]), [[5, 1]])
    // a zero coefficient ignores that model
    expectClose(weightedAverage([vector(2, -2), vector(6, 2)], [0, 0.5]), [[6, 2]])
  })

  it('weightedAverage refuses nonsense input with ERR_INVALID_ARGUMENT', () => {
    const cases: Array<() => unknown> = [
      () => weightedAverage([], []),
      () => weightedAverage([vector(1), vector(2)], [1]),
      () => weightedAverage([vector(1), vector(2)], [0, 0]),
      () => weightedAverage([vector(1), vector(2)], [1, -1]),
      () => weightedAverage([vector(1), vector(2)], [1, Number.NaN]),
      () => weightedAverage([vector(1), vector(2, 3)], [1, 1])
    ]
    for (const action of cases) expect(isMurmurError(errorOf(action), 'ERR_INVALID_ARGUMENT')).toBe(true)
  })

  it('distance is the Euclidean norm over all tensors', () => {
    expect(distance(vector(0, 0), vector(3, 4))).toBeCloseTo(5, 6)
    // kernel differences 1, 1, 1, 1 and bias differences 2, 2: sqrt(4 + 8)
    expect(distance(layer([0, 0, 0, 0], [0, 0]), layer([1, -1, 1, -1], [2, -2]))).toBeCloseTo(Math.sqrt(12), 6)
    expect(distance(vector(1.5, -2), vector(1.5, -2))).toBe(0)
    expect(isMurmurError(errorOf(() => distance(vector(1, 2), vector(1, 2, 3))), 'ERR_INVALID_ARGUMENT')).toBe(true)
  })

  it('consensusDistance is 0 for identical models and d/2 for two models d apart', () => {
    expect(consensusDistance([])).toBeNull()
    expect(consensusDistance([layer([1, 2, 3, 4], [5, 6])])).toBe(0)
    expect(consensusDistance([layer([1, 2, 3, 4], [5, 6]), layer([1, 2, 3, 4], [5, 6]), layer([1, 2, 3, 4], [5, 6])])).toBe(0)
    // d = 5: each model lies 2.5 from the midpoint
    expect(consensusDistance([vector(0, 0), vector(3, 4)])).toBeCloseTo(2.5, 6)
    const a = layer([0, 0, 0, 0], [0, 0])
    const b = layer([1, -1, 1, -1], [2, -2])
    expect(consensusDistance([a, b])).toBeCloseTo(distance(a, b) / 2, 6)
    expect(consensusDistance([a, b])).toBeCloseTo(Math.sqrt(12) / 2, 6)
  })

  it('consensusDistance of three collinear models is the mean distance to their mean', () => {
    // values 0, 3, 9: mean 4, distances 4, 1, 5 → 10 / 3
    expect(consensusDistance([vector(0), vector(3), vector(9)])).toBeCloseTo(10 / 3, 5)
  })

  it('sameShapes compares tensor count, rank and every size', () => {
    const base = [{ shape: [2, 3] }, { shape: [3] }]
    expect(sameShapes(base, [{ shape: [2, 3] }, { shape: [3] }])).toBe(true)
    expect(sameShapes([], [])).toBe(true)
    expect(sameShapes(base, [{ shape: [3, 2] }, { shape: [3] }])).toBe(false)
    expect(sameShapes(base, [{ shape: [6] }, { shape: [3] }])).toBe(false)
    expect(sameShapes(base, [{ shape: [2, 3, 1] }, { shape: [3] }])).toBe(false)
    expect(sameShapes(base, [{ shape: [2, 3] }])).toBe(false)
    expect(sameShapes([{ shape: [2, 3] }], base)).toBe(false)
    expect(sameShapes(base, [{ shape: [2, 3] }, { shape: [4] }])).toBe(false)
  })

  it('counts sizes and parameters and spots non-finite values', () => {
    expect(tensorSize([3, 4, 5])).toBe(60)
    expect(tensorSize([])).toBe(1)
    expect(parameterCount(layer([1, 2, 3, 4], [5, 6]))).toBe(6)
    expect(allFinite(layer([1, 2, 3, 4], [5, 6]))).toBe(true)
    expect(allFinite(layer([1, 2, 3, 4], [5, Number.NaN]))).toBe(false)
    expect(allFinite(vector(Number.NEGATIVE_INFINITY))).toBe(false)
  })
})
