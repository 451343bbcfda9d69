import { describe, it, expect } from 'vitest'
import { createRandom } from '../src/data/random.js'
import { initialWeights } from '../src/learning/initial-weights.js'
import { createManifest } from '../src/learning/manifest.js'
import { createMergeRule, DEFAULT_MERGE_RULE } from '../src/learning/merge.js'
import { distance, norm, type Weights } from '../src/learning/weights.js'
import type { AttackContext } from '../src/attacks/attack.js'
import { attackBehaviour } from '../src/attacks/index.js'
import { BACKDOOR_CLASS } from '../src/attacks/backdoor.js'
import { BoundedMap } from '../src/core/bounded-map.js'
import { FairShareBudget } from '../src/core/fair-share.js'
import { IntakeGuard } from '../src/core/intake-guard.js'
import { plausibleClaims } from '../src/core/sample-claims.js'
import { agreeingAnswers, warmJoin, type WarmJoinAnswer } from '../src/core/warm-join.js'

const manifest = createManifest({ model: 'logistic', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 } })
const initial = initialWeights(manifest.model, manifest.dataset.inputShape, manifest.seed)
const initialNorm = norm(initial)

/** An "honest" model: the initial weights moved the same way for everyone, plus a little of one's own. */
function honest (seed: number): Weights {
  const common = createRandom(1)
  const own = createRandom(100 + seed)
  return initial.map(tensor => ({ shape: tensor.shape, values: tensor.values.map(value => value + 0.02 * common.normal() + 0.002 * own.normal()) }))
}

function outputBias (weights: Weights): Float32Array {
  return (weights[weights.length - 1] as { values: Float32Array }).values
}

function context (own: Weights): AttackContext {
  return { random: createRandom(5), normLimit: 4 * Math.max(norm(own), initialNorm) }
}

const honestModels = Array.from({ length: 8 }, (_, i) => honest(i))
const consensus = createMergeRule('mean').merge({ weights: honestModels[0] as Weights, samples: 1 }, honestModels.slice(1).map(weights => ({ weights, samples: 1 })))

describe('no claim buys weight', () => {
  it('caps claims at 4 × the smaller of the median claim and the node\'s own count', () => {
    expect(plausibleClaims(1000, [900, 1100, Number.MAX_SAFE_INTEGER])).toEqual([900, 1100, 4000])
    // a quarter of the swarm claiming the maximum does not move the median
    expect(plausibleClaims(1000, [1000, 1000, 1000, 1000, 1000, 2 ** 53, 2 ** 53])).toEqual([1000, 1000, 1000, 1000, 1000, 4000, 4000])
    // a fresh node (own 0) weighs every peer alike; nonsense claims weigh nothing
    expect(plausibleClaims(0, [10, 1e6, -5, Number.NaN])).toEqual([1, 1, 0, 0])
  })

  it('takeover: one maximal claim replaces a trusting mean; the default rule, and the mean with capped claims, hold', () => {
    const attacker = attackBehaviour('takeover').shared({ weights: honestModels[5] as Weights, samples: 1000 }, context(honestModels[5] as Weights))
    expect(attacker.samples).toBe(Number.MAX_SAFE_INTEGER)
    const own = { weights: honestModels[0] as Weights, samples: 1000 }
    const peers = honestModels.slice(1, 5).map(weights => ({ weights, samples: 1000 }))
    // Control: with the claim trusted, the merge is the attacker's model.
    const trusted = createMergeRule('mean').merge(own, [...peers, attacker])
    expect(distance(trusted, attacker.weights) / norm(attacker.weights)).toBeLessThan(1e-6)
    const claims = plausibleClaims(own.samples, [...peers, attacker].map(c => c.samples))
    const capped = [...peers, attacker].map((c, i) => ({ weights: c.weights, samples: claims[i] as number }))
    const defaultMerge = createMergeRule(DEFAULT_MERGE_RULE).merge(own, capped)
    const spread = Math.max(...honestModels.map(model => distance(model, consensus)))
    expect(distance(defaultMerge, consensus)).toBeLessThan(spread)
    // Even the mean is no longer taken over: the attacker weighs as 4 honest peers, not as everyone.
    const cappedMean = createMergeRule('mean').merge(own, capped)
    expect(distance(cappedMean, attacker.weights)).toBeGreaterThan(distance(cappedMean, consensus))
  })

  it('backdoor: a boosted class within the norm limit passes the norm check and takes a mean; the default rule clips it', () => {
    const guard = new IntakeGuard()
    guard.reference(honestModels[0] as Weights, initialNorm)
    // A quarter of the eight merged models: own, five honest peers, two attackers.
    const backdoors = [6, 7].map(i => attackBehaviour('backdoor').shared({ weights: honestModels[i] as Weights, samples: 1000 }, context(honestModels[i] as Weights)))
    for (const backdoor of backdoors) {
      expect(guard.accept('attacker', backdoor.weights)).toBe(true)
      expect(outputBias(backdoor.weights)[BACKDOOR_CLASS]).toBeGreaterThan(10)
    }
    const own = { weights: honestModels[0] as Weights, samples: 1000 }
    const received = [...honestModels.slice(1, 6).map(weights => ({ weights, samples: 1000 })), ...backdoors]
    const claims = plausibleClaims(1000, received.map(c => c.samples))
    const capped = received.map((c, i) => ({ weights: c.weights, samples: claims[i] as number }))
    const boost = (weights: Weights): number => outputBias(weights)[BACKDOOR_CLASS] as number - (outputBias(consensus)[BACKDOOR_CLASS] as number)
    // Control: the mean (even with capped claims) carries most of the boost.
    expect(boost(createMergeRule('mean').merge(own, capped))).toBeGreaterThan(5)
    expect(Math.abs(boost(createMergeRule(DEFAULT_MERGE_RULE).merge(own, capped)))).toBeLessThan(0.1)
  })
})

