import { describe, it, expect } from 'vitest'
import { isMurmurError } from '../src/errors.js'
import {
  CenteredClipping, ClippedGossip, CoordinateMedian, MERGE_RULE_KINDS, MERGE_RULES_HELP, TrimmedMean, WeightedMean,
  createMergeRule, formatMergeRule, isMergeRuleName, parseMergeRule, type Contribution, type MergeRule, type MergeRuleSpec
} from '../src/learning/merge.js'
import { allFinite, consensusDistance, distance, parameterCount, sameShapes, tensorSize, weightedAverage, type Weights } from '../src/learning/weights.js'
import { errorOf } from './helpers.js'

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
    expect(MERGE_RULE_KINDS).toContain('mean')
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

/** Deterministic uniform numbers in [0, 1) (mulberry32), so failures reproduce. */
function random (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Contributions of one-value-per-model vectors: own is the first column, with one sample each. */
function columns (...models: number[][]): [Contribution, Contribution[]] {
  const [own, ...received] = models.map(values => ({ weights: vector(...values), samples: 1 }))
  return [own!, received]
}

function flat (weights: Weights): number[] {
  return weights.flatMap(tensor => Array.from(tensor.values))
}

function maxAbsDifference (a: Weights, b: Weights): number {
  const x = flat(a)
  const y = flat(b)
  expect(x.length).toBe(y.length)
  return x.reduce((max, value, i) => Math.max(max, Math.abs(value - y[i]!)), 0)
}

/** The straightforward definitions, sorting a fresh array per parameter, to check the fast rules against. */
function referenceCoordinatewise (models: Weights[], reduce: (sorted: number[]) => number): number[] {
  const values = models.map(flat)
  return values[0]!.map((_, i) => reduce(values.map(v => v[i]!).sort((a, b) => a - b)))
}

function referenceTrimmedMean (beta: number): (sorted: number[]) => number {
  return sorted => {
    const trim = Math.floor(beta * sorted.length + 1e-9)
    const kept = sorted.slice(trim, sorted.length - trim)
    return kept.reduce((a, b) => a + b, 0) / kept.length
  }
}

function referenceMedian (sorted: number[]): number {
  return (sorted[(sorted.length - 1) >> 1]! + sorted[sorted.length >> 1]!) / 2
}

describe('TrimmedMean', () => {
  it('drops the floor(beta n) smallest and largest values of each parameter and averages the rest', () => {
    // parameter 0: [1, 100, 3, 2] → sorted 1 2 3 100, drop 1 and 100 → (2 + 3) / 2 = 2.5
    // parameter 1: [40, -5, 10, 20] → sorted -5 10 20 40, drop -5 and 40 → (10 + 20) / 2 = 15
    const [own, received] = columns([1, 40], [100, -5], [3, 10], [2, 20])
    expectClose(new TrimmedMean(0.25).merge(own, received), [[2.5, 15]])
    expectClose(createMergeRule('trimmed-mean:0.25').merge(own, received), [[2.5, 15]])
  })

  it('trims two at each end of ten values for beta 0.2', () => {
    const values = [900, -1000, 3, 8, 4, 1000, 7, -500, 5, 6]
    const [own, received] = columns(...values.map(value => [value]))
    // drops -1000, -500, 900, 1000: mean of 3..8 = 5.5
    expectClose(new TrimmedMean(0.2).merge(own, received), [[5.5]])
  })

  it('is the plain unweighted mean when nothing is trimmed, whatever the sample counts', () => {
    const own = { weights: vector(1), samples: 1 }
    const received = [{ weights: vector(2), samples: 100 }, { weights: vector(6), samples: 1 }]
    // n = 3: floor(0.25 * 3) = 0, so (1 + 2 + 6) / 3 = 3, where the weighted mean would give 207 / 102
    expectClose(new TrimmedMean(0.25).merge(own, received), [[3]])
    expectClose(new TrimmedMean(0).merge(own, received), [[3]])
    expect(new WeightedMean().merge(own, received)[0]!.values[0]).toBeCloseTo(207 / 102, 5)
  })

  it('counts floor(beta n) at each end, always leaving a value', () => {
    expect(new TrimmedMean(0.25).trimmedCount(4)).toBe(1)
    expect(new TrimmedMean(0.25).trimmedCount(8)).toBe(2)
    expect(new TrimmedMean(0.25).trimmedCount(3)).toBe(0)
    expect(new TrimmedMean(0.2).trimmedCount(9)).toBe(1)
    // 0.29 × 100 is 28.999999999999996 in floating point
    expect(new TrimmedMean(0.29).trimmedCount(100)).toBe(29)
    expect(new TrimmedMean(0.4999999999).trimmedCount(2)).toBe(0)
    expect(new TrimmedMean(0.49).trimmedCount(101)).toBe(49)
    expect(new TrimmedMean(0).trimmedCount(32)).toBe(0)
  })

  it('agrees with sorting every parameter, across tensors, sizes and ties', () => {
    const next = random(7)
    for (let n = 1; n <= 33; n++) {
      for (const beta of [0, 0.1, 0.2, 0.25, 0.3, 0.45]) {
        // small integers make many ties; the sign flips make the order differ per parameter
        const models = Array.from({ length: n }, () => layer(
          [0, 0, 0, 0].map(() => Math.round(next() * 8 - 4)) as [number, number, number, number],
          [next() * 2 - 1, (next() - 0.5) * 1e3]
        ))
        const merged = new TrimmedMean(beta).merge({ weights: models[0]!, samples: 1 }, models.slice(1).map(weights => ({ weights, samples: Math.floor(next() * 50) })))
        const expected = referenceCoordinatewise(models, referenceTrimmedMean(beta))
        flat(merged).forEach((value, i) => { expect(value, `n=${n} beta=${beta} parameter ${i}`).toBeCloseTo(expected[i]!, 3) })
        expect(merged.map(t => t.shape)).toEqual([[2, 2], [2]])
      }
    }
  })
})

describe('CoordinateMedian', () => {
  const rule = new CoordinateMedian()

  it('takes the middle value of an odd count and the mean of the two middle values of an even one', () => {
    // [1, 5, 2] → 2; [1, 2, 3, 10] → 2.5
    expectClose(rule.merge(...columns([1], [5], [2])), [[2]])
    expectClose(rule.merge(...columns([1], [2], [3], [10])), [[2.5]])
    expectClose(rule.merge(...columns([10], [3], [1], [2])), [[2.5]])
    // per parameter: [7, -1, 3] → 3 and [0, 0, -2] → 0 and [3, 3, 1] → 3
    expectClose(rule.merge(...columns([7, 0, 3], [-1, 0, 3], [3, -2, 1])), [[3, 0, 3]])
    // two values: their mean
    expectClose(rule.merge(...columns([4, -4], [6, 4])), [[5, 0]])
  })

  it('ignores sample counts', () => {
    const merged = rule.merge({ weights: vector(1), samples: 1 }, [{ weights: vector(5), samples: 1000 }, { weights: vector(2), samples: 0 }])
    expectClose(merged, [[2]])
  })

  it('works tensor by tensor and keeps the shapes', () => {
    const own: Contribution = { weights: layer([0, 1, 2, 3], [10, -10]), samples: 1 }
    const received: Contribution[] = [
      { weights: layer([4, 5, 6, 7], [0, 0]), samples: 2 },
      { weights: layer([-8, 0, 8, 1], [5, 5]), samples: 1 }
    ]
    const merged = rule.merge(own, received)
    expectClose(merged, [[0, 1, 6, 3], [5, 0]])
    expect(merged.map(t => t.shape)).toEqual([[2, 2], [2]])
  })

  it('agrees with sorting every parameter, across sizes and ties', () => {
    const next = random(11)
    for (let n = 1; n <= 40; n++) {
      const models = Array.from({ length: n }, () => layer(
        [0, 0, 0, 0].map(() => Math.round(next() * 6 - 3)) as [number, number, number, number],
        [next() * 2 - 1, (next() - 0.5) * 1e4]
      ))
      const merged = rule.merge({ weights: models[0]!, samples: 1 }, models.slice(1).map(weights => ({ weights, samples: 1 })))
      const expected = referenceCoordinatewise(models, referenceMedian)
      flat(merged).forEach((value, i) => { expect(value, `n=${n} parameter ${i}`).toBeCloseTo(expected[i]!, 2) })
    }
  })
})

describe('CenteredClipping', () => {
  it('clips a far peer to norm tau and averages the differences by samples', () => {
    // own (1, -1); peer A differs by (3, 4), norm 5 ≤ 10: kept; peer B differs by (600, 800), norm 1000:
    // scaled by 10 / 1000 to (6, 8). Weights 1, 1, 2 (total 4): shift = (1·(3, 4) + 2·(6, 8)) / 4 = (3.75, 5)
    const own = { weights: vector(1, -1), samples: 1 }
    const received = [{ weights: vector(4, 3), samples: 1 }, { weights: vector(601, 799), samples: 2 }]
    expectClose(new CenteredClipping(10).merge(own, received), [[4.75, 4]])
  })

  it('moves by exactly tau times the share of a single far peer', () => {
    // difference (0, 300, 400), norm 500, clipped to (0, 3, 4) for tau 5; share 1/2 → (0, 1.5, 2)
    const own = vector(2, 2, 2)
    const merged = createMergeRule('clipped-mean:5').merge({ weights: own, samples: 1 }, [{ weights: vector(2, 302, 402), samples: 1 }])
    expectClose(merged, [[2, 3.5, 4]])
    expect(distance(merged, own)).toBeCloseTo(2.5, 4)
  })

  it('measures the norm over all tensors together', () => {
    // the difference is (3, 0, 0, 0) and (4, 0): norm 5, clipped to tau 1 as (0.6, 0, 0, 0) and (0.8, 0);
    // share 1 / (3 + 1). Clipping each tensor alone would give (1, 0, 0, 0) and (1, 0) instead.
    const own = { weights: layer([0, 0, 0, 0], [0, 0]), samples: 3 }
    const merged = new CenteredClipping(1).merge(own, [{ weights: layer([3, 0, 0, 0], [4, 0]), samples: 1 }])
    expectClose(merged, [[0.15, 0, 0, 0], [0.2, 0]])
  })

  it('is the weighted mean when every peer is within tau', () => {
    const own: Contribution = { weights: layer([0, 1, 2, 3], [1, -1]), samples: 1 }
    const received: Contribution[] = [
      { weights: layer([0.5, 1, 2, 3], [1, -1.5]), samples: 2 },
      { weights: layer([0, 0.8, 2.1, 3], [1.2, -1]), samples: 0 }
    ]
    expect(maxAbsDifference(new CenteredClipping(1).merge(own, received), new WeightedMean().merge(own, received))).toBeLessThan(1e-6)
  })

  it('keeps its own model when a peer agrees or no peer was heard', () => {
    const own = layer([0.1, -0.2, 0.3, -0.4], [1e-3, 7])
    expectClose(new CenteredClipping(0.5).merge({ weights: own, samples: 5 }, []), valuesOf(own), 6)
    expectClose(new CenteredClipping(0.5).merge({ weights: own, samples: 5 }, [{ weights: own, samples: 5 }]), valuesOf(own), 6)
  })
})

describe('ClippedGossip', () => {
  const rule = new ClippedGossip(0.25)

  it('clips ⌊beta·n⌋ of the n models, never half of them', () => {
    expect([2, 3, 4, 7, 8, 12, 64].map(n => rule.clippedCount(n))).toEqual([0, 0, 1, 1, 2, 3, 16])
    // the radius is the distance of the farthest model once the clipped ones are set aside
    expect(rule.radius([1, 5, 2, 9, 3, 4, 7])).toBe(5)
    expect(rule.radius([1, 2])).toBe(Number.POSITIVE_INFINITY)
  })

  it('is the unweighted mean when no model lies beyond the radius, whatever the claims', () => {
    const merged = rule.merge({ weights: vector(0, 0), samples: 1 }, [{ weights: vector(1, 1), samples: 1e9 }, { weights: vector(2, 2), samples: 1 }])
    expectClose(merged, [[1, 1]])
  })

  it('pulls the farthest models onto the radius: a hostile one moves the node by at most radius / n', () => {
    const own = { weights: vector(0, 0), samples: 1 }
    // seven honest peers at distances 1…7 along the first axis, one attacker a million away
    const honest = [1, 2, 3, 4, 5, 6, 7].map(d => ({ weights: vector(d, 0), samples: 1 }))
    const attacker = { weights: vector(0, 1e6), samples: Number.MAX_SAFE_INTEGER }
    const merged = rule.merge(own, [...honest, attacker])
    // n = 9, two clipped: the attacker and the peer at 7, both onto the radius 6
    expect(rule.radius([1, 2, 3, 4, 5, 6, 7, 1e6])).toBe(6)
    expectClose(merged, [[(1 + 2 + 3 + 4 + 5 + 6 + 6) / 9, 6 / 9]])
    // Control: the mean follows the attacker.
    expect(Math.abs(new WeightedMean().merge(own, [...honest, attacker]).at(0)!.values[1]!)).toBeGreaterThan(1e4)
  })

  it('keeps what skewed peers learned, which a coordinate-wise trim drops', () => {
    // Label skew: each of eight nodes raised the output of the one class only it holds. Over the whole
    // model every peer is as far from the node as the others, so nothing lies beyond the radius.
    const model = (k: number): Weights => vector(...Array.from({ length: 8 }, (_, i) => (i === k ? 1 : 0)))
    const own = { weights: model(0), samples: 1 }
    const peers = [1, 2, 3, 4, 5, 6, 7].map(k => ({ weights: model(k), samples: 1 }))
    const clipped = rule.merge(own, peers)
    expectClose(clipped, [Array.from({ length: 8 }, () => 1 / 8)])
    // Control: the trim drops each class's one holder, so no class is learned anywhere.
    expectClose(new TrimmedMean(0.25).merge(own, peers), [Array.from({ length: 8 }, () => 0)])
  })

  it('with a centre, is the unweighted mean of all n models when none lies beyond the radius', () => {
    const merged = rule.merge({ weights: vector(0, 0), samples: 1 }, [{ weights: vector(1, 1), samples: 1e9 }, { weights: vector(2, 2), samples: 1 }], vector(5, -5))
    expectClose(merged, [[1, 1]])
  })

  it('with a centre, a hostile model moves the node by at most radius / n, and so does the own one', () => {
    const centre = vector(0, 0)
    // the own model and six honest peers at distances 1…7 from the centre, one attacker a million away
    const own = { weights: vector(1, 0), samples: 1 }
    const honest = [2, 3, 4, 5, 6, 7].map(d => ({ weights: vector(d, 0), samples: 1 }))
    const attacker = { weights: vector(0, 1e6), samples: Number.MAX_SAFE_INTEGER }
    // n = 8, two clipped (the attacker and the model at 7) onto the radius 6
    expectClose(rule.merge(own, [...honest, attacker], centre), [[(1 + 2 + 3 + 4 + 5 + 6 + 6) / 8, 6 / 8]])
    // the own model is clipped like any other when it is among the farthest
    const far = { weights: vector(1e6, 0), samples: 1 }
    // n = 7, one clipped (the own model) onto the radius 7
    expectClose(rule.merge(far, honest, centre), [[(7 + 2 + 3 + 4 + 5 + 6 + 7) / 7, 0]])
  })

  it('around the previous merged model, a node whose own steps went furthest does not pull the merge towards its classes', () => {
    // Label skew: from the same merged model (the centre), each of eight nodes raised the output of the
    // one class only it holds; the node's own class is the rarest, so its own steps went three times as far.
    const axis = (k: number, length: number): Weights => vector(...Array.from({ length: 8 }, (_, i) => (i === k ? length : 0)))
    const centre = vector(...Array.from({ length: 8 }, () => 0))
    const own = { weights: axis(0, 3), samples: 1 }
    const peers = [1, 2, 3, 4, 5, 6, 7].map(k => ({ weights: axis(k, 1), samples: 1 }))
    // the own model is the farthest from the centre: clipped onto the others' distance, every class counts alike
    expectClose(rule.merge(own, peers, centre), [Array.from({ length: 8 }, () => 1 / 8)])
    // Control: clipped around the own model, every peer is as far from it as the others, nothing is
    // clipped and the merge keeps 3/8 of the own class, three times any other.
    expectClose(rule.merge(own, peers), [[3 / 8, ...Array.from({ length: 7 }, () => 1 / 8)]])
  })
})

describe('robustness against poisoned models', () => {
  const dimension = 50
  const next = random(2024)
  const centre = Array.from({ length: dimension }, () => next() * 2 - 1)
  // six honest models within ±0.01 of the centre; the node's own is the first
  const honest = Array.from({ length: 6 }, () => vector(...centre.map(value => value + (next() - 0.5) * 0.02)))
  const honestMean = weightedAverage(honest, honest.map(() => 1))
  const attacks: Array<[string, Weights]> = [
    ['shifted by +1000', vector(...centre.map(value => value + 1000))],
    ['sign-flipped and scaled by -10', vector(...centre.map(value => -10 * value))]
  ]

  for (const [attack, poisoned] of attacks) {
    const own: Contribution = { weights: honest[0]!, samples: 100 }
    const received: Contribution[] = [
      ...honest.slice(1).map(weights => ({ weights, samples: 100 })),
      { weights: poisoned, samples: 100 },
      { weights: poisoned, samples: 100 }
    ]

    it(`median and trimmed-mean:0.25 stay with the honest models when two of eight are ${attack}`, () => {
      for (const name of ['median', 'trimmed-mean:0.25']) {
        const merged = createMergeRule(name).merge(own, received)
        // inside the honest models' range on every parameter, hence within 0.02 of their mean
        expect(maxAbsDifference(merged, honestMean), name).toBeLessThanOrEqual(0.02 + 1e-6)
        expect(distance(merged, honestMean), name).toBeLessThan(0.15)
      }
      // the plain mean is dragged far away
      expect(distance(createMergeRule('mean').merge(own, received), honestMean)).toBeGreaterThan(5)
    })
  }

  it('clipped-mean lets one peer move the result by at most tau times its weight share', () => {
    const tau = 0.5
    const own: Contribution = { weights: honest[0]!, samples: 100 }
    const others = honest.slice(1, 4).map(weights => ({ weights, samples: 100 }))
    const far = vector(...centre.map(value => value + 1e6))
    for (const [poisoned, samples] of [[attacks[0]![1], 100], [attacks[1]![1], 100], [far, 100], [far, 1], [far, 1e6], [honest[5]!, 100]] as const) {
      const attacked = new CenteredClipping(tau).merge(own, [...others, { weights: poisoned, samples }])
      // the same swarm with the attacker's model replaced by the node's own (a difference of 0, same weight)
      const baseline = new CenteredClipping(tau).merge(own, [...others, { weights: own.weights, samples }])
      const share = samples / (100 * 4 + samples)
      const moved = distance(attacked, baseline)
      expect(moved).toBeLessThanOrEqual(tau * share * (1 + 1e-4) + 1e-5)
      // a far attacker is clipped to exactly tau; the honest model is closer than tau and moves it less
      if (distance(poisoned, own.weights) > tau) expect(moved).toBeCloseTo(tau * share, 4)
      else expect(moved).toBeLessThan(tau * share)
    }
    // no sample count lets one peer move the node by tau or more
    const claimed = new CenteredClipping(tau).merge(own, [{ weights: far, samples: Number.MAX_SAFE_INTEGER }])
    expect(distance(claimed, own.weights)).toBeLessThanOrEqual(tau * (1 + 1e-4))
    // while the plain mean follows it
    expect(distance(new WeightedMean().merge(own, [...others, { weights: far, samples: 100 }]), own.weights)).toBeGreaterThan(1e5)
  })
})

describe('merge rule names', () => {
  it('lists the accepted forms', () => {
    expect(MERGE_RULES_HELP).toBe('mean, trimmed-mean:BETA, median, clipped-mean:TAU, clipped-gossip:BETA')
    expect([...MERGE_RULE_KINDS]).toEqual(['mean', 'trimmed-mean', 'median', 'clipped-mean', 'clipped-gossip'])
  })

  it('parses each form into a typed spec', () => {
    expect(parseMergeRule('mean')).toEqual({ kind: 'mean' })
    expect(parseMergeRule('median')).toEqual({ kind: 'median' })
    expect(parseMergeRule('trimmed-mean:0.2')).toEqual({ kind: 'trimmed-mean', beta: 0.2 })
    expect(parseMergeRule('trimmed-mean:0')).toEqual({ kind: 'trimmed-mean', beta: 0 })
    expect(parseMergeRule('trimmed-mean:.25')).toEqual({ kind: 'trimmed-mean', beta: 0.25 })
    expect(parseMergeRule('trimmed-mean:0.4999')).toEqual({ kind: 'trimmed-mean', beta: 0.4999 })
    expect(parseMergeRule('clipped-mean:5')).toEqual({ kind: 'clipped-mean', tau: 5 })
    expect(parseMergeRule('clipped-mean:2.5e2')).toEqual({ kind: 'clipped-mean', tau: 250 })
    expect(parseMergeRule('clipped-mean:1E-3')).toEqual({ kind: 'clipped-mean', tau: 0.001 })
  })

  it('formats canonically, without trailing zeros, and round-trips', () => {
    const canonical: Array<[string, string]> = [
      ['mean', 'mean'], ['median', 'median'],
      ['trimmed-mean:0.20', 'trimmed-mean:0.2'], ['trimmed-mean:.25', 'trimmed-mean:0.25'], ['trimmed-mean:0.0', 'trimmed-mean:0'],
      ['trimmed-mean:2e-1', 'trimmed-mean:0.2'], ['clipped-mean:5.0', 'clipped-mean:5'], ['clipped-mean:05', 'clipped-mean:5'],
      ['clipped-mean:1e-3', 'clipped-mean:0.001'], ['clipped-mean:1.50', 'clipped-mean:1.5'], ['clipped-gossip:.250', 'clipped-gossip:0.25']
    ]
    for (const [text, expected] of canonical) {
      expect(formatMergeRule(parseMergeRule(text)), text).toBe(expected)
      expect(createMergeRule(text).name, text).toBe(expected)
      expect(formatMergeRule(parseMergeRule(expected))).toBe(expected)
    }
    const specs: MergeRuleSpec[] = [
      { kind: 'mean' }, { kind: 'median' }, { kind: 'trimmed-mean', beta: 0 }, { kind: 'trimmed-mean', beta: 0.1 },
      { kind: 'trimmed-mean', beta: 0.49999 }, { kind: 'trimmed-mean', beta: 1e-7 },
      { kind: 'clipped-mean', tau: 5 }, { kind: 'clipped-mean', tau: 0.001 }, { kind: 'clipped-mean', tau: 1e-7 }, { kind: 'clipped-mean', tau: 1e21 },
      { kind: 'clipped-gossip', beta: 0 }, { kind: 'clipped-gossip', beta: 0.25 }
    ]
    for (const spec of specs) {
      const text = formatMergeRule(spec)
      expect(isMergeRuleName(text), text).toBe(true)
      expect(parseMergeRule(text), text).toEqual(spec)
    }
  })

  it('builds the rule each name stands for', () => {
    const cases: Array<[string, new (...args: never[]) => MergeRule]> = [
      ['mean', WeightedMean], ['median', CoordinateMedian], ['trimmed-mean:0.2', TrimmedMean], ['clipped-mean:5', CenteredClipping],
      ['clipped-gossip:0.25', ClippedGossip]
    ]
    for (const [name, type] of cases) {
      const rule = createMergeRule(name)
      expect(rule).toBeInstanceOf(type)
      expect(rule.name).toBe(name)
    }
    expect((createMergeRule('trimmed-mean:0.3') as TrimmedMean).beta).toBe(0.3)
    expect((createMergeRule('clipped-mean:2.5') as CenteredClipping).tau).toBe(2.5)
  })

  it('refuses other text with ERR_INVALID_ARGUMENT, quoting it and listing the forms', () => {
    const refused = [
      'trimmed-mean:0.5', 'trimmed-mean:0.7', 'trimmed-mean:-0.1', 'trimmed-mean', 'trimmed-mean:', 'trimmed-mean:abc', 'trimmed-mean:0.1 ',
      'trimmed-mean:NaN', 'median:3', 'mean:1', 'clipped-mean:0', 'clipped-mean:0.0', 'clipped-mean:-1', 'clipped-mean', 'clipped-mean:1e999',
      'clipped-mean:Infinity', 'clipped-mean:0x10', 'mode', '', ' mean', 'Mean', 'MEDIAN', 'trimmed_mean:0.1', 'clipped-mean:5:5',
      'clipped-gossip', 'clipped-gossip:0.5', 'clipped-gossip:-0.1', 'clipped-gossip:1'
    ]
    for (const text of refused) {
      expect(isMergeRuleName(text), text).toBe(false)
      const error = errorOf(() => parseMergeRule(text))
      expect(isMurmurError(error, 'ERR_INVALID_ARGUMENT'), text).toBe(true)
      expect((error as Error).message).toContain(JSON.stringify(text))
      expect((error as Error).message).toContain(MERGE_RULES_HELP)
      expect(isMurmurError(errorOf(() => createMergeRule(text)), 'ERR_INVALID_ARGUMENT'), text).toBe(true)
    }
  })

  it('refuses specs and rules with parameters out of range', () => {
    const specs = [
      { kind: 'trimmed-mean', beta: 0.5 }, { kind: 'trimmed-mean', beta: -0.1 }, { kind: 'trimmed-mean', beta: Number.NaN },
      { kind: 'trimmed-mean' }, { kind: 'clipped-mean', tau: 0 }, { kind: 'clipped-mean', tau: Number.POSITIVE_INFINITY },
      { kind: 'clipped-mean', tau: '5' }, { kind: 'mode' }, {}
    ] as unknown as MergeRuleSpec[]
    for (const spec of specs) expect(isMurmurError(errorOf(() => formatMergeRule(spec)), 'ERR_INVALID_ARGUMENT'), JSON.stringify(spec)).toBe(true)
    expect(isMurmurError(errorOf(() => new TrimmedMean(0.5)), 'ERR_INVALID_ARGUMENT')).toBe(true)
    expect(isMurmurError(errorOf(() => new CenteredClipping(0)), 'ERR_INVALID_ARGUMENT')).toBe(true)
    expect(isMurmurError(errorOf(() => new CenteredClipping(Number.NaN)), 'ERR_INVALID_ARGUMENT')).toBe(true)
  })
})

describe('every merge rule', () => {
  const names = ['mean', 'trimmed-mean:0.25', 'median', 'clipped-mean:1', 'clipped-gossip:0.25']

  it('throws a MurmurError for models of different shapes', () => {
    const own = { weights: layer([1, 2, 3, 4], [5, 6]), samples: 1 }
    const good = { weights: layer([1, 1, 1, 1], [1, 1]), samples: 1 }
    const cases: Weights[] = [
      vector(1, 2, 3, 4),
      [{ shape: [4], values: new Float32Array(4) }, { shape: [2], values: new Float32Array(2) }],
      [{ shape: [2, 2], values: new Float32Array(4) }, { shape: [3], values: new Float32Array(3) }],
      [...layer([1, 2, 3, 4], [5, 6]), { shape: [1], values: new Float32Array(1) }],
      layer([1, 2, 3, 4], [5, 6]).slice(0, 1)
    ]
    for (const name of names) {
      for (const weights of cases) {
        const error = errorOf(() => createMergeRule(name).merge(own, [good, { weights, samples: 1 }]))
        expect(isMurmurError(error, 'ERR_INVALID_ARGUMENT'), name).toBe(true)
      }
    }
    // values that do not match the declared shape
    const mislabelled = [{ shape: [2, 2], values: new Float32Array(3) }, { shape: [2], values: new Float32Array(2) }]
    for (const name of names.filter(name => name !== 'mean')) {
      expect(isMurmurError(errorOf(() => createMergeRule(name).merge(own, [{ weights: mislabelled, samples: 1 }])), 'ERR_INVALID_ARGUMENT'), name).toBe(true)
    }
  })

  it('returns fresh arrays and leaves its inputs alone', () => {
    for (const name of names) {
      const own = layer([1, 2, 3, 4], [5, 6])
      const peers = [layer([9, 8, 7, 6], [5, 4]), layer([-1, 0, 100, 2], [3, 3]), layer([4, 4, 4, 4], [0, -9])]
      const merged = createMergeRule(name).merge({ weights: own, samples: 3 }, peers.map(weights => ({ weights, samples: 2 })))
      expect(valuesOf(own), name).toEqual([[1, 2, 3, 4], [5, 6]])
      expect(peers.map(valuesOf), name).toEqual([[[9, 8, 7, 6], [5, 4]], [[-1, 0, 100, 2], [3, 3]], [[4, 4, 4, 4], [0, -9]]])
      expect(allFinite(merged)).toBe(true)
      const alone = createMergeRule(name).merge({ weights: own, samples: 3 }, [])
      expect(valuesOf(alone), name).toEqual(valuesOf(own))
      alone[0]!.values[0] = 42
      expect(own[0]!.values[0], name).toBe(1)
    }
  })

  it('merges 9 models of 101,770 parameters quickly', () => {
    const next = random(5)
    // the mlp on MNIST: 784 → 128 → 10
    const shapes = [[784, 128], [128], [128, 10], [10]]
    const models = Array.from({ length: 9 }, () => shapes.map(shape => ({ shape, values: Float32Array.from({ length: tensorSize(shape) }, () => next() - 0.5) })))
    expect(parameterCount(models[0]!)).toBe(101_770)
    for (const name of [...names, 'clipped-mean:5', 'trimmed-mean:0.2']) {
      const rule = createMergeRule(name)
      let best = Number.POSITIVE_INFINITY
      for (let run = 0; run < 3; run++) {
        const started = performance.now()
        rule.merge({ weights: models[0]!, samples: 100 }, models.slice(1).map(weights => ({ weights, samples: 100 })))
        best = Math.min(best, performance.now() - started)
      }
      // about 10 ms here; the bound leaves room for slow machines, not for allocating per parameter
      expect(best, name).toBeLessThan(250)
    }
  })
})
