import { MurmurError } from '../errors.js'
import { sameShapes, weightedAverage, type Tensor, type Weights } from './weights.js'

/** A model and how many training samples stand behind it. */
export interface Contribution {
  readonly weights: Weights
  readonly samples: number
}

/**
 * How a node combines its own model with those it heard from peers (Flower's Strategy, reduced to the
 * one decision a serverless node makes). Every rule returns fresh arrays and leaves its inputs alone.
 * Inputs are expected to be finite: receivers refuse updates holding NaN or ±Infinity before merging.
 */
export interface MergeRule {
  /** the canonical text of the rule, as parseMergeRule reads it */
  readonly name: string
  /**
   * Whether one contribution cannot move the result far (the rule bounds what a minority does). Every
   * rule merges a node's window of its peers' latest trained models; a node under a robust rule also
   * reads broadcast models only from its neighbours' own identities (docs/security.md), since fresh
   * identities could otherwise outnumber them.
   */
  readonly robust: boolean
  /**
   * `center`: the node's previous merged model, its estimate of the swarm's model before this round.
   * `clipped-gossip` clips around it when given (see below); the other rules ignore it.
   */
  merge (own: Contribution, received: readonly Contribution[], center?: Weights): Weights
}

/**
 * A merge rule as data:
 * - mean: average weighted by samples (max(samples, 1)). Not robust: one peer can move it anywhere.
 * - trimmed-mean:BETA (0 ≤ BETA < 0.5): per parameter, drop the ⌊BETA·n⌋ smallest and largest of the
 *   n values (own + received), average the rest unweighted. Tolerates fewer than ⌊BETA·n⌋ attackers.
 * - median: per parameter, the median of the n values (mean of the two middle ones for even n).
 * - clipped-mean:TAU (TAU > 0): centred clipping (Karimireddy, He & Jaggi 2021), one step around the
 *   node's own model: own + sample-weighted mean of the peers' differences, each scaled down to L2
 *   norm ≤ TAU (own difference 0). A peer with weight share s moves the result by at most TAU·s.
 * - clipped-gossip:BETA (0 ≤ BETA < 0.5): ClippedGossip (He, Karimireddy & Jaggi 2022), centred
 *   clipping with a radius chosen each merge from the models themselves: of the n models (own +
 *   received), the ⌊BETA·n⌋ farthest from the centre are scaled down onto the distance of the
 *   next farthest; then the unweighted mean. With at most ⌊BETA·n⌋ hostile models, each moves the
 *   result by at most 1/n of the farthest honest model's distance; honest models inside the radius
 *   count in full, which keeps what skewed peers learned that a coordinate-wise trim would drop.
 *   The centre is the node's previous merged model when the node gives it (nodes do from their
 *   second round), as centred clipping centres on the previous aggregate (Karimireddy, He & Jaggi,
 *   "Learning from History for Byzantine Robust Optimization", ICML 2021); the node's own trained
 *   model is then one of the n models, clipped like the others. Without it, the centre is the own
 *   model. Under label skew the own model is the one that just took local steps on the node's own
 *   classes: clipped around it, the merge leans towards them, and the node whose classes are rarest
 *   ends furthest from the swarm (docs/architecture.md, section 5, "The clipping's centre").
 */
export type MergeRuleSpec =
  | { readonly kind: 'mean' }
  | { readonly kind: 'trimmed-mean'; readonly beta: number }
  | { readonly kind: 'median' }
  | { readonly kind: 'clipped-mean'; readonly tau: number }
  | { readonly kind: 'clipped-gossip'; readonly beta: number }

export const MERGE_RULE_KINDS = ['mean', 'trimmed-mean', 'median', 'clipped-mean', 'clipped-gossip'] as const
export type MergeRuleKind = typeof MERGE_RULE_KINDS[number]

