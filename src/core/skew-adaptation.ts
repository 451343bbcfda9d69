import { labelSkew } from '../data/label-skew.js'

/**
 * How a node adapts its exchange to the label skew of its own data: a fact it knows locally, not a
 * claim of others, so nothing a peer sends changes it (docs/architecture.md, section 5, "Exchanging
 * under skew").
 *
 * Under label skew each node holds classes the others lack, and a node's merge is only as good as
 * the models it holds of its peers: a model several rounds old is an older view of that peer's
 * classes, and more local steps between merges carry a node further towards its own classes (client
 * drift; in the analysis of decentralized SGD with local steps the heterogeneity term grows with the
 * number of local steps: Koloskova, Loizou, Boreiri, Jaggi & Stich, "A Unified Theory of
 * Decentralized SGD with Changing Topology and Local Updates", ICML 2020). A skewed node therefore
 * pushes to more peers after each round and merges more often; a node whose labels are balanced
 * gains nothing from either and keeps the manifest's settings, so an IID swarm sends no more bytes.
 * Measured in docs/simulations.md, section 6, "Exchanging under skew".
 *
 * The skew's place between SKEW_LOW and SKEW_HIGH, clamped to [0, 1], scales both:
 * fanout × (1 + (SKEWED_FANOUT_FACTOR − 1)·share) and localSteps / (1 + (SKEWED_ROUNDS_FACTOR − 1)·share),
 * rounded. A fully skewed node of the default manifest pushes to 7 peers every 10 steps instead of
 * 3 every 20: 14/3 the bytes a second.
 */

/** label skew (label-skew.ts) up to which a node keeps the manifest's settings: above IID parts (≤ 0.05), below most dirichlet:0.5 ones */
export const SKEW_LOW = 0.3
/** label skew from which a node adapts fully (dirichlet:0.1 and shards:2 parts of MNIST are 0.55–0.8) */
export const SKEW_HIGH = 0.6
/** the most a skewed node multiplies the manifest's fanout by: 3 → 7 */
export const SKEWED_FANOUT_FACTOR = 7 / 3
/** the most a skewed node multiplies its rounds by (divides its local steps by): 20 → 10 */
export const SKEWED_ROUNDS_FACTOR = 2

/**
 * Records a class a node must hold on average before its label counts tell skew from chance. A few
 * records drawn from balanced labels look skewed: 7 of them (a simulated phone's) cover at most 7
 * of 10 classes, so their skew is at least 0.3 and 0.48 on average, and such nodes pushed to 7 peers
 * every other step in an IID swarm (2.9 × the wall time of 10,000 simulated phones). With 10 a
 * class (100 records of 10 classes), balanced draws read 0.12 on average and none of 4,000 reached
 * SKEW_LOW; every part of the 8-node benchmarks holds hundreds.
 */
export const MIN_RECORDS_PER_CLASS = 10

/**
 * How far the node's labels are skewed, from 0 (keep the manifest's settings) to 1 (adapt fully); 0
 * when unknown or when the node holds too few records to tell (MIN_RECORDS_PER_CLASS).
 */
export function skewShare (counts: readonly number[] | undefined): number {
  if (counts === undefined) return 0
  const records = counts.reduce((sum, count) => sum + count, 0)
  if (records < MIN_RECORDS_PER_CLASS * counts.length) return 0
  return Math.min(1, Math.max(0, (labelSkew(counts) - SKEW_LOW) / (SKEW_HIGH - SKEW_LOW)))
}

/** The fanout of a node with these label counts; the manifest's `fanout` when they are unknown. */
export function skewFanout (fanout: number, counts: readonly number[] | undefined): number {
  return Math.round(fanout * (1 + (SKEWED_FANOUT_FACTOR - 1) * skewShare(counts)))
}

/** The local steps between two merges of a node with these label counts (at least 1); the manifest's when they are unknown. */
export function skewLocalSteps (localSteps: number, counts: readonly number[] | undefined): number {
  return Math.max(1, Math.round(localSteps / (1 + (SKEWED_ROUNDS_FACTOR - 1) * skewShare(counts))))
}
