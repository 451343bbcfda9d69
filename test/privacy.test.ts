import { describe, it, expect } from 'vitest'
import { createRandom } from '../src/data/random.js'
import { isMurmurError } from '../src/errors.js'
import {
  DEFAULT_RDP_ORDERS,
  RdpAccountant,
  clipAndNoise,
  epsilonFromRdp,
  gaussianRdp,
  logErfc,
  noiseMultiplierFor,
  secureNormal,
  type RdpConversion
} from '../src/learning/privacy.js'
import type { Weights } from '../src/learning/weights.js'
import { errorOf } from './helpers.js'


function expectInvalid (action: () => unknown, message?: RegExp): void {
  const error = errorOf(action)
  expect(isMurmurError(error, 'ERR_INVALID_ARGUMENT')).toBe(true)
  if (message !== undefined) expect((error as Error).message).toMatch(message)
}

function norm (weights: Weights): number {
  let sum = 0
  for (const tensor of weights) for (const value of tensor.values) sum += value * value
  return Math.sqrt(sum)
}

function flat (weights: Weights): number[] {
  return weights.flatMap(tensor => Array.from(tensor.values))
}

/** A two-tensor delta: a [2, 3] kernel and a [2] bias. */
function sampleDelta (scale: number): Weights {
  return [
    { shape: [2, 3], values: Float32Array.from([3, -4, 1, 0, 2, -2].map(v => v * scale)) },
    { shape: [2], values: Float32Array.from([1, -1].map(v => v * scale)) }
  ]
}

/** Relative difference, for comparing against published values. */
function relative (actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected)
}

// Order lists of the reference implementations, to reproduce their published numbers exactly.
/** dp_accounting's RdpAccountant default orders (google/differential-privacy, python/dp_accounting/dp_accounting/rdp/rdp_privacy_accountant.py, DEFAULT_RDP_ORDERS). */
const DP_ACCOUNTING_ORDERS = [
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 53 }, (_, x) => 11 + x),
  128, 256, 512, 1024
]
/** tensorflow/privacy, tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_lib.py, compute_dp_sgd_privacy(). */
const COMPUTE_DP_SGD_PRIVACY_ORDERS = [
  1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5,
  ...Array.from({ length: 59 }, (_, x) => 5 + x),
  128, 256, 512
]
/** tensorflow/privacy, tutorials/mnist_dpsgd_tutorial.py, compute_epsilon(): [1 + x / 10. for x in range(1, 100)] + range(12, 64). */
const TUTORIAL_ORDERS = [
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 52 }, (_, x) => 12 + x)
]

/** ε of `steps` Poisson-subsampled Gaussian releases, as a reference library would report it. */
function subsampledEpsilon (orders: readonly number[], noiseMultiplier: number, steps: number, samplingRate: number, delta: number, conversion: RdpConversion = 'improved'): { epsilon: number; order: number } {
  const accountant = new RdpAccountant(orders).compose(noiseMultiplier, steps, samplingRate)
  return epsilonFromRdp(accountant.orders, accountant.rdp, delta, conversion)
}

/**
 * A_α = E_{x~N(0, σ²)}[((1 − q) + q e^((2x − 1)/(2σ²)))^α] by the trapezoid rule (exponentially
 * accurate for these smooth, fast-decaying integrands); returns log A_α, computed as log1p of the
 * integral of the excess over 1 so tiny values keep their precision.
 */
function logAByQuadrature (q: number, sigma: number, alpha: number): number {
  const low = -40 * sigma
  const high = 40 * sigma + 2 * alpha
  const steps = 400_000
  const h = (high - low) / steps
  let sum = 0
  for (let k = 0; k <= steps; k++) {
    const x = low + k * h
    const logDensity = -x * x / (2 * sigma * sigma) - Math.log(sigma * Math.sqrt(2 * Math.PI))
    const logRatio = alpha * Math.log1p(q * Math.expm1((2 * x - 1) / (2 * sigma * sigma)))
    // density · (ratio − 1), in log space where the ratio alone would overflow
    const term = logRatio > 1 ? Math.exp(logDensity + logRatio) - Math.exp(logDensity) : Math.exp(logDensity) * Math.expm1(logRatio)
    sum += (k === 0 || k === steps ? 0.5 : 1) * term
  }
  return Math.log1p(sum * h)
}