/**
 * The default for new manifests: a robust rule that no claim can buy weight in and that keeps what
 * honest peers with different data learned. The quarter of the merged models farthest from the node's
 * previous merged model are pulled onto the distance of the next farthest (ClippedGossip, centred as
 * centred clipping is), so up to a quarter may be
 * hostile and each moves the node by at most 1/n of an honest model's distance; sample claims are
 * ignored. trimmed-mean:0.25 (the default before) bounds attackers per parameter but, under label
 * skew, drops the few peers that hold a class (docs/architecture.md, "Merging under skew"). `mean`
 * stays available for swarms whose members trust each other (e.g. behind a swarm key).
 */
export const DEFAULT_MERGE_RULE = 'clipped-gossip:0.25'

/** The accepted spellings, for error messages and --help. */
export const MERGE_RULES_HELP = 'mean, trimmed-mean:BETA, median, clipped-mean:TAU, clipped-gossip:BETA'

const RANGES_HELP = '0 ≤ BETA < 0.5, TAU > 0'

const NUMBER = '((?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?)'
const TRIMMED_MEAN_NAME = new RegExp(`^trimmed-mean:${NUMBER}$`)
const CLIPPED_MEAN_NAME = new RegExp(`^clipped-mean:${NUMBER}$`)
const CLIPPED_GOSSIP_NAME = new RegExp(`^clipped-gossip:${NUMBER}$`)

function validBeta (beta: unknown): beta is number {
  return typeof beta === 'number' && beta >= 0 && beta < 0.5
}

function validTau (tau: unknown): tau is number {
  return typeof tau === 'number' && Number.isFinite(tau) && tau > 0
}

/** The rule a text stands for, or undefined. */
function specOf (text: string): MergeRuleSpec | undefined {
  if (text === 'mean' || text === 'median') return { kind: text }
  const trimmed = TRIMMED_MEAN_NAME.exec(text)
  if (trimmed !== null) {
    const beta = Number(trimmed[1])
    return validBeta(beta) ? { kind: 'trimmed-mean', beta } : undefined
  }
  const clipped = CLIPPED_MEAN_NAME.exec(text)
  if (clipped !== null) {
    const tau = Number(clipped[1])
    return validTau(tau) ? { kind: 'clipped-mean', tau } : undefined
  }
  const gossip = CLIPPED_GOSSIP_NAME.exec(text)
  if (gossip !== null) {
    const beta = Number(gossip[1])
    return validBeta(beta) ? { kind: 'clipped-gossip', beta } : undefined
  }
  return undefined
}

/** 'mean', 'trimmed-mean:0.2', 'median', 'clipped-mean:5'; anything else is ERR_INVALID_ARGUMENT. */
export function parseMergeRule (text: string): MergeRuleSpec {
  const spec = specOf(text)
  if (spec === undefined) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `unknown merge rule ${JSON.stringify(text)}; expected one of: ${MERGE_RULES_HELP} (${RANGES_HELP})`)
  }
  return spec
}

/** Whether parseMergeRule accepts the text. */
export function isMergeRuleName (text: string): boolean {
  return specOf(text) !== undefined
}

function assertSpec (spec: MergeRuleSpec): void {
  const value = spec as { kind?: unknown; beta?: unknown; tau?: unknown } | undefined
  const valid = value?.kind === 'mean' || value?.kind === 'median' ||
    ((value?.kind === 'trimmed-mean' || value?.kind === 'clipped-gossip') && validBeta(value.beta)) ||
    (value?.kind === 'clipped-mean' && validTau(value.tau))
  if (!valid) throw new MurmurError('ERR_INVALID_ARGUMENT', `invalid merge rule ${JSON.stringify(spec)}; expected one of: ${MERGE_RULES_HELP} (${RANGES_HELP})`)
}

/** The text parseMergeRule reads back as the same rule, numbers without trailing zeros: 'trimmed-mean:0.2'. */
export function formatMergeRule (spec: MergeRuleSpec): string {
  assertSpec(spec)
  switch (spec.kind) {
    case 'mean':
    case 'median':
      return spec.kind
    // String() is the shortest text that reads back as the same number.
    case 'trimmed-mean':
      return `trimmed-mean:${String(spec.beta)}`
    case 'clipped-mean':
      return `clipped-mean:${String(spec.tau)}`
    case 'clipped-gossip':
      return `clipped-gossip:${String(spec.beta)}`
  }
}

