import { MurmurError } from '../errors.js'
import { type Random, createRandom } from './random.js'

/**
 * How a dataset is split among the nodes of a network:
 * - iid: every node gets a uniform random share;
 * - dirichlet: each class is spread over the nodes in Dirichlet(alpha) proportions, so a small
 *   alpha gives each node a few dominant classes (the usual non-IID benchmark);
 * - shards: McMahan et al. (2017): samples sorted by label, cut into equal shards, and each node
 *   dealt `shardsPerNode` of them, so it sees only about that many classes.
 */
export type Partition =
  | { kind: 'iid' }
  | { kind: 'dirichlet'; alpha: number }
  | { kind: 'shards'; shardsPerNode: number }

const ACCEPTED_FORMS = "'iid', 'dirichlet:ALPHA' (ALPHA a positive number, e.g. dirichlet:0.5) or 'shards:K' (K a positive integer, e.g. shards:2)"

/** Attempts at drawing Dirichlet proportions before falling back to topping up small parts. */
const DIRICHLET_TRIES = 1000
/** Parts a Dirichlet split leaves with fewer samples than this (or half a fair share) are redrawn. */
const DIRICHLET_MINIMUM = 10

function invalid (text: string, reason: string): MurmurError {
  return new MurmurError('ERR_INVALID_ARGUMENT', `invalid partition "${text}": ${reason}; accepted forms are ${ACCEPTED_FORMS}`)
}

export function parsePartition (text: string): Partition {
  const [kind, parameter, ...rest] = text.trim().split(':')
  if (rest.length > 0) throw invalid(text, 'too many colons')
  if (kind === 'iid') {
    if (parameter !== undefined) throw invalid(text, 'iid takes no parameter')
    return { kind: 'iid' }
  }
  if (kind === 'dirichlet') {
    const alpha = Number(parameter)
    if (parameter === undefined || parameter.trim() === '' || !Number.isFinite(alpha) || alpha <= 0) throw invalid(text, 'dirichlet needs a positive concentration ALPHA')
    return { kind: 'dirichlet', alpha }
  }
  if (kind === 'shards') {
    const shardsPerNode = Number(parameter)
    if (parameter === undefined || !/^\d+$/.test(parameter) || !Number.isSafeInteger(shardsPerNode) || shardsPerNode < 1) throw invalid(text, 'shards needs a positive integer count of shards per node')
    return { kind: 'shards', shardsPerNode }
  }
  throw invalid(text, `unknown kind "${kind ?? ''}"`)
}

/** The text parsePartition reads back as the same partition. */
export function formatPartition (partition: Partition): string {
  switch (partition.kind) {
    case 'iid': return 'iid'
    case 'dirichlet': return `dirichlet:${partition.alpha}`
    case 'shards': return `shards:${partition.shardsPerNode}`
  }
}

/** Indices 0..count-1 in a seeded random order. */
function shuffledRange (count: number, random: Random): number[] {
  return random.shuffle(Array.from({ length: count }, (_, index) => index))
}

/** Cuts `items` into `parts` contiguous slices whose sizes differ by at most one. */
function slices<T> (items: readonly T[], parts: number): T[][] {
  return Array.from({ length: parts }, (_, part) => items.slice(Math.floor(part * items.length / parts), Math.floor((part + 1) * items.length / parts)))
}

function iid (count: number, parts: number, random: Random): number[][] {
  return slices(shuffledRange(count, random), parts)
}

/** Dirichlet(alpha) proportions over `parts`, from normalised gamma draws. */
function dirichletProportions (alpha: number, parts: number, random: Random): number[] {
  const draws = Array.from({ length: parts }, () => random.gamma(alpha))
  const total = draws.reduce((a, b) => a + b, 0)
  // With a tiny alpha every draw can underflow to 0; the limit of such a Dirichlet is all mass on one part.
  if (!(total > 0) || !Number.isFinite(total)) {
    const winner = random.integer(parts)
    return draws.map((_, part) => (part === winner ? 1 : 0))
  }
  return draws.map((draw) => draw / total)
}

/** How many of `count` samples each part gets under the given proportions (rounded cumulative cuts). */
function allocate (count: number, proportions: readonly number[]): number[] {
  let cumulative = 0
  let previousCut = 0
  return proportions.map((proportion, part) => {
    cumulative += proportion
    const cut = part === proportions.length - 1 ? count : Math.min(count, Math.round(cumulative * count))
    const size = cut - previousCut
    previousCut = cut
    return size
  })
}