describe('clipAndNoise', () => {
  const tiny = 1e-9 // noise small enough to see the clipped delta through it

  it('clips a large delta to norm C, keeping its direction', () => {
    const delta = sampleDelta(1) // norm √36 = 6
    const result = clipAndNoise(delta, { clip: 1.5, noiseMultiplier: tiny, random: createRandom(1) })
    expect(result.norm).toBeCloseTo(6, 5)
    expect(result.clipped).toBe(true)
    expect(norm(result.weights)).toBeLessThanOrEqual(1.5 * (1 + 1e-6))
    expect(norm(result.weights)).toBeCloseTo(1.5, 5)
    // Same direction: every coordinate scaled by C / norm = 0.25.
    const input = flat(delta)
    flat(result.weights).forEach((value, i) => { expect(value).toBeCloseTo((input[i] as number) * 0.25, 6) })
    expect(result.weights.map(t => t.shape)).toEqual([[2, 3], [2]])
  })

  it('leaves a delta already within C unclipped', () => {
    const delta = sampleDelta(0.1) // norm 0.6
    const result = clipAndNoise(delta, { clip: 1, noiseMultiplier: tiny, random: createRandom(2) })
    expect(result.clipped).toBe(false)
    expect(result.norm).toBeCloseTo(0.6, 6)
    const input = flat(delta)
    flat(result.weights).forEach((value, i) => { expect(value).toBeCloseTo(input[i] as number, 6) })
  })

  it('returns new arrays and never mutates the input', () => {
    const delta = sampleDelta(1)
    const before = flat(delta)
    const result = clipAndNoise(delta, { clip: 1, noiseMultiplier: 1, random: createRandom(3) })
    expect(flat(delta)).toEqual(before)
    result.weights.forEach((tensor, index) => {
      expect(tensor.values).not.toBe(delta[index]!.values)
      expect(tensor.shape).not.toBe(delta[index]!.shape)
    })
  })

  it('adds Gaussian noise of standard deviation z·C to every coordinate', () => {
    const clip = 0.7
    const noiseMultiplier = 1.3
    const zeros: Weights = [
      { shape: [250, 200], values: new Float32Array(50_000) },
      { shape: [50_000], values: new Float32Array(50_000) }
    ]
    for (const random of [createRandom(42), secureNormal()]) {
      const values = flat(clipAndNoise(zeros, { clip, noiseMultiplier, random }).weights)
      expect(values.length).toBe(100_000)
      const mean = values.reduce((a, b) => a + b, 0) / values.length
      const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (values.length - 1))
      expect(relative(std, noiseMultiplier * clip)).toBeLessThan(0.02)
      expect(Math.abs(mean)).toBeLessThan(5 * noiseMultiplier * clip / Math.sqrt(values.length))
    }
  })

  it('rejects a missing or invalid clip, noise multiplier or delta', () => {
    const delta = sampleDelta(1)
    const random = createRandom(4)
    expectInvalid(() => clipAndNoise(delta, { clip: 1, noiseMultiplier: 0, random }), /noise multiplier.*positive/)
    expectInvalid(() => clipAndNoise(delta, { clip: 1, noiseMultiplier: -1, random }))
    expectInvalid(() => clipAndNoise(delta, { clip: 1, noiseMultiplier: Infinity, random }))
    expectInvalid(() => clipAndNoise(delta, { clip: 0, noiseMultiplier: 1, random }), /clipping norm.*positive/)
    expectInvalid(() => clipAndNoise(delta, { clip: NaN, noiseMultiplier: 1, random }))
    expectInvalid(() => clipAndNoise(delta, { clip: Infinity, noiseMultiplier: 1, random }))
    const broken: Weights = [{ shape: [2], values: Float32Array.from([1, NaN]) }]
    expectInvalid(() => clipAndNoise(broken, { clip: 1, noiseMultiplier: 1, random }), /non-finite/)
  })
})