/** The rule for a merge.rule text of a manifest or a --merge flag. */
export function createMergeRule (text: string): MergeRule {
  const spec = parseMergeRule(text)
  switch (spec.kind) {
    case 'mean':
      return new WeightedMean()
    case 'trimmed-mean':
      return new TrimmedMean(spec.beta)
    case 'median':
      return new CoordinateMedian()
    case 'clipped-mean':
      return new CenteredClipping(spec.tau)
    case 'clipped-gossip':
      return new ClippedGossip(spec.beta)
  }
}

/** Refuses contributions whose tensors differ from the node's own in count, shape or value count. */
function assertCompatible (own: Weights, received: readonly Contribution[]): void {
  for (const { weights } of received) {
    if (!sameShapes(own, weights) || !own.every((tensor, index) => tensor.values.length === (weights[index] as Tensor).values.length)) {
      throw new MurmurError('ERR_INVALID_ARGUMENT', 'weights of different architectures cannot be combined')
    }
  }
}

function copyOf (weights: Weights): Weights {
  return weights.map(tensor => ({ shape: [...tensor.shape], values: Float32Array.from(tensor.values) }))
}

/** Average weighted by samples seen, so a fresh or slow node moves the swarm less than a seasoned one. */
export class WeightedMean implements MergeRule {
  readonly robust = false
  readonly name = 'mean'

  merge (own: Contribution, received: readonly Contribution[]): Weights {
    const all = [own, ...received]
    // A node that has seen no samples yet still counts a little, so that a swarm of new nodes can average.
    return weightedAverage(all.map(c => c.weights), all.map(c => Math.max(c.samples, 1)))
  }
}

/**
 * Rearranges column[lo..hi] so that column[k] holds the value a sort would put there, with no greater
 * value before it and no smaller one after it (Wirth's selection, O(n) on average, in place).
 */
function select (column: Float32Array, lo: number, hi: number, k: number): void {
  while (lo < hi) {
    const pivot = column[k] as number
    let i = lo
    let j = hi
    do {
      while ((column[i] as number) < pivot) i++
      while (pivot < (column[j] as number)) j--
      if (i <= j) {
        const swap = column[i] as number
        column[i] = column[j] as number
        column[j] = swap
        i++
        j--
      }
    } while (i <= j)
    if (j < k) lo = i
    if (k < i) hi = j
  }
}

/**
 * Applies `reduce` to each parameter's values across the models, gathered into one column buffer that
 * is reused for every parameter (and may be reordered by `reduce`): no allocation per parameter.
 */
function coordinatewise (models: readonly Weights[], reduce: (column: Float32Array, n: number) => number): Weights {
  const first = models[0] as Weights
  const n = models.length
  const column = new Float32Array(n)
  return first.map((tensor, index) => {
    const sources = models.map(model => (model[index] as Tensor).values)
    const values = new Float32Array(tensor.values.length)
    for (let i = 0; i < values.length; i++) {
      for (let k = 0; k < n; k++) column[k] = (sources[k] as Float32Array)[i] as number
      values[i] = reduce(column, n)
    }
    return { shape: [...tensor.shape], values }
  })
}

/**
 * How many of n values a robust rule with share `beta` sets aside (trims, clips): ⌊beta·n⌋, at most
 * ⌊(n − 1)/2⌋ so that a majority always remains. The epsilon keeps e.g. 0.29 × 100 =
 * 28.999999999999996 at 29.
 */
function outvotedCount (beta: number, n: number): number {
  return Math.min(Math.floor(beta * n + 1e-9), Math.floor((n - 1) / 2))
}

