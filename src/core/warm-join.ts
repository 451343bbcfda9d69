import { CoordinateMedian } from '../learning/merge.js'
import { distance, type Weights } from '../learning/weights.js'
import { idle, systemClock, withTimeout, type Clock } from './clock.js'
import { median } from '../statistics.js'

/** A model a peer answered a warm-join request with, after the format checks. */
export interface WarmJoinAnswer {
  readonly from: string
  readonly step: number
  readonly weights: Weights
}

export interface WarmJoinInit {
  /** connected peers that may be asked now */
  readonly peers: () => string[]
  /** asks one peer for its model: the checked model, or null when it has none (rejects on failure) */
  readonly ask: (peer: string, signal: AbortSignal) => Promise<WarmJoinAnswer | null>
  /** the node's norm plausibility check */
  readonly plausible: (weights: Weights) => boolean
  /** the manifest's merge rule over the answers kept: (the most central answer, the others) */
  readonly combine: (center: Weights, others: readonly Weights[]) => Weights
  readonly random: () => number
  readonly signal: AbortSignal
  /** the clock its patience and timeouts run on (default the system's) */
  readonly clock?: Clock
  /** how long to keep asking new peers (default 60 s) */
  readonly patienceMs?: number
  /** answers to collect before combining (default 5) */
  readonly answersWanted?: number
  /** answers that suffice once no peer is left to ask (default 3) */
  readonly answersEnough?: number
  /** with fewer answers than that and no peer left to ask, how long to wait for more peers (default 3 s: a fresh node trains and merges meanwhile, and
   * the longer it waits the less the swarm's model is worth to it) */
  readonly settleMs?: number
  /** how long one request may take (default 10 s) */
  readonly requestTimeoutMs?: number
}

export interface WarmJoinResult {
  readonly weights: Weights
  /** the peer whose answer was the most central: the others' answers were combined around it */
  readonly from: string
  readonly step: number
  /** plausible answers received */
  readonly answers: number
  /** answers refused: implausible norm, or far from what the others answered */
  readonly refused: number
}

/** An answer farther than this many times the median distance from the answers' median is refused. */
const OUTLIER_FACTOR = 2

/**
 * Keeps only the answers that agree: the coordinate-wise median of all answers is a model a minority
 * cannot move, and an answer whose distance from it exceeds OUTLIER_FACTOR × the median distance is
 * refused. Returns the kept answers, the most central first.
 */
export function agreeingAnswers (answers: readonly WarmJoinAnswer[]): WarmJoinAnswer[] {
  if (answers.length <= 2) return [...answers]
  const [first, ...rest] = answers as [WarmJoinAnswer, ...WarmJoinAnswer[]]
  const center = new CoordinateMedian().merge({ weights: first.weights, samples: 1 }, rest.map(answer => ({ weights: answer.weights, samples: 1 })))
  const distances = answers.map(answer => distance(answer.weights, center))
  const limit = OUTLIER_FACTOR * median(distances) + 1e-9
  return answers.map((answer, index) => ({ answer, distance: distances[index] as number }))
    .filter(entry => entry.distance <= limit)
    .sort((a, b) => a.distance - b.distance)
    .map(entry => entry.answer)
}

/**
 * A node without a checkpoint asks several peers, picked at random (what peers announce about their
 * own progress decides nothing), for their model, refuses implausible and outlying answers, and
 * combines the rest with the manifest's merge rule. Returns null if no peer answered with a model
 * before the patience ran out. Each peer is asked once.
 */
export async function warmJoin (init: WarmJoinInit): Promise<WarmJoinResult | null> {
  const wanted = init.answersWanted ?? 5
  const enough = Math.min(init.answersEnough ?? 3, wanted)
  const clock = init.clock ?? systemClock
  const started = clock.now()
  const deadline = started + (init.patienceMs ?? 60_000)
  const asked = new Set<string>()
  const answers: WarmJoinAnswer[] = []
  let refused = 0
  while (!init.signal.aborted && clock.now() < deadline) {
    const candidates = init.peers().filter(peer => !asked.has(peer))
    // Partial Fisher-Yates: a uniform sample of the peers not asked yet.
    const count = Math.min(wanted - answers.length, candidates.length)
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(init.random() * (candidates.length - i))
      const chosen = candidates[j] as string
      candidates[j] = candidates[i] as string
      candidates[i] = chosen
    }
    const results = await Promise.all(candidates.slice(0, count).map(async peer => {
      asked.add(peer)
      try {
        return await withTimeout(clock, init.requestTimeoutMs ?? 10_000, init.signal, async signal => init.ask(peer, signal))
      } catch {
        return null
      }
    }))
    for (const answer of results) {
      if (answer === null) continue
      if (init.plausible(answer.weights)) answers.push(answer)
      else refused++
    }
    const noneLeft = init.peers().every(peer => asked.has(peer))
    if (answers.length >= wanted || (answers.length >= enough && noneLeft)) break
    // A small swarm may never have `enough` peers: after a while, what there is will do.
    if (answers.length > 0 && noneLeft && clock.now() - started >= (init.settleMs ?? 3_000)) break
    await idle(clock, 1_000, init.signal)
  }
  if (answers.length === 0 || init.signal.aborted) return null
  const kept = agreeingAnswers(answers)
  const [center, ...others] = kept as [WarmJoinAnswer, ...WarmJoinAnswer[]]
  return {
    weights: init.combine(center.weights, others.map(answer => answer.weights)),
    from: center.from,
    step: center.step,
    answers: answers.length,
    refused: refused + answers.length - kept.length
  }
}