function dirichlet (labels: Int32Array, classes: number, parts: number, alpha: number, random: Random): number[][] {
  const byClass: number[][] = Array.from({ length: classes }, () => [])
  for (const index of shuffledRange(labels.length, random)) (byClass[labels[index] as number] as number[]).push(index)
  const minimum = Math.min(DIRICHLET_MINIMUM, Math.floor(labels.length / parts / 2))

  // Draw whole allocations (class × part sample counts) until every part has enough samples,
  // keeping the best one in case no draw succeeds (e.g. more parts than classes with a tiny alpha).
  let best: number[][] = []
  let bestSmallest = -1
  for (let attempt = 0; attempt < DIRICHLET_TRIES && bestSmallest < minimum; attempt++) {
    const allocation = byClass.map((members) => allocate(members.length, dirichletProportions(alpha, parts, random)))
    const smallest = Math.min(...Array.from({ length: parts }, (_, part) => allocation.reduce((total, row) => total + (row[part] as number), 0)))
    if (smallest > bestSmallest) {
      best = allocation
      bestSmallest = smallest
    }
  }

  const result: number[][] = Array.from({ length: parts }, () => [])
  byClass.forEach((members, label) => {
    let start = 0
    ;(best[label] as number[]).forEach((size, part) => {
      (result[part] as number[]).push(...members.slice(start, start + size))
      start += size
    })
  })
  topUp(result, minimum, random)
  return result
}

/** Last resort after failed redraws: moves random samples from the largest parts into parts below the minimum. */
function topUp (result: number[][], minimum: number, random: Random): void {
  for (const part of result) {
    while (part.length < minimum) {
      const largest = result.reduce((a, b) => (b.length > a.length ? b : a))
      const taken = largest.splice(random.integer(largest.length), 1)
      part.push(...taken)
    }
  }
}

function shards (labels: Int32Array, parts: number, shardsPerNode: number, random: Random): number[][] {
  const shardCount = parts * shardsPerNode
  if (shardCount > labels.length) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `cannot cut ${labels.length} samples into ${parts} parts × ${shardsPerNode} shards = ${shardCount} shards; use fewer parts or fewer shards per node`)
  }
  // Shuffle first so that, within a label, which samples share a shard is random; Array.sort is stable.
  const sorted = shuffledRange(labels.length, random).sort((a, b) => (labels[a] as number) - (labels[b] as number))
  const cut = slices(sorted, shardCount)
  const dealt = shuffledRange(shardCount, random)
  return Array.from({ length: parts }, (_, part) => dealt.slice(part * shardsPerNode, (part + 1) * shardsPerNode).flatMap((shard) => cut[shard] as number[]))
}

/**
 * Splits sample indices 0..labels.length-1 into `parts` disjoint lists covering all of them.
 * Deterministic for a given seed, so every node can compute the whole partition independently
 * and keep its own part. Each list is in ascending index order.
 */
export function partitionIndices (labels: Int32Array, classes: number, parts: number, partition: Partition, seed: number): number[][] {
  if (!Number.isSafeInteger(parts) || parts < 1) throw new MurmurError('ERR_INVALID_ARGUMENT', `the number of parts must be a positive integer, got ${parts}`)
  if (!Number.isSafeInteger(classes) || classes < 1) throw new MurmurError('ERR_INVALID_ARGUMENT', `the number of classes must be a positive integer, got ${classes}`)
  if (parts > labels.length) throw new MurmurError('ERR_INVALID_ARGUMENT', `cannot split ${labels.length} samples into ${parts} parts; use at most ${labels.length} parts`)
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as number
    if (label < 0 || label >= classes) throw new MurmurError('ERR_INVALID_ARGUMENT', `sample ${i} has label ${label}, outside [0, ${classes})`)
  }
  if (partition.kind === 'dirichlet' && !(Number.isFinite(partition.alpha) && partition.alpha > 0)) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `a Dirichlet partition needs a positive finite alpha, got ${partition.alpha}`)
  }
  if (partition.kind === 'shards' && !(Number.isSafeInteger(partition.shardsPerNode) && partition.shardsPerNode > 0)) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `a shards partition needs a positive integer of shards per node, got ${partition.shardsPerNode}`)
  }
  const random = createRandom(seed)
  let result: number[][]
  switch (partition.kind) {
    case 'iid': result = iid(labels.length, parts, random); break
    case 'dirichlet': result = dirichlet(labels, classes, parts, partition.alpha, random); break
    case 'shards': result = shards(labels, parts, partition.shardsPerNode, random); break
  }
  return result.map((part) => part.sort((a, b) => a - b))
}