/**
 * Coordinate-wise trimmed mean (Yin et al. 2018): for each parameter, the ⌊beta·n⌋ smallest and
 * ⌊beta·n⌋ largest of the n values (own + received) are dropped and the rest averaged, unweighted, so
 * reported sample counts give an attacker no leverage. With nothing to trim it is the plain mean.
 */
export class TrimmedMean implements MergeRule {
  readonly robust = true
  readonly name: string

  constructor (readonly beta: number) {
    this.name = formatMergeRule({ kind: 'trimmed-mean', beta })
  }

  /** How many values are dropped at each end out of n: ⌊beta·n⌋, always leaving at least one. */
  trimmedCount (n: number): number {
    return outvotedCount(this.beta, n)
  }

  merge (own: Contribution, received: readonly Contribution[]): Weights {
    assertCompatible(own.weights, received)
    if (received.length === 0) return copyOf(own.weights)
    const models = [own.weights, ...received.map(c => c.weights)]
    const trim = this.trimmedCount(models.length)
    const kept = models.length - 2 * trim
    return coordinatewise(models, (column, n) => {
      if (trim > 0) {
        // the trim smallest values end up before position trim, the trim largest after n - 1 - trim
        select(column, 0, n - 1, trim)
        select(column, trim, n - 1, n - 1 - trim)
      }
      let sum = 0
      for (let k = trim; k < n - trim; k++) sum += column[k] as number
      return sum / kept
    })
  }
}

/** Coordinate-wise median of own + received (the mean of the two middle values for an even count). */
export class CoordinateMedian implements MergeRule {
  readonly robust = true
  readonly name = 'median'

  merge (own: Contribution, received: readonly Contribution[]): Weights {
    assertCompatible(own.weights, received)
    if (received.length === 0) return copyOf(own.weights)
    const models = [own.weights, ...received.map(c => c.weights)]
    const low = (models.length - 1) >> 1
    const high = models.length >> 1
    return coordinatewise(models, (column, n) => {
      select(column, 0, n - 1, high)
      if (low === high) return column[high] as number
      // for an even count the lower middle value is the largest of those selected before it
      let below = column[0] as number
      for (let k = 1; k < high; k++) below = Math.max(below, column[k] as number)
      return (below + (column[high] as number)) / 2
    })
  }
}

/**
 * Centred clipping around the node's own model (Karimireddy, He & Jaggi 2021, one iteration): each
 * peer's difference d = received − own is scaled to norm min(‖d‖, tau) over all tensors together,
 * then own + Σ wᵢ·clip(dᵢ) / Σ w, the weights wᵢ = max(samples, 1) including the node's own (whose
 * difference is 0). A peer with weight share s = wᵢ / Σ w moves the result by at most tau·s, however
 * far away it is; since peers report their own sample counts, the guaranteed bound is tau per peer.
 */
export class CenteredClipping implements MergeRule {
  readonly robust = true
  readonly name: string

  constructor (readonly tau: number) {
    this.name = formatMergeRule({ kind: 'clipped-mean', tau })
  }

  merge (own: Contribution, received: readonly Contribution[]): Weights {
    assertCompatible(own.weights, received)
    const total = [own, ...received].reduce((sum, c) => sum + Math.max(c.samples, 1), 0)
    if (!(total > 0) || !Number.isFinite(total)) throw new MurmurError('ERR_INVALID_ARGUMENT', 'sample counts must be finite numbers')
    const coefficients = received.map(contribution => {
      const norm = Math.sqrt(squaredDistance(contribution.weights, own.weights))
      const scale = norm > this.tau ? this.tau / norm : 1
      return Math.max(contribution.samples, 1) / total * scale
    })
    return shiftedBy(own.weights, received, coefficients)
  }
}

/**
 * ClippedGossip's aggregation with its adaptive radius (He, Karimireddy & Jaggi, "Byzantine-Robust
 * Decentralized Learning via ClippedGossip", 2022): own + (1/n)·Σ clip(received − own, radius), the
 * radius the distance of the farthest model once the ⌊beta·n⌋ farthest are set aside (n = own +
 * received; at most ⌊(n − 1)/2⌋ are clipped, as trimmed-mean trims). Sample claims are ignored.
 * Given a centre c (the node's previous merged model), c + (1/n)·Σ clip(x − c, radius) over all n
 * models, the own one included (MergeRuleSpec, above, says why).
 */