describe('secureNormal', () => {
  it('draws standard normals', () => {
    const random = secureNormal()
    const draws = Array.from({ length: 20_000 }, () => random.normal())
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length
    const variance = draws.reduce((a, b) => a + (b - mean) * (b - mean), 0) / draws.length
    expect(Math.abs(mean)).toBeLessThan(0.05)
    expect(Math.abs(variance - 1)).toBeLessThan(0.05)
    expect(new Set(draws).size).toBe(draws.length)
  })
})

describe('logErfc', () => {
  it('matches erfc across its range, including the far tail', () => {
    // erfc values: Abramowitz & Stegun Table 7.1 / standard tables.
    expect(logErfc(0)).toBeCloseTo(0, 14)
    expect(Math.exp(logErfc(0.5))).toBeCloseTo(0.4795001221869535, 14)
    expect(Math.exp(logErfc(1))).toBeCloseTo(0.15729920705028513, 14)
    expect(relative(Math.exp(logErfc(2)), 0.004677734981047266)).toBeLessThan(1e-12)
    expect(relative(Math.exp(logErfc(3)), 2.209049699858544e-5)).toBeLessThan(1e-12)
    expect(Math.exp(logErfc(-1))).toBeCloseTo(1.8427007929497148, 14)
    // Asymptotically log erfc(x) = −x² − log(x√π) − 1/(2x²) + 5/(8x⁴) + O(x⁻⁶), far below where erfc underflows.
    for (const x of [30, 100, 1000]) {
      expect(logErfc(x)).toBeCloseTo(-x * x - Math.log(x * Math.sqrt(Math.PI)) - 1 / (2 * x * x) + 5 / (8 * x ** 4), 8)
    }
  })
})