describe('anchored plausibility', () => {
  it('ratchet: an attacker at the edge of the limit for 60 rounds is accepted every time, yet the limit does not follow it', () => {
    const guard = new IntakeGuard()
    let own = honestModels[0] as Weights
    guard.reference(own, initialNorm)
    const start = guard.bound
    const rule = createMergeRule(DEFAULT_MERGE_RULE)
    let accepted = 0
    for (let round = 0; round < 60; round++) {
      const pushed = attackBehaviour('ratchet').shared({ weights: own, samples: 1000 }, { random: createRandom(round), normLimit: guard.bound })
      if (guard.accept('attacker', pushed.weights)) accepted++
      const peers = honestModels.slice(1, 5)
      for (const [index, weights] of peers.entries()) expect(guard.accept(`honest-${index}`, weights)).toBe(true)
      own = rule.merge({ weights: own, samples: 1 }, [...peers, pushed.weights].map(weights => ({ weights, samples: 1 })))
      guard.reference(own, initialNorm)
    }
    // Control: every ratchet push arrived and passed the norm check.
    expect(accepted).toBe(60)
    // The limit stays where the honest models put it (4 × their typical norm), the model among them.
    const largestHonest = Math.max(...honestModels.map(norm))
    expect(start).toBeGreaterThan(4 * initialNorm * 0.99)
    expect(guard.bound).toBeLessThanOrEqual(4 * largestHonest * (1 + 1e-6))
    expect(norm(own)).toBeLessThan(1.05 * largestHonest)
  })

  it('ratchet control: a limit that follows the node\'s own model, merged by the mean, explodes', () => {
    let own = honestModels[0] as Weights
    const mean = createMergeRule('mean')
    for (let round = 0; round < 20; round++) {
      const limit = 4 * Math.max(norm(own), initialNorm)
      const pushed = attackBehaviour('ratchet').shared({ weights: own, samples: 1000 }, { random: createRandom(round), normLimit: limit })
      expect(norm(pushed.weights)).toBeLessThanOrEqual(limit)
      // the old defaults: the mean, weighted by the claims as sent (the attacker claims 10×)
      own = mean.merge({ weights: own, samples: 1000 }, [...honestModels.slice(1, 5).map(weights => ({ weights, samples: 1000 })), pushed])
    }
    expect(norm(own)).toBeGreaterThan(100 * initialNorm)
  })

  it('grows by at most 1 % a round even when every peer it hears pushes the limit up', () => {
    const guard = new IntakeGuard()
    guard.reference(initial, initialNorm)
    const start = guard.bound
    for (let round = 0; round < 10; round++) {
      for (let peer = 0; peer < 8; peer++) {
        const scale = 0.99 * guard.bound / initialNorm
        expect(guard.accept(`sybil-${peer}`, initial.map(tensor => ({ shape: tensor.shape, values: tensor.values.map(v => v * scale) })))).toBe(true)
      }
      guard.reference(initial, initialNorm)
    }
    expect(guard.bound).toBeGreaterThan(start)
    expect(guard.bound).toBeLessThanOrEqual(start * 1.01 ** 10 * (1 + 1e-9))
  })

  it('never falls below 4 × the initial norm and ignores a non-finite own model', () => {
    const guard = new IntakeGuard()
    const broken = initial.map(tensor => ({ shape: tensor.shape, values: tensor.values.map(() => Number.NaN) }))
    guard.reference(broken, initialNorm)
    expect(guard.bound).toBeCloseTo(4 * initialNorm, 6)
    expect(guard.plausible(broken)).toBe(false)
  })
})