export class ClippedGossip implements MergeRule {
  readonly robust = true
  readonly name: string

  constructor (readonly beta: number) {
    this.name = formatMergeRule({ kind: 'clipped-gossip', beta })
  }

  /** How many models are clipped out of n: ⌊beta·n⌋, at most ⌊(n − 1)/2⌋. */
  clippedCount (n: number): number {
    return outvotedCount(this.beta, n)
  }

  /** The clipping radius for these distances of the received models (Infinity when none is clipped). */
  radius (distances: readonly number[]): number {
    const clipped = this.clippedCount(distances.length + 1)
    if (clipped === 0) return Number.POSITIVE_INFINITY
    const descending = [...distances].sort((a, b) => b - a)
    return descending[clipped] as number
  }

  merge (own: Contribution, received: readonly Contribution[], center?: Weights): Weights {
    assertCompatible(own.weights, received)
    if (received.length === 0) return copyOf(own.weights)
    if (center !== undefined) {
      assertCompatible(own.weights, [{ weights: center, samples: 0 }])
      // Every one of the n models, the own one included, is a difference from the centre.
      const all = [own, ...received]
      const distances = all.map(contribution => Math.sqrt(squaredDistance(contribution.weights, center)))
      const clipped = this.clippedCount(all.length)
      const radius = clipped === 0 ? Number.POSITIVE_INFINITY : [...distances].sort((a, b) => b - a)[clipped] as number
      return shiftedBy(center, all, distances.map(d => (d > radius ? radius / d : 1) / all.length))
    }
    const distances = received.map(contribution => Math.sqrt(squaredDistance(contribution.weights, own.weights)))
    const radius = this.radius(distances)
    const n = received.length + 1
    const coefficients = distances.map(d => (d > radius ? radius / d : 1) / n)
    return shiftedBy(own.weights, received, coefficients)
  }
}

/**
 * The float64 sum of a clipped merge's shifts, in an array reused from merge to merge (zeroed here;
 * merges are synchronous): a fresh one each merge was a model's worth of garbage per round in a
 * simulation of thousands of nodes.
 */
let shiftScratch = new Float64Array(0)
function zeroedShift (length: number): Float64Array {
  if (shiftScratch.length < length) shiftScratch = new Float64Array(length)
  const shift = shiftScratch.subarray(0, length)
  shift.fill(0)
  return shift
}

/**
 * own + Σₖ coefficientₖ·(receivedₖ − own), tensor by tensor, the sum taken in doubles: what the
 * clipped rules return once they have their coefficients.
 */
function shiftedBy (own: Weights, received: readonly Contribution[], coefficients: readonly number[]): Weights {
  return own.map((tensor, index) => {
    const base = tensor.values
    const length = base.length
    const shift = zeroedShift(length)
    for (let k = 0; k < received.length; k++) {
      const coefficient = coefficients[k] as number
      const source = ((received[k] as Contribution).weights[index] as Tensor).values
      for (let i = 0; i < length; i++) shift[i] = (shift[i] as number) + coefficient * ((source[i] as number) - (base[i] as number))
    }
    const values = new Float32Array(length)
    for (let i = 0; i < length; i++) values[i] = (base[i] as number) + (shift[i] as number)
    return { shape: [...tensor.shape], values }
  })
}

/** ‖a − b‖² over all tensors, in double precision; shapes already checked. */
function squaredDistance (a: Weights, b: Weights): number {
  let sum = 0
  for (let index = 0; index < a.length; index++) {
    const x = (a[index] as Tensor).values
    const y = (b[index] as Tensor).values
    const length = x.length
    for (let i = 0; i < length; i++) {
      const difference = (x[i] as number) - (y[i] as number)
      sum += difference * difference
    }
  }
  return sum
}