describe('RdpAccountant', () => {
  it('gives α / (2z²) per Gaussian release (Mironov 2017, Prop. 7) and composes additively', () => {
    // Same case as google/differential-privacy python/dp_accounting/dp_accounting/rdp/rdp_privacy_accountant_test.py
    // test_compute_rdp_gaussian and test_rdp_composition (α = 3.14159, σ = 2.71828).
    const alpha = 3.14159
    const sigma = 2.71828
    const one = new RdpAccountant([alpha]).compose(sigma)
    expect(one.rdp[0]).toBeCloseTo(alpha / (2 * sigma ** 2), 14)
    const six = new RdpAccountant([alpha]).compose(sigma, 2).compose(sigma, 3).compose(sigma)
    expect(six.rdp[0]).toBeCloseTo(6 * (one.rdp[0] as number), 14)
    expect(six.releases).toBe(6)
  })

  it('matches dp_accounting\'s RDP of the Poisson-subsampled Gaussian (q = 0.01, z = 2.5, 50 steps)', () => {
    // google/differential-privacy python/dp_accounting/dp_accounting/rdp/rdp_privacy_accountant_test.py,
    // test_compute_rdp_poisson_sampled_gaussian, asserted there with rtol = 1e-4.
    const orders = [1.5, 2.5, 5, 50, 100]
    const expected = [6.70579741e-04, 1.08548710e-03, 2.18075656e-03, 2.38460375e-02, 1.67416308e02]
    const rdp = new RdpAccountant(orders).compose(2.5, 50, 0.01).rdp
    rdp.forEach((value, i) => { expect(relative(value, expected[i] as number)).toBeLessThan(1e-6) })
  })

  it('matches TF Privacy\'s scalar RDP (q = 0.1, z = 2, 10 steps, α = 5)', () => {
    // tensorflow/privacy tensorflow_privacy/privacy/analysis/rdp_accountant_test.py, test_compute_rdp_scalar: 0.07737 (places = 5).
    expect(new RdpAccountant([5]).compose(2, 10, 0.1).rdp[0]).toBeCloseTo(0.07737, 5)
  })

  it('computes A_α as numerical integration does (Mironov, Talwar, Zhang 2019)', () => {
    // Parameter sets from dp_accounting's test_compute_log_a_equals_mp (same test file), which checks rtol = 1e-4
    // against mpmath quadrature. Integer orders use the exact expansion; fractional orders sum the series in
    // absolute value, an upper bound.
    const cases: Array<[q: number, sigma: number, order: number]> = [[1e-4, 1, 1.5], [1e-3, 1, 2], [0.01, 10, 20], [0.1, 100, 20.5], [1e-6, 1, 27], [0.01, 2.5, 1.5]]
    for (const [q, sigma, order] of cases) {
      const ours = gaussianRdp(sigma, order, q) * (order - 1)
      const exact = logAByQuadrature(q, sigma, order)
      expect(ours).toBeGreaterThanOrEqual(exact * (1 - 1e-9))
      // At (q = 0.01, z = 2.5, α = 1.5) the exact value is TF Privacy's older (signed-series) 0.00065 / 50 and
      // dp_accounting's absolute-value bound, which we follow, is 3 % above it; elsewhere they agree closely.
      if (Number.isInteger(order)) expect(relative(ours, exact)).toBeLessThan(1e-6)
      else expect(relative(ours, exact)).toBeLessThan(order < 2 ? 0.05 : 1e-4)
    }
  })

  it('converts RDP to (ε, δ) as dp_accounting does', () => {
    // Pure DP, constant RDP 1.1 over orders 2..32, δ = 1e-5 → ε = 1.32783806176 at order 32:
    // google/differential-privacy python/dp_accounting/dp_accounting/rdp/rdp_privacy_accountant_test.py,
    // test_compute_epsilon_delta_pure_dp (assertAlmostEqual, 7 places).
    const orders = Array.from({ length: 31 }, (_, i) => i + 2)
    const pure = epsilonFromRdp(orders, orders.map(() => 1.1), 1e-5)
    expect(pure.epsilon).toBeCloseTo(1.32783806176, 9)
    expect(pure.order).toBe(32)
    // The classic conversion (Mironov 2017, Prop. 3) is never better.
    expect(epsilonFromRdp(orders, orders.map(() => 1.1), 1e-5, 'classic').epsilon).toBeCloseTo(1.1 + Math.log(1e5) / 31, 12)
  })

  it('recovers exactly (1, 1e-6)-DP for the Gaussian mechanism with z = 4.530877117', () => {
    // Same file, test_compute_epsilon_delta_gaussian: orders 1.000..99.999 by 0.001, no sampling,
    // "noise multiplier is chosen to obtain exactly (1,1e-6)-DP" → ε = 1 (7 places).
    const orders = Array.from({ length: 99_000 }, (_, i) => 0.001 * (i + 1000)).filter(order => order > 1)
    const accountant = new RdpAccountant(orders).compose(4.530877117)
    expect(accountant.epsilon(1e-6).epsilon).toBeCloseTo(1, 7)
  })

  it('never claims less than the exact Gaussian mechanism allows (Balle & Wang 2018, Thm. 8)', () => {
    // The sanity check of dp_accounting's test_delta_bounds_gaussian and TF Privacy's compute_dp_sgd_privacy_test.
    const erfc = (x: number): number => Math.exp(logErfc(x))
    for (const [z, releases] of [[1, 1], [2, 10], [5, 100], [0.8, 3]] as const) {
      const { epsilon } = new RdpAccountant().compose(z, releases).epsilon(1e-5)
      const mu = Math.sqrt(releases) / z // k releases at z ≡ one release at z / √k
      const optimalDelta = 0.5 * erfc((epsilon / mu - mu / 2) / Math.SQRT2) - Math.exp(epsilon) * 0.5 * erfc((epsilon / mu + mu / 2) / Math.SQRT2)
      expect(optimalDelta).toBeLessThanOrEqual(1e-5)
      expect(optimalDelta).toBeGreaterThan(1e-7) // …and is not absurdly loose either
    }
  })

  it('reproduces TF Privacy compute_dp_sgd_privacy (current dp_accounting, improved conversion)', () => {
    // tensorflow/privacy tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py, test_compute_dp_sgd_privacy
    // (assertAlmostEqual: 7 places, and the same optimal order). Steps = ceil(epochs · n / batch), q = batch / n.
    const cases = [
      { n: 60_000, batch: 150, z: 1.3, epochs: 15, delta: 1e-5, epsilon: 0.7242234026109595, order: 19 },
      { n: 100_000, batch: 100, z: 1.0, epochs: 30, delta: 1e-7, epsilon: 1.4154988495444842, order: 13 },
      { n: 100_000_000, batch: 1024, z: 0.1, epochs: 10, delta: 1e-7, epsilon: 5907982.3113978775, order: 1.25 }
    ]
    for (const c of cases) {
      const result = subsampledEpsilon(COMPUTE_DP_SGD_PRIVACY_ORDERS, c.z, Math.ceil(c.epochs * c.n / c.batch), c.batch / c.n, c.delta)
      expect(relative(result.epsilon, c.epsilon)).toBeLessThan(1e-9)
      expect(result.order).toBe(c.order)
    }
  })

  it('reproduces TF Privacy\'s example-level DP-SGD statements (dp_accounting default orders)', () => {
    // tensorflow/privacy tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py,
    // test_compute_dp_sgd_example_privacy (RDP rows, 7 places): 1.2 epochs, z = 0.7, δ = 1e-5; microbatching halves z;
    // count = ceil(epochs) without sampling, ceil(epochs / q) with Poisson sampling q.
    const cases = [
      { z: 0.7, q: 1, count: 2, epsilon: 10.8602036 },
      { z: 0.35, q: 1, count: 2, epsilon: 26.2880374 },
      { z: 0.7, q: 0.01, count: 120, epsilon: 3.2392676 },
      { z: 0.35, q: 0.01, count: 120, epsilon: 22.6248601 }
    ]
    for (const c of cases) {
      expect(subsampledEpsilon(DP_ACCOUNTING_ORDERS, c.z, c.count, c.q, 1e-5).epsilon).toBeCloseTo(c.epsilon, 6)
    }
    // Same file, test_dp_sgd_privacy_statement_no_user_dp_with_rdp: 10000 examples, batch 64, 5 epochs, z = 2 with
    // microbatching (→ 1), δ = 1e-6: "once per epoch 13.376", "Poisson sampling 1.616" (printed to 3 decimals).
    expect(subsampledEpsilon(DP_ACCOUNTING_ORDERS, 1, 5, 1, 1e-6).epsilon).toBeCloseTo(13.376, 3)
    expect(subsampledEpsilon(DP_ACCOUNTING_ORDERS, 1, Math.ceil(5 / (64 / 10_000)), 64 / 10_000, 1e-6).epsilon).toBeCloseTo(1.616, 3)
  })

  it('reproduces the MNIST tutorial figures (classic conversion of the time)', () => {
    // tensorflow/privacy tutorials/README.md (2019 version): "compute_dp_sgd_privacy.py --N=60000 --batch_size=256
    // --noise_multiplier=1.1 --epochs=60 --delta=1e-5 ... eps = 3.01", and its table: z = 1.3, 15 epochs → 1.19;
    // z = 0.7, 45 epochs → 7.10. Printed to 2 decimals; the RDP → DP conversion then was the classic one.
    for (const [z, epochs, epsilon] of [[1.1, 60, 3.01], [1.3, 15, 1.19], [0.7, 45, 7.10]] as const) {
      const steps = Math.ceil(epochs * 60_000 / 256)
      expect(Math.abs(subsampledEpsilon(TUTORIAL_ORDERS, z, steps, 256 / 60_000, 1e-5, 'classic').epsilon - epsilon)).toBeLessThan(0.005)
    }
    // tensorflow/privacy tutorials/README.md (2018 version), mnist_dpsgd_tutorial.py: 60000 // 256 = 234 steps per
    // epoch; z = 1.12, 60 epochs → 2.92; z = 0.6, 30 epochs → 9.74; z = 1.2, 10 epochs → 1.20.
    for (const [z, epochs, epsilon] of [[1.12, 60, 2.92], [0.6, 30, 9.74], [1.2, 10, 1.20]] as const) {
      const result = subsampledEpsilon(TUTORIAL_ORDERS, z, epochs * 234, 256 / 60_000, 1e-5, 'classic')
      expect(Math.abs(result.epsilon - epsilon)).toBeLessThan(0.015)
    }
    // Today's conversion is tighter: the z = 1.1, 60-epoch run spends ε ≈ 2.6 with the default orders.
    const improved = new RdpAccountant().compose(1.1, Math.ceil(60 * 60_000 / 256), 256 / 60_000).epsilon(1e-5).epsilon
    expect(improved).toBeLessThan(3.01)
    expect(improved).toBeGreaterThan(2.4)
  })

  it('reproduces Opacus\' RDP accountant figures (DP-SGD: z = 1.5, q = 0.04, 90 epochs, δ = 1e-5)', () => {
    // pytorch/opacus opacus/tests/accountants_test.py: test_rdp_accountant asserts ε = 7.32911117143 for
    // int(90 / 0.04) = 2250 steps (orders 1.1…10.9 by 0.1 and 12…63, as TUTORIAL_ORDERS; the same conversion
    // as ours). Opacus sums the fractional-order series with signs, we in absolute value (an upper bound, as
    // dp_accounting does), so ours may only be a hair above theirs.
    const epsilon = subsampledEpsilon(TUTORIAL_ORDERS, 1.5, 2250, 0.04, 1e-5).epsilon
    expect(epsilon).toBeGreaterThanOrEqual(7.32911117143)
    expect(relative(epsilon, 7.32911117143)).toBeLessThan(1e-4)
    // Same file, test_get_noise_multiplier_rdp_epochs (ε = 8 over 90 epochs → z = 1.416) and _rdp_steps (2000
    // steps → z = 1.3562), both at places = 4 from a bisection that stops within 0.01 of the target ε.
    expect(relative(noiseMultiplierFor({ epsilon: 8, delta: 1e-5 }, 2250, 0.04), 1.416)).toBeLessThan(2e-4)
    expect(relative(noiseMultiplierFor({ epsilon: 8, delta: 1e-5 }, 2000, 0.04), 1.3562)).toBeLessThan(2e-4)
  })

  it('composes heterogeneous releases (TF Privacy test_check_composition)', () => {
    // tensorflow/privacy tensorflow_privacy/privacy/analysis/rdp_accountant_test.py, test_check_composition:
    // 40000 steps of (q = 1e-4, z = 0.4) then 100 of (q = 0.1, z = 2), δ = 1e-5; the classic conversion gave
    // 8.509656 at order 2.5 and the test now asserts ε ≤ 8.509656. Our classic figure is 0.05 % above it because
    // fractional orders sum the series in absolute value (as dp_accounting does today), an upper bound.
    const orders = [1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 64, 256]
    const accountant = new RdpAccountant(orders).compose(0.4, 40_000, 1e-4).compose(2, 100, 0.1)
    expect(accountant.epsilon(1e-5).epsilon).toBeLessThanOrEqual(8.509656)
    const classic = epsilonFromRdp(accountant.orders, accountant.rdp, 1e-5, 'classic')
    expect(classic.order).toBe(2.5)
    expect(relative(classic.epsilon, 8.509656)).toBeLessThan(1e-3)
  })

  it('spends more with more releases and less with more noise', () => {
    let previous = 0
    for (const releases of [1, 2, 5, 10, 50, 100, 1000]) {
      const { epsilon } = new RdpAccountant().compose(2, releases).epsilon(1e-5)
      expect(epsilon).toBeGreaterThan(previous)
      previous = epsilon
    }
    previous = Infinity
    for (const z of [0.5, 0.8, 1, 1.5, 2, 4, 8, 16]) {
      const { epsilon } = new RdpAccountant().compose(z, 100).epsilon(1e-5)
      expect(epsilon).toBeLessThan(previous)
      previous = epsilon
    }
    const full = new RdpAccountant().compose(1, 100).epsilon(1e-5).epsilon
    const sampled = new RdpAccountant().compose(1, 100, 0.1).epsilon(1e-5).epsilon
    expect(sampled).toBeLessThan(full)
  })

  it('starts at ε = 0 and counts releases', () => {
    const accountant = new RdpAccountant()
    expect(accountant.releases).toBe(0)
    expect(accountant.epsilon(1e-5)).toEqual({ epsilon: 0, order: DEFAULT_RDP_ORDERS[0] })
    accountant.compose(1.5).compose(1.5, 4)
    expect(accountant.releases).toBe(5)
    expect(accountant.orders).toEqual(DEFAULT_RDP_ORDERS)
  })

  it('rejects invalid parameters with actionable messages', () => {
    const accountant = new RdpAccountant()
    expectInvalid(() => accountant.compose(0), /noise multiplier/)
    expectInvalid(() => accountant.compose(NaN))
    expectInvalid(() => accountant.compose(1, 1.5), /non-negative integer/)
    expectInvalid(() => accountant.compose(1, -1))
    expectInvalid(() => accountant.compose(1, 1, 0), /sampling rate/)
    expectInvalid(() => accountant.compose(1, 1, 1.5), /sampling rate/)
    expectInvalid(() => accountant.epsilon(0), /delta/)
    expectInvalid(() => accountant.epsilon(1), /delta/)
    expectInvalid(() => new RdpAccountant([]), /order/)
    expectInvalid(() => new RdpAccountant([1]), /above 1/)
    expect(accountant.releases).toBe(0)
  })
})

