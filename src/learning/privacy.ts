import { MurmurError } from '../errors.js'
import type { Weights } from './weights.js'

/*
 * Node-level differential privacy for the models a node shares (DP-FedAvg style: McMahan, Ramage,
 * Talwar, Zhang 2018, "Learning Differentially Private Recurrent Language Models").
 *
 * Per exchange, the node's delta for the round (model after local training minus model at the start
 * of the round) is clipped to L2 norm ≤ C over all tensors together, and N(0, (z·C)²) noise is added
 * to every coordinate; the node shares (and keeps) start + noisy delta. Each exchange is one release
 * of a Gaussian mechanism with L2 sensitivity C and noise multiplier z, and releases compose. The
 * RdpAccountant below tracks that composition in Rényi DP (Mironov 2017) and converts it to (ε, δ).
 *
 * What the guarantee covers is the caller's choice, made through the noise multiplier it composes:
 * - sensitivity C is the add-or-remove relation of DP-FedAvg: "this node's update" against "no
 *   update at all" (a zero delta). That is the guarantee murmur reports, and what `compose(z)` accounts.
 * - if neighbours are instead two arbitrary datasets of the same node (replace-one), two clipped
 *   deltas can differ by up to 2C, so account with `compose(z / 2)` to stay sound.
 * Subsampling amplification (samplingRate < 1) holds only when whether a node takes part in a round
 * is random (Poisson, probability q) and hidden from the observer; a node that always shares must
 * compose with samplingRate = 1.
 *
 * The noise must be unpredictable to whoever sees the shared model: draw it from `secureNormal()`
 * (Web Crypto), not from a seeded generator whose seed an adversary could know or guess. The noisy
 * model is stored as float32; as with every DP library working in floating point (Mironov 2012), the
 * rounding is not part of the formal analysis.
 */

export interface ClipAndNoiseOptions {
  /** L2 bound C on the whole delta (all tensors together); > 0. */
  clip: number
  /** z: the noise standard deviation is z·C; > 0. */
  noiseMultiplier: number
  /** Source of standard normal draws. Use `secureNormal()` for real privacy. */
  random: { normal(): number }
}

export interface ClipAndNoiseResult {
  /** The clipped delta plus noise, new arrays in the shapes of the input. */
  weights: Weights
  /** The L2 norm of the input delta, before clipping. */
  norm: number
  /** Whether the delta was scaled down to norm C. */
  clipped: boolean
}

export interface EpsilonResult {
  /** ε of the (ε, δ)-DP guarantee; Infinity when no finite bound exists. */
  epsilon: number
  /** The Rényi order that gave it. */
  order: number
}

/** 'improved': Balle et al. 2020 / Canonne, Kamath, Steinke 2020 (dp_accounting's); 'classic': Mironov 2017, Prop. 3. */
export type RdpConversion = 'improved' | 'classic'

/**
 * Rényi orders the accountant tracks by default: dp_accounting's `DEFAULT_RDP_ORDERS` (1.1 … 10.9 by
 * 0.1, 11 … 63, 128, 256, 512, 1024) plus the quarter orders TF Privacy's `compute_dp_sgd_privacy`
 * uses (1.25, 1.75, 2.25). Fractional orders near 1 matter for many releases or little noise, large
 * orders for few releases and much noise.
 */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  1.25, 1.75, 2.25,
  ...Array.from({ length: 53 }, (_, x) => 11 + x),
  128, 256, 512, 1024
].sort((a, b) => a - b))

function invalid (message: string): MurmurError {
  return new MurmurError('ERR_INVALID_ARGUMENT', message)
}

function assertPositiveFinite (value: number, what: string, hint: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid(`${what} must be a positive finite number, got ${String(value)}; ${hint}`)
  }
}

function assertNoiseMultiplier (noiseMultiplier: number): void {
  assertPositiveFinite(noiseMultiplier, 'the DP noise multiplier', 'without noise there is no privacy guarantee (typical values are 0.5–5)')
}

function assertSamplingRate (samplingRate: number): void {
  if (typeof samplingRate !== 'number' || !(samplingRate > 0 && samplingRate <= 1)) {
    throw invalid(`the DP sampling rate must lie in (0, 1], got ${String(samplingRate)}; use 1 when the node shares every round`)
  }
}

