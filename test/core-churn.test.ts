import { describe, it, expect, vi } from 'vitest'
import { initialWeights } from '../src/learning/initial-weights.js'
import { norm } from '../src/learning/weights.js'
import type { Checkpoint } from '../src/core/node-state.js'
import { validateUpdate } from '../src/core/update-codec.js'
import { weightShapes } from '../src/learning/models.js'
import type { Weights } from '../src/learning/weights.js'
import { MemoryStore } from '../src/simulator/memory-store.js'
import { InProcessSwarm, testManifest, type InProcessNode } from './inprocess/swarm.js'

function flatValues (weights: Weights): Float32Array {
  return Float32Array.from(weights.flatMap(tensor => Array.from(tensor.values)))
}

function distanceBetween (a: Float32Array, b: Float32Array): number {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += ((a[i] as number) - (b[i] as number)) ** 2
  return Math.sqrt(sum)
}

/** The weights an encoded checkpoint model holds. */
function decoded (bytes: Uint8Array | undefined, swarm: InProcessSwarm): Weights {
  const verdict = validateUpdate(bytes ?? new Uint8Array(0), { swarmId: swarm.swarmId, shapes: weightShapes(swarm.manifest.model, swarm.manifest.dataset.inputShape).map(w => w.shape) })
  if (!verdict.ok) throw new Error(`checkpoint model unreadable: ${verdict.detail}`)
  return verdict.value.weights
}

/** Partitions, churn, restarts and failing disks, with node cores in-process on a virtual clock. */
const LEFT = [0, 1, 2, 3, 4]
const RIGHT = [5, 6, 7, 8, 9]

/** Counts updates each node accepts from the other group. */
function crossings (groups: ReadonlyArray<readonly InProcessNode[]>): { count: number } {
  const tally = { count: 0 }
  for (const [index, group] of groups.entries()) {
    const others = new Set(groups.filter((_, other) => other !== index).flat().map(node => node.id))
    for (const node of group) node.core.addEventListener('accepted', event => { if (others.has(event.detail.from)) tally.count++ })
  }
  return tally
}

