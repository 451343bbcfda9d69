import { chanceSkew, labelSkew } from '../data/label-skew.js'

/**
 * How a node adapts its exchange to the label skew of its own data: a fact it knows locally, not a
 * claim of others, so nothing a peer sends changes it (docs/architecture.md, section 5, "Exchanging
 * under skew").
 *
 * Under label skew each node holds classes the others lack, and a node's merge is only as good as
 * the models it holds of its peers: a model several rounds old is an older view of that peer's
 * classes. A skewed node therefore pushes to more peers after each round, so that each peer's window
 * holds fresher models of it; a node whose labels are balanced gains nothing from that and keeps the
 * manifest's fanout, so an IID swarm sends no more bytes. Measured in docs/simulations.md, section 6,
 * "Exchanging under skew".
 *
 * The skew's place between SKEW_LOW and SKEW_HIGH, clamped to [0, 1], scales the fanout:
 * fanout × (1 + (SKEWED_FANOUT_FACTOR − 1)·share), rounded. A fully skewed node of the default
 * manifest pushes to 7 peers every 20 steps instead of 3: 7/3 the bytes a second.
 *
 * Local steps stay as the manifest sets them. Merging twice as often (as nodes did until 2026-12-03)
 * freshens the windows in the simulator, where exchanging costs no CPU time; in real swarms whose
 * nodes share few cores every round's pushes, decoding and merge take time from training, and once
 * pushes arrived reliably (model-push.ts, push-exchange.ts) 10-step and 20-step rounds ended as close
 * to the centralized model (MNIST `dirichlet:0.1`: −1.6 and −2.6 points against −1.9 and −2.1), the longer
 * ones for fewer bytes (docs/simulations.md, section 6, "Rounds that cost CPU time").
 */

/** label skew (label-skew.ts) up to which a node keeps the manifest's settings: above IID parts (≤ 0.05), below most dirichlet:0.5 ones */
export const SKEW_LOW = 0.3
/** label skew from which a node adapts fully (dirichlet:0.1 and shards:2 parts of MNIST are 0.55–0.8) */
export const SKEW_HIGH = 0.6
/** the most a skewed node multiplies the manifest's fanout by: 3 → 7 */
export const SKEWED_FANOUT_FACTOR = 7 / 3
/**
 * How many times the skew that chance alone gives (chanceSkew) a node's label skew must reach to
 * count. Records drawn from balanced labels look skewed when they are few: a simulated phone's 7
 * cover at most 7 of 10 classes (skew at least 0.3, 0.48 on average), and until this rule every phone
 * of an IID swarm pushed to 7 peers every other step (10,000 simulated phones: 1,774 s of wall time
 * against 1,307 s with the rule, at the same accuracy). Twice the chance skew is beyond the most 7
 * records can show (0.9 for a single class, against 2 × 0.45), while a node of 24 records of one
 * class (a `dirichlet:0.1` part of MNIST) still adapts (0.9 against 2 × 0.25); from 64 records of 10
 * classes the margin lies below SKEW_LOW, so no part of the 8-node benchmarks changes.
 */
export const CHANCE_SKEW_MARGIN = 2

/**
 * How far the node's labels are skewed, from 0 (keep the manifest's settings) to 1 (adapt fully); 0
 * when unknown or within what chance gives for so few records (CHANCE_SKEW_MARGIN).
 */
export function skewShare (counts: readonly number[] | undefined): number {
  if (counts === undefined) return 0
  const skew = labelSkew(counts)
  const records = counts.reduce((sum, count) => sum + count, 0)
  if (skew < CHANCE_SKEW_MARGIN * chanceSkew(records, counts.length)) return 0
  return Math.min(1, Math.max(0, (skew - SKEW_LOW) / (SKEW_HIGH - SKEW_LOW)))
}

/** The fanout of a node with these label counts; the manifest's `fanout` when they are unknown. */
export function skewFanout (fanout: number, counts: readonly number[] | undefined): number {
  return Math.round(fanout * (1 + (SKEWED_FANOUT_FACTOR - 1) * skewShare(counts)))
}