function assertDelta (delta: number): void {
  if (typeof delta !== 'number' || !(delta > 0 && delta < 1)) {
    throw invalid(`DP delta must lie strictly between 0 and 1, got ${String(delta)}; a common choice is below 1 / (number of nodes)`)
  }
}

function assertOrders (orders: readonly number[]): void {
  if (orders.length === 0) throw invalid('an RDP accountant needs at least one Rényi order')
  for (const order of orders) {
    if (typeof order !== 'number' || !Number.isFinite(order) || order <= 1) {
      throw invalid(`Rényi orders must be finite numbers above 1, got ${String(order)}`)
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Clipping and noise

/**
 * Clips a model delta to L2 norm ≤ clip over all its tensors together and adds N(0, (z·clip)²) noise
 * to every coordinate. Returns new arrays; the input is not touched.
 */
export function clipAndNoise (delta: Weights, options: ClipAndNoiseOptions): ClipAndNoiseResult {
  const { clip, noiseMultiplier, random } = options
  assertPositiveFinite(clip, 'the DP clipping norm', 'it bounds how far one round of local training may move the model (e.g. 0.1–10)')
  assertNoiseMultiplier(noiseMultiplier)
  if (typeof random?.normal !== 'function') throw invalid('clipAndNoise needs a random source with a normal() method, e.g. secureNormal()')

  let sumOfSquares = 0
  for (const tensor of delta) {
    for (const value of tensor.values) sumOfSquares += value * value
  }
  const norm = Math.sqrt(sumOfSquares)
  if (!Number.isFinite(norm)) {
    throw invalid('the model delta holds non-finite values (NaN or Infinity); local training diverged, so this update cannot be privatised')
  }
  const clipped = norm > clip
  const scale = clipped ? clip / norm : 1
  const stddev = noiseMultiplier * clip

  const weights = delta.map(tensor => {
    const values = new Float32Array(tensor.values.length)
    for (let i = 0; i < values.length; i++) {
      values[i] = (tensor.values[i] as number) * scale + stddev * random.normal()
    }
    return { shape: [...tensor.shape], values }
  })
  return { weights, norm, clipped }
}

/**
 * Standard normal draws from the platform's cryptographic generator (Web Crypto), for DP noise an
 * observer must not be able to predict or replay. Box–Muller on 53-bit uniforms.
 */
export function secureNormal (): { normal(): number } {
  const words = new Uint32Array(512)
  let next = words.length
  function uniform (): number {
    if (next + 2 > words.length) {
      globalThis.crypto.getRandomValues(words)
      next = 0
    }
    const high = (words[next++] as number) >>> 5
    const low = (words[next++] as number) >>> 6
    return (high * 67108864 + low) / 9007199254740992 // [0, 1) with 53 random bits
  }
  let spare: number | null = null
  return {
    normal (): number {
      if (spare !== null) {
        const value = spare
        spare = null
        return value
      }
      const radius = Math.sqrt(-2 * Math.log(1 - uniform()))
      const angle = 2 * Math.PI * uniform()
      spare = radius * Math.sin(angle)
      return radius * Math.cos(angle)
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Numerics

const LOG_PI = Math.log(Math.PI)
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI)
const LANCZOS_G = 7
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7
]

/** log |Γ(x)| (Lanczos, g = 7; reflection below 1/2). Infinity at the poles 0, −1, −2, … */
export function logGamma (x: number): number {
  if (x < 0.5) {
    if (Number.isInteger(x)) return Infinity
    // Γ(x) Γ(1 − x) = π / sin(πx)
    return LOG_PI - Math.log(Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x)
  }
  const y = x - 1
  let series = LANCZOS[0] as number
  for (let k = 1; k < LANCZOS.length; k++) series += (LANCZOS[k] as number) / (y + k)
  const t = y + LANCZOS_G + 0.5
  return HALF_LOG_2PI + (y + 0.5) * Math.log(t) - t + Math.log(series)
}

/** log |binomial(n, k)|, for real n (the sign of a fractional binomial is dropped). */
function logBinomial (n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1)
}

/** log(exp(a) + exp(b)) without overflow. */
function logAdd (a: number, b: number): number {
  const low = Math.min(a, b)
  const high = Math.max(a, b)
  if (low === -Infinity) return high
  return high + Math.log1p(Math.exp(low - high))
}

/**
 * log(erfc(x)), accurate in the far tail where erfc itself underflows: a positive-term series for
 * erf when |x| < 2, Lentz's continued fraction for erfc(x) = e^(−x²)/√π · 1/(x + ½/(x + 1/(x + …)))
 * beyond.
 */
export function logErfc (x: number): number {
  if (Number.isNaN(x)) return NaN
  if (x === Infinity) return -Infinity
  if (x === -Infinity) return Math.LN2
  if (x < 2) {
    if (x <= -2) return Math.log(2 - Math.exp(logErfc(-x)))
    // erf(x) = 2/√π · e^(−x²) · Σ (2x²)^n x / (1·3·…·(2n + 1)), all terms of one sign.
    const x2 = x * x
    let term = x
    let sum = x
    for (let n = 1; n < 200; n++) {
      term *= 2 * x2 / (2 * n + 1)
      sum += term
      if (Math.abs(term) < 1e-17 * Math.abs(sum)) break
    }
    const erf = 2 / Math.sqrt(Math.PI) * Math.exp(-x2) * sum
    return Math.log1p(-erf)
  }
  // Continued fraction K = 1/(x + a2/(x + a3/(x + …))), a_j = (j − 1)/2, evaluated by modified Lentz.
  const tiny = 1e-300
  let f = tiny
  let c = f
  let d = 0
  for (let j = 1; j < 10_000; j++) {
    const a = j === 1 ? 1 : (j - 1) / 2
    d = x + a * d
    if (d === 0) d = tiny
    c = x + a / c
    if (c === 0) c = tiny
    d = 1 / d
    const step = c * d
    f *= step
    if (Math.abs(step - 1) < 1e-16) break
  }
  return -x * x - 0.5 * LOG_PI + Math.log(f)
}

// ---------------------------------------------------------------------------------------------------
// RDP of the (sampled) Gaussian mechanism

/** log A_α for integer α: the exact binomial expansion (Mironov, Talwar, Zhang 2019, Sec. 3.2). */
function logAInteger (q: number, sigma: number, alpha: number): number {
  let logA = -Infinity
  const logQ = Math.log(q)
  const log1mQ = Math.log1p(-q)
  for (let i = 0; i <= alpha; i++) {
    const term = logBinomial(alpha, i) + i * logQ + (alpha - i) * log1mQ + (i * i - i) / (2 * sigma * sigma)
    logA = logAdd(logA, term)
  }
  return logA
}

const MAX_FRACTIONAL_TERMS = 1000

/**
 * log A_α for fractional α (Mironov, Talwar, Zhang 2019, Sec. 3.3): the integral split at
 * z0 = σ² log(1/q − 1) + ½, each half expanded in a binomial series; terms are summed in absolute
 * value, which bounds A_α from above (as dp_accounting does). Infinity when it does not converge,
 * which drops the order from the ε minimisation.
 */
function logAFractional (q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity
  let logA1 = -Infinity
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5
  const logQ = Math.log(q)
  const log1mQ = Math.log1p(-q)
  const scale = Math.SQRT2 * sigma
  let lastS0 = -Infinity
  let lastS1 = -Infinity
  for (let i = 0; i < MAX_FRACTIONAL_TERMS; i++) {
    const logCoefficient = logBinomial(alpha, i)
    const j = alpha - i
    const logT0 = logCoefficient + i * logQ + j * log1mQ
    const logT1 = logCoefficient + j * logQ + i * log1mQ
    const logE0 = Math.log(0.5) + logErfc((i - z0) / scale)
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / scale)
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1
    logA0 = logAdd(logA0, logS0)
    logA1 = logAdd(logA1, logS1)
    const total = logAdd(logA0, logA1)
    if (logS0 < lastS0 && logS1 < lastS1 && Math.max(logS0, logS1) < total - 30) return total
    lastS0 = logS0
    lastS1 = logS1
  }
  return Infinity
}

/**
 * RDP at `order` of one release of the Gaussian mechanism with noise multiplier z, Poisson-subsampled
 * with probability `samplingRate`: α / (2z²) without subsampling (Mironov 2017, Prop. 7), else
 * log(A_α) / (α − 1) (Mironov, Talwar, Zhang 2019). Add-or-remove adjacency.
 */
export function gaussianRdp (noiseMultiplier: number, order: number, samplingRate = 1): number {
  assertNoiseMultiplier(noiseMultiplier)
  assertSamplingRate(samplingRate)
  assertOrders([order])
  if (samplingRate === 1) return order / (2 * noiseMultiplier * noiseMultiplier)
  const logA = Number.isInteger(order)
    ? logAInteger(samplingRate, noiseMultiplier, order)
    : logAFractional(samplingRate, noiseMultiplier, order)
  return logA / (order - 1)
}

// ---------------------------------------------------------------------------------------------------
// RDP → (ε, δ)

/**
 * The smallest ε over the orders such that RDP implies (ε, δ)-DP. 'improved' (the default) is
 * Proposition 12 of Canonne, Kamath, Steinke 2020 (also Balle et al. 2020, Eq. 20), as in
 * dp_accounting: ε = rdp + log1p(−1/α) − (log δ + log α)/(α − 1), never above the classic
 * rdp + log(1/δ)/(α − 1) of Mironov 2017, and 0 when the KL bound δ ≥ √(1 − e^(−rdp)) already holds.
 */
export function epsilonFromRdp (orders: readonly number[], rdp: readonly number[], delta: number, conversion: RdpConversion = 'improved'): EpsilonResult {
  assertDelta(delta)
  assertOrders(orders)
  if (orders.length !== rdp.length) throw invalid('one RDP value per order is needed')
  const logDelta = Math.log(delta)
  let best: EpsilonResult = { epsilon: Infinity, order: orders[0] as number }
  orders.forEach((order, index) => {
    const r = rdp[index] as number
    if (Number.isNaN(r)) return
    const classic = r - logDelta / (order - 1)
    let epsilon = classic
    if (conversion === 'improved') {
      if (r <= 0 || delta * delta + Math.expm1(-r) > 0) {
        epsilon = 0
      } else if (order > 1.01) {
        // Numerically unstable as α → 1, and no better than the classic bound there.
        epsilon = Math.min(classic, r + Math.log1p(-1 / order) - (logDelta + Math.log(order)) / (order - 1))
      }
    }
    if (epsilon < best.epsilon) best = { epsilon, order }
  })
  return { epsilon: Math.max(0, best.epsilon), order: best.order }
}

// ---------------------------------------------------------------------------------------------------
// The accountant

/** What an accountant has composed: enough to carry it across a restart. */
export interface AccountantState {
  readonly orders: readonly number[]
  /** accumulated RDP, one value per order */
  readonly rdp: readonly number[]
  readonly releases: number
}

/**
 * Rényi-DP accountant for a node's Gaussian releases. RDP adds up over releases, order by order; ε
 * for a δ comes from the best order.
 */
export class RdpAccountant {
  readonly #orders: readonly number[]
  readonly #rdp: number[]
  #releases = 0

  constructor (orders: readonly number[] = DEFAULT_RDP_ORDERS) {
    assertOrders(orders)
    this.#orders = Object.freeze([...orders])
    this.#rdp = orders.map(() => 0)
  }

  /**
   * Accounts `releases` releases of the Gaussian mechanism with noise multiplier z, each
   * Poisson-subsampled with probability `samplingRate` (1: the node shares every time).
   */
  compose (noiseMultiplier: number, releases = 1, samplingRate = 1): this {
    assertNoiseMultiplier(noiseMultiplier)
    assertSamplingRate(samplingRate)
    if (!Number.isSafeInteger(releases) || releases < 0) {
      throw invalid(`the number of DP releases must be a non-negative integer, got ${String(releases)}`)
    }
    if (releases === 0) return this
    this.#orders.forEach((order, index) => {
      this.#rdp[index] = (this.#rdp[index] as number) + releases * gaussianRdp(noiseMultiplier, order, samplingRate)
    })
    this.#releases += releases
    return this
  }

  /**
   * Accounts `releases` releases of a mechanism whose RDP per release is given, one value per order
   * of this accountant (e.g. `gaussianRdp` at each order, computed once for a fixed mechanism).
   */
  composeRdp (perRelease: readonly number[], releases = 1): this {
    if (perRelease.length !== this.#orders.length) throw invalid('one RDP value per order is needed')
    if (!Number.isSafeInteger(releases) || releases < 0) {
      throw invalid(`the number of DP releases must be a non-negative integer, got ${String(releases)}`)
    }
    if (perRelease.some(value => typeof value !== 'number' || Number.isNaN(value) || value < 0)) throw invalid('RDP values must be non-negative numbers')
    if (releases === 0) return this
    perRelease.forEach((value, index) => { this.#rdp[index] = (this.#rdp[index] as number) + releases * value })
    this.#releases += releases
    return this
  }

  /** What has been composed so far, to save and later `restore`. */
  snapshot (): AccountantState {
    return { orders: [...this.#orders], rdp: [...this.#rdp], releases: this.#releases }
  }

  /** An accountant that goes on from a saved state; refuses a state that is not one. */
  static restore (state: AccountantState): RdpAccountant {
    const { orders, rdp, releases } = state
    if (!Array.isArray(orders) || !Array.isArray(rdp) || orders.length !== rdp.length) throw invalid('a saved accountant needs one RDP value per order')
    if (!Number.isSafeInteger(releases) || releases < 0) throw invalid(`a saved accountant's release count must be a non-negative integer, got ${String(releases)}`)
    const accountant = new RdpAccountant(orders)
    accountant.composeRdp(rdp, 1)
    accountant.#releases = releases
    return accountant
  }

  /** The (ε, δ)-DP guarantee of everything composed so far, at the best order. */
  epsilon (delta: number): EpsilonResult {
    return epsilonFromRdp(this.#orders, this.#rdp, delta)
  }

  /** Releases composed so far. */
  get releases (): number {
    return this.#releases
  }

  get orders (): readonly number[] {
    return this.#orders
  }

  /** Accumulated RDP, one value per order (a copy). */
  get rdp (): readonly number[] {
    return [...this.#rdp]
  }
}

// ---------------------------------------------------------------------------------------------------
// Calibration

const MIN_NOISE_MULTIPLIER = 1e-6
const MAX_NOISE_MULTIPLIER = 1e6

/**
 * The smallest noise multiplier z (to 1e-4 relative) for which `releases` Gaussian releases, each
 * subsampled with probability `samplingRate`, spend at most `target.epsilon` at `target.delta`.
 */
export function noiseMultiplierFor (target: { epsilon: number; delta: number }, releases: number, samplingRate = 1): number {
  const { epsilon, delta } = target
  assertPositiveFinite(epsilon, 'the target DP epsilon', 'pick the privacy budget for the whole run, e.g. 1–10')
  assertDelta(delta)
  if (!Number.isSafeInteger(releases) || releases < 1) {
    throw invalid(`the number of DP releases must be a positive integer, got ${String(releases)}; count every model the node will share`)
  }
  assertSamplingRate(samplingRate)

  const spent = (z: number): number => {
    // One release's RDP, scaled: composing `releases` times in one call is exactly that.
    return new RdpAccountant().compose(z, releases, samplingRate).epsilon(delta).epsilon
  }

  let high = 1
  while (spent(high) > epsilon) {
    high *= 2
    if (high > MAX_NOISE_MULTIPLIER) {
      throw invalid(`the target ε = ${String(epsilon)} at δ = ${String(delta)} over ${String(releases)} releases is unreachable: even a noise multiplier of ${String(MAX_NOISE_MULTIPLIER)} spends more; allow a larger ε or δ, or fewer releases`)
    }
  }
  let low = high / 2
  while (spent(low) <= epsilon) {
    high = low
    low /= 2
    if (low < MIN_NOISE_MULTIPLIER) {
      throw invalid(`the target ε = ${String(epsilon)} at δ = ${String(delta)} is so loose that any noise multiplier above ${String(MIN_NOISE_MULTIPLIER)} meets it; it gives no meaningful privacy, choose a smaller ε`)
    }
  }
  // Invariant: spent(low) > ε ≥ spent(high).
  while (high / low > 1 + 1e-4) {
    const middle = Math.sqrt(low * high)
    if (spent(middle) <= epsilon) high = middle
    else low = middle
  }
  return high
}