describe('noiseMultiplierFor', () => {
  it('returns the smallest z meeting the target', () => {
    const targets: Array<[epsilon: number, delta: number, releases: number, samplingRate: number]> = [
      [1, 1e-5, 1, 1],
      [3, 1e-5, 100, 1],
      [8, 1e-6, 1000, 1],
      [1, 1e-5, 1000, 0.01],
      [3.01, 1e-5, 14_063, 256 / 60_000]
    ]
    for (const [epsilon, delta, releases, samplingRate] of targets) {
      const z = noiseMultiplierFor({ epsilon, delta }, releases, samplingRate)
      const spent = (noise: number): number => new RdpAccountant().compose(noise, releases, samplingRate).epsilon(delta).epsilon
      expect(spent(z)).toBeLessThanOrEqual(epsilon)
      expect(spent(z * 0.99)).toBeGreaterThan(epsilon)
      expect(spent(z * (1 - 1e-3))).toBeGreaterThan(epsilon)
    }
  })

  it('agrees with the Gaussian calibration of dp_accounting\'s test (1, 1e-6) → z ≈ 4.530877117', () => {
    // With the default (coarser) orders the z needed is at least the fine-grid one and close to it.
    const z = noiseMultiplierFor({ epsilon: 1, delta: 1e-6 }, 1)
    expect(z).toBeGreaterThanOrEqual(4.530877117 * (1 - 1e-4))
    expect(relative(z, 4.530877117)).toBeLessThan(0.01)
  })

  it('rejects invalid or unreachable targets', () => {
    expectInvalid(() => noiseMultiplierFor({ epsilon: 0, delta: 1e-5 }, 10), /epsilon/)
    expectInvalid(() => noiseMultiplierFor({ epsilon: -1, delta: 1e-5 }, 10), /epsilon/)
    expectInvalid(() => noiseMultiplierFor({ epsilon: NaN, delta: 1e-5 }, 10), /epsilon/)
    expectInvalid(() => noiseMultiplierFor({ epsilon: 1, delta: 0 }, 10), /delta/)
    expectInvalid(() => noiseMultiplierFor({ epsilon: 1, delta: 1 }, 10), /delta/)
    expectInvalid(() => noiseMultiplierFor({ epsilon: 1, delta: 1e-5 }, 0), /releases/)
    expectInvalid(() => noiseMultiplierFor({ epsilon: 1, delta: 1e-5 }, 2.5), /releases/)
    expectInvalid(() => noiseMultiplierFor({ epsilon: 1, delta: 1e-5 }, 10, 0), /sampling rate/)
    expectInvalid(() => noiseMultiplierFor({ epsilon: 1e-9, delta: 1e-5 }, 1000), /unreachable/)
    expectInvalid(() => noiseMultiplierFor({ epsilon: 1e12, delta: 1e-5 }, 1), /loose/)
  })
})
