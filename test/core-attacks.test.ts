import { describe, it, expect } from 'vitest'
import type { Attack } from '../src/attacks/attack.js'
import { BACKDOOR_CLASS } from '../src/attacks/backdoor.js'
import type { Manifest } from '../src/learning/manifest.js'
import { InProcessSwarm, testManifest, TEST_SET, type InProcessNode } from './inprocess/swarm.js'

/**
 * The attacks of src/attacks against node cores with the default manifest (robust merge rule), all
 * in-process: three honest nodes and one attacker, each on its own data of every class. Each test
 * has a control that shows the attack arrived (the attacker's updates were accepted, or its answers
 * received), and holds the honest nodes to a node that trained alone on the same data for as many
 * steps; a successful attack takes them far below it (a negated model scores near 0).
 */
const STEPS = 400
const MARGIN = 0.1

async function solo (manifest: Manifest = testManifest()): Promise<{ accuracy: number; normBound: number }> {
  const swarm = new InProcessSwarm(manifest)
  const [node] = await swarm.grow(1) as [InProcessNode]
  await swarm.until(() => node.core.status().step >= STEPS, 600_000, 'the solo node')
  const result = { accuracy: swarm.testAccuracy(node), normBound: node.core.status().intake?.normBound ?? Infinity }
  await swarm.stop()
  return result
}

interface Attacked {
  readonly honest: InProcessNode[]
  readonly attacker: InProcessNode
  readonly accuracies: number[]
  /** updates from the attacker (or identities it forged) the honest nodes accepted */
  readonly accepted: number
  readonly swarm: InProcessSwarm
}

async function attackedSwarm (attack: Attack, manifest: Manifest, arrivals = 20): Promise<Attacked> {
  const swarm = new InProcessSwarm(manifest)
  const honest = await swarm.grow(3)
  const [attacker] = await swarm.grow(1, { attack }) as [InProcessNode]
  let accepted = 0
  const honestIds = new Set(honest.map(node => node.id))
  for (const node of honest) node.core.addEventListener('accepted', event => { if (!honestIds.has(event.detail.from)) accepted++ })
  await swarm.until(() => honest.every(node => node.core.status().step >= STEPS) && accepted >= arrivals, 600_000, `${attack}: training and the attacker's updates`)
  const accuracies = honest.map(node => swarm.testAccuracy(node))
  await swarm.stop()
  return { honest, attacker, accuracies, accepted, swarm }
}

/** share of the test set a model assigns to the backdoor's class */
function backdoorShare (node: InProcessNode): number {
  const predictions = node.trainer.predictions(TEST_SET)
  return predictions.filter(label => label === BACKDOOR_CLASS).length / predictions.length
}

describe('attacks against node cores with the default manifest, in-process', () => {
  for (const attack of ['sign-flip', 'noise', 'takeover'] as const) {
    it(`${attack}: the attacker's updates are accepted, and the robust rule keeps the honest nodes where they would be alone`, async () => {
      const alone = await solo()
      const { accuracies, accepted } = await attackedSwarm(attack, testManifest({ codec: attack === 'takeover' ? 'fp16' : 'fp32' }))
      expect(accepted).toBeGreaterThanOrEqual(20)
      for (const accuracy of accuracies) expect(accuracy).toBeGreaterThan(alone.accuracy - MARGIN)
    })
  }

  it('sign-flip control: under the plain mean the same attack takes the honest nodes far down', async () => {
    const manifest = testManifest({ mergeRule: 'mean' })
    const alone = await solo(manifest)
    const { accuracies, accepted } = await attackedSwarm('sign-flip', manifest)
    expect(accepted).toBeGreaterThanOrEqual(20)
    expect(Math.max(...accuracies)).toBeLessThan(alone.accuracy - MARGIN)
  })

  it('backdoor (int8 pushes): the boosted class passes every check, and is trimmed', async () => {
    const alone = await solo()
    const { accuracies, accepted, honest } = await attackedSwarm('backdoor', testManifest({ codec: 'int8' }))
    expect(accepted).toBeGreaterThanOrEqual(20)
    for (const accuracy of accuracies) expect(accuracy).toBeGreaterThan(alone.accuracy - MARGIN)
    // Ten classes in equal shares: a backdoor that took hold would answer its class for most inputs.
    for (const node of honest) expect(backdoorShare(node)).toBeLessThan(0.2)
  })

  it('ratchet: pushes at the edge of the limit are accepted, and the limit stays anchored', async () => {
    const alone = await solo()
    const { accuracies, accepted, honest } = await attackedSwarm('ratchet', testManifest(), 50)
    expect(accepted).toBeGreaterThanOrEqual(50)
    for (const node of honest) expect(node.core.status().intake?.normBound ?? Infinity).toBeLessThan(2 * alone.normBound)
    for (const accuracy of accuracies) expect(accuracy).toBeGreaterThan(alone.accuracy - MARGIN)
  })

  it('liar: a joiner asks several peers, refuses the poisoned answer, and adopts a good model', async () => {
    const alone = await solo()
    const swarm = new InProcessSwarm()
    const nodes = await swarm.grow(3)
    nodes.push(...await swarm.grow(1, { attack: 'liar' }))
    await swarm.until(() => nodes.every(node => node.core.status().step >= STEPS), 600_000, 'the swarm to train')
    const [joiner] = await swarm.grow(1, { warmJoin: true, dataSeed: 50 }) as [InProcessNode]
    let joinedAt: number | null = null
    joiner.core.addEventListener('warm-join', () => { joinedAt = joiner.core.status().step })
    await swarm.until(() => joinedAt !== null, 120_000, 'the warm join')
    const accuracy = swarm.testAccuracy(joiner)
    const status = joiner.core.status()
    await swarm.stop()
    // Control: the liar's answer arrived (4 answers, one refused as far from the others).
    expect(status.warmJoin?.answers).toBe(4)
    expect(status.warmJoin?.refused).toBe(1)
    // Right after adopting, before much training of its own, the joiner is as good as a node that
    // trained STEPS steps alone; a negated model would score near 0.
    expect(joinedAt).toBeLessThan(STEPS / 4)
    expect(accuracy).toBeGreaterThan(alone.accuracy - MARGIN)
  })

  it('sybil (broadcast mode): models signed by 16 fresh authors per round arrive, and none is merged', async () => {
    const swarm = new InProcessSwarm(testManifest({ exchange: { mode: 'broadcast' } }))
    const honest = await swarm.grow(3)
    const [attacker] = await swarm.grow(1, { attack: 'sybil' }) as [InProcessNode]
    const ids = new Set([...honest, attacker].map(node => node.id))
    const sybils = new Set<string>()
    let merged = 0
    for (const node of honest) {
      node.core.addEventListener('rejected', event => { if (!ids.has(event.detail.from) && event.detail.reason === 'not-a-neighbour') sybils.add(event.detail.from) })
      node.core.addEventListener('accepted', event => { if (!ids.has(event.detail.from)) merged++ })
    }
    await swarm.until(() => honest.every(node => node.core.status().step >= STEPS) && sybils.size >= 16, 600_000, 'sybil authors to arrive')
    const accuracies = honest.map(node => swarm.testAccuracy(node))
    await swarm.stop()
    expect(sybils.size).toBe(16)
    expect(merged).toBe(0)
    // The attacker's own (negated) model is a neighbour's and is merged, but the robust rule holds.
    const alone = await solo()
    for (const accuracy of accuracies) expect(accuracy).toBeGreaterThan(alone.accuracy - MARGIN)
  })
})