describe('churn and partitions, in-process', () => {
  it('a partition keeps each side to its own classes; after the heal models cross again and every node learns all classes', async () => {
    const swarm = new InProcessSwarm()
    const left = await swarm.grow(2, { classes: LEFT, msPerStep: 40 })
    const right = await swarm.grow(2, { classes: RIGHT, msPerStep: 40 })
    const tally = crossings([left, right])
    swarm.network.partition([left.map(node => node.id), right.map(node => node.id)])
    await swarm.time.advance(60_000)
    // Models in flight when it was cut still land; nothing crosses after that.
    const during = tally.count
    await swarm.time.advance(60_000)
    expect(tally.count).toBe(during)
    const split = swarm.nodes.map(node => swarm.testAccuracy(node))
    // Each side knows half the classes: at most about half the test set.
    for (const accuracy of split) expect(accuracy).toBeLessThan(0.55)

    swarm.network.heal()
    await swarm.until(() => tally.count >= during + 50, 120_000, 'models to cross after the heal')
    await swarm.time.advance(60_000)
    const healed = swarm.nodes.map(node => swarm.testAccuracy(node))
    await swarm.stop()
    for (const [index, accuracy] of healed.entries()) expect(accuracy).toBeGreaterThan((split[index] as number) + 0.2)
  })

  it('the same partition through the nodes\' own gates (what the API\'s blocked peers do), then healed by clearing them', async () => {
    const swarm = new InProcessSwarm()
    const left = await swarm.grow(2, { classes: LEFT, msPerStep: 40 })
    const right = await swarm.grow(2, { classes: RIGHT, msPerStep: 40 })
    const tally = crossings([left, right])
    for (const node of left) await node.core.block(right.map(other => other.id))
    for (const node of right) await node.core.block(left.map(other => other.id))
    await swarm.time.advance(1_000)
    const during = tally.count
    await swarm.time.advance(60_000)
    expect(tally.count).toBe(during)
    expect(left[0]?.core.status().blockedPeers).toBe(2)
    for (const node of swarm.nodes) await node.core.block([])
    await swarm.until(() => tally.count >= during + 20, 120_000, 'models to cross after the heal')
    await swarm.stop()
  })

  it('a node that goes away and comes back: the others go on without it, and it rejoins', async () => {
    const swarm = new InProcessSwarm()
    const nodes = await swarm.grow(4, { msPerStep: 40 })
    const [away, ...stay] = nodes as [InProcessNode, ...InProcessNode[]]
    await swarm.time.advance(10_000)
    swarm.network.setUp(away.id, false)
    const before = stay.map(node => node.core.status().step)
    let heardFromAway = 0
    for (const node of stay) node.core.addEventListener('accepted', event => { if (event.detail.from === away.id) heardFromAway++ })
    await swarm.time.advance(30_000)
    // The others trained and exchanged on; the absent node was not heard (after what was in flight).
    stay.forEach((node, index) => { expect(node.core.status().step).toBeGreaterThan((before[index] as number) + 100) })
    const whileAway = heardFromAway
    await swarm.time.advance(30_000)
    expect(heardFromAway).toBe(whileAway)
    swarm.network.setUp(away.id, true)
    await swarm.until(() => heardFromAway > whileAway + 10, 60_000, 'the node to be heard again')
    await swarm.stop()
  })

  it('a late joiner without a checkpoint warm-joins: it adopts the swarm\'s combined model at its first exchange', async () => {
    const swarm = new InProcessSwarm()
    const nodes = await swarm.grow(3, { msPerStep: 40 })
    await swarm.until(() => nodes.every(node => node.core.status().step >= 300), 600_000, 'the swarm to train')
    const swarmAccuracy = Math.min(...nodes.map(node => swarm.testAccuracy(node)))
    const [joiner] = await swarm.grow(1, { warmJoin: true, msPerStep: 40, dataSeed: 60 }) as [InProcessNode]
    const fresh = swarm.testAccuracy(joiner)
    let joinedAt: number | null = null
    joiner.core.addEventListener('warm-join', () => { joinedAt = joiner.core.status().step })
    await swarm.until(() => joinedAt !== null, 120_000, 'the warm join')
    const adopted = swarm.testAccuracy(joiner)
    const status = joiner.core.status().warmJoin
    await swarm.stop()
    // Control: it started from the initial weights (chance is 10 %), and asked all three peers.
    expect(fresh).toBeLessThan(0.3)
    expect(status?.answers).toBe(3)
    expect(status?.refused).toBe(0)
    // A few steps in, it is as good as the swarm.
    expect(joinedAt).toBeLessThan(100)
    expect(adopted).toBeGreaterThan(swarmAccuracy - 0.05)
  })

  it('a late joiner warm-joins a swarm whose models outgrew its norm bound, then accepts their pushes', async () => {
    // A norm factor of 1.2 (the default is 4) lets a short run outgrow a fresh node's bound, as long
    // training does with the default.
    const core = { intakeLimits: { normFactor: 1.2 } }
    const swarm = new InProcessSwarm()
    const nodes = await swarm.grow(3, { msPerStep: 40, core })
    // What a fresh node lets in: the factor times the initial weights' norm.
    const freshBound = 1.2 * norm(initialWeights(swarm.manifest.model, swarm.manifest.dataset.inputShape, swarm.manifest.seed))
    await swarm.until(() => nodes.every(node => node.core.status().step >= 600), 1_200_000, 'the swarm to train')
    const grown = Math.min(...await Promise.all(nodes.map(async node => norm(await node.trainer.getWeights()))))
    // Control: the swarm's models are beyond what a fresh node's bound lets in.
    expect(grown).toBeGreaterThan(freshBound)
    const [late] = await swarm.grow(1, { warmJoin: true, msPerStep: 40, dataSeed: 61, core }) as [InProcessNode]
    let joined = false
    let boundAtJoin = 0
    late.core.addEventListener('warm-join', () => { joined = true; boundAtJoin = late.core.status().intake?.normBound ?? 0 })
    let accepted = 0
    late.core.addEventListener('accepted', () => { accepted++ })
    await swarm.until(() => joined, 120_000, 'the warm join')
    await swarm.until(() => accepted >= 20, 120_000, 'pushes accepted after the warm join')
    const status = late.core.status()
    await swarm.stop()
    expect(status.warmJoin?.answers).toBe(3)
    expect(status.warmJoin?.refused).toBe(0)
    // The adopted model re-anchors the bound at once, not at 1 % a round.
    expect(boundAtJoin).toBeGreaterThan(grown)
    expect(swarm.testAccuracy(late)).toBeGreaterThan(0.5)
  })

  it('a restart resumes from the checkpoint: same step and counters, no warm join, restarts counted', async () => {
    const swarm = new InProcessSwarm()
    const [first, peer] = await swarm.grow(2) as [InProcessNode, InProcessNode]
    await swarm.until(() => first.core.status().step >= 200, 600_000, '200 steps')
    await swarm.stop([first])
    const stopped = first.core.status()
    expect(first.store.checkpoint?.step).toBe(stopped.step)
    // The same node (its store) starts again, with warm joins on: a checkpoint makes one unnecessary.
    const again = swarm.add({ store: first.store, warmJoin: true })
    swarm.network.linkAll([again.id, peer.id])
    await again.core.start()
    const resumed = again.core.status()
    expect(again.core.resumed).toBe(true)
    expect(resumed.step).toBe(stopped.step)
    expect(resumed.restarts).toBe(1)
    expect(resumed.exchanges).toBe(stopped.exchanges)
    expect(resumed.updates.accepted).toBe(stopped.updates.accepted)
    await swarm.until(() => again.core.status().step >= stopped.step + 100, 600_000, 'training after the restart')
    expect(again.core.status().warmJoin).toBeNull()
    // It resumed with its model, not the initial weights: as good as before the stop at once.
    await swarm.stop()
  })

  it('a node back after longer than its peer window keeps models catches up from its peers (a warm join); back at once it does not (control)', async () => {
    const swarm = new InProcessSwarm()
    const [away, ...others] = await swarm.grow(3) as [InProcessNode, ...InProcessNode[]]
    await swarm.until(() => away.core.status().step >= 100, 600_000, '100 steps')
    await swarm.stop([away])
    const left = swarm.time.now()
    // Away for a minute, twice the 30-s window of a node without a gossip period; the others train on.
    await swarm.time.advance(60_000)
    const back = swarm.add({ store: away.store, warmJoin: true })
    swarm.network.linkAll([back.id, ...others.map(node => node.id)])
    let caughtUp = false
    back.core.addEventListener('warm-join', () => { caughtUp = true })
    await back.core.start()
    expect(back.core.resumed).toBe(true)
    await swarm.until(() => caughtUp, 120_000, 'the catch-up')
    expect(back.core.status().warmJoin?.answers).toBe(2)
    // It keeps its own progress counters: a catch-up replaces the model, not the node.
    expect(back.core.status().step).toBeGreaterThanOrEqual(100)
    expect(swarm.time.now() - left).toBeGreaterThan(60_000)

    // Control: the same node back at once resumes its checkpoint and asks no one.
    await swarm.stop([back])
    const again = swarm.add({ store: back.store, warmJoin: true })
    swarm.network.linkAll([again.id, ...others.map(node => node.id)])
    let asked = false
    again.core.addEventListener('warm-join', () => { asked = true })
    await again.core.start()
    await swarm.until(() => again.core.status().exchanges >= back.core.status().exchanges + 20, 600_000, '20 rounds after the restart')
    expect(asked).toBe(false)
    expect(again.core.status().warmJoin).toBeNull()
    await swarm.stop()
  })

  it('a restart resumes training from the model it trained on, not the average it serves; a checkpoint without one (format 1) resumes the served model', async () => {
    const swarm = new InProcessSwarm()
    const [first] = await swarm.grow(2) as [InProcessNode, InProcessNode]
    await swarm.until(() => first.core.status().step >= 200, 600_000, '200 steps')
    await swarm.stop([first])
    const trained = flatValues(await first.trainer.getWeights())
    const saved = first.store.checkpoint
    expect(saved?.training).toBeDefined()
    const served = flatValues(decoded(saved?.model, swarm))
    // Control: the served average lags the trained model, so resuming one or the other differs.
    expect(distanceBetween(served, trained)).toBeGreaterThan(1e-3)
    // What the core hands its trainer at start (training begins at once, so read the hand-over, not the trainer later).
    const resumedWith = async (node: InProcessNode): Promise<Float32Array> => {
      const handOver = vi.spyOn(node.trainer, 'setWeights')
      await node.core.start()
      const weights = handOver.mock.calls[0]?.[0]
      if (weights === undefined) throw new Error('the core set no weights at start')
      return flatValues(weights)
    }
    const again = swarm.add({ store: first.store })
    expect(distanceBetween(await resumedWith(again), trained)).toBeLessThan(1e-6)
    await swarm.stop([again])

    // A format-1 checkpoint (no training model): the node resumes the served model.
    const old = new MemoryStore()
    const { training, ...formatOne } = again.store.checkpoint as Checkpoint
    expect(training).toBeDefined()
    await old.writeCheckpoint(formatOne)
    const older = swarm.add({ store: old })
    expect(distanceBetween(await resumedWith(older), flatValues(decoded(formatOne.model, swarm)))).toBeLessThan(1e-6)
    await swarm.stop([older])
  })

  it('a store holding another swarm\'s node: the start fails with ERR_NODE_STATE and writes nothing over it', async () => {
    const other = new InProcessSwarm(testManifest({ seed: 12345 }))
    const [foreign] = await other.grow(1) as [InProcessNode]
    await other.until(() => foreign.core.status().step >= 50, 60_000, '50 steps')
    await other.stop()
    const saved = foreign.store.checkpoint
    const swarm = new InProcessSwarm()
    const node = swarm.add({ store: foreign.store })
    await expect(node.core.start()).rejects.toMatchObject({ code: 'ERR_NODE_STATE' })
    await node.core.stop()
    expect(foreign.store.checkpoint).toBe(saved)
  })

  it('failing checkpoint writes warn and are retried with backoff; the node keeps training', async () => {
    const swarm = new InProcessSwarm()
    const [node] = await swarm.grow(1, { core: { checkpointIntervalMs: 1_000 } }) as [InProcessNode]
    const warnings: string[] = []
    node.core.addEventListener('warning', event => { warnings.push(event.detail.message) })
    let failing = 3
    node.store.writeFault = () => failing-- > 0 ? new Error('no space left on device') : undefined
    await swarm.until(() => warnings.some(message => message.startsWith('checkpoint written again')), 120_000, 'the recovery')
    expect(warnings.filter(message => message.startsWith('checkpoint write failed'))).toHaveLength(3)
    expect(warnings).toContain('checkpoint written again after 3 failed attempts')
    expect(node.store.checkpoint?.step).toBe(node.core.status().checkpoint.step)
    await swarm.stop()
  })
})