describe('warm join', () => {
  const answer = (from: string, weights: Weights): WarmJoinAnswer => ({ from, step: 100, weights })

  it('refuses the answers far from what the others answered', () => {
    const liar = attackBehaviour('liar').served({ weights: honestModels[3] as Weights, samples: 1 }, context(initial))
    expect(liar.samples).toBe(Number.MAX_SAFE_INTEGER)
    const answers = [answer('a', honestModels[0] as Weights), answer('liar-1', liar.weights), answer('b', honestModels[1] as Weights), answer('liar-2', attackBehaviour('liar').served({ weights: honestModels[4] as Weights, samples: 1 }, context(initial)).weights), answer('c', honestModels[2] as Weights)]
    expect(agreeingAnswers(answers).map(kept => kept.from).sort()).toEqual(['a', 'b', 'c'])
  })

  it('asks several peers at random, checks plausibility and combines the rest with the rule', async () => {
    const peers = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'liar']
    const asked: string[] = []
    const guard = new IntakeGuard()
    guard.reference(initial, initialNorm)
    const rule = createMergeRule(DEFAULT_MERGE_RULE)
    const random = createRandom(3)
    const huge = initial.map(tensor => ({ shape: tensor.shape, values: tensor.values.map(v => v * 100) }))
    const result = await warmJoin({
      peers: () => peers,
      ask: async peer => {
        asked.push(peer)
        if (peer === 'p5') return null
        if (peer === 'p4') return answer(peer, huge)
        return answer(peer, peer === 'liar' ? attackBehaviour('liar').served({ weights: honestModels[0] as Weights, samples: 1 }, context(initial)).weights : honestModels[Number(peer.slice(1))] as Weights)
      },
      plausible: weights => guard.plausible(weights),
      combine: (center, others) => rule.merge({ weights: center, samples: 1 }, others.map(weights => ({ weights, samples: 1 }))),
      random: () => random.next(),
      signal: AbortSignal.timeout(30_000),
      answersWanted: 7,
      settleMs: 0
    })
    expect(result).not.toBeNull()
    expect(new Set(asked).size).toBe(asked.length)
    expect(asked.length).toBe(7)
    // p4 is implausible, the liar disagrees: both refused, and neither moves the result.
    expect(result?.answers).toBe(5)
    expect(result?.refused).toBe(2)
    const spread = Math.max(...honestModels.map(model => distance(model, consensus)))
    expect(distance(result?.weights ?? initial, consensus)).toBeLessThan(spread)
  })
})

describe('node-wide budgets', () => {
  it('fair shares: 32 hammering peers cannot starve a quiet one, and the node as a whole stays within its rate', () => {
    let now = 0
    const budget = new FairShareBudget({ burst: 30, perSecond: 20, nodeBurst: 100, nodePerSecond: 50, activeWindowMs: 10_000, maxSources: 4096 }, () => now)
    let admitted = 0
    let quietAdmitted = 0
    let quietAsked = 0
    for (let tick = 0; tick < 20_000; tick++) {   // 20 s in steps of 1 ms
      now = tick
      for (let peer = 0; peer < 32; peer++) if (tick % 10 === 0 && budget.admit(`attacker-${peer}`)) admitted++
      if (tick % 1_000 === 0) {
        quietAsked++
        if (budget.admit('quiet')) quietAdmitted++
      }
    }
    // Control: the attackers asked 64,000 times and got far less.
    expect(admitted).toBeGreaterThan(0)
    expect(admitted + quietAdmitted).toBeLessThanOrEqual(50 * 20 + 100 + 33 * 3)
    expect(quietAdmitted).toBe(quietAsked)
  })

  it('per-peer state is bounded, and it survives a reconnect (no forget on disconnect)', () => {
    const map = new BoundedMap<string, number>(3)
    for (const key of ['a', 'b', 'c', 'd']) map.set(key, 1)
    expect(map.size).toBe(3)
    expect(map.has('a')).toBe(false)
    const guard = new IntakeGuard({ maxPeers: 100, burst: 2, perSecond: 0.001 }, () => 0)
    for (let peer = 0; peer < 10_000; peer++) guard.admit(`sybil-${peer}`)
    expect(guard.trackedPeers).toBeLessThanOrEqual(100)
    const limited = new IntakeGuard({ burst: 2, perSecond: 0.001 }, () => 0)
    expect([limited.admit('p'), limited.admit('p'), limited.admit('p')]).toEqual([true, true, false])
    // The same peer id after a reconnect still has an empty bucket.
    expect(limited.admit('p')).toBe(false)
  })
})
