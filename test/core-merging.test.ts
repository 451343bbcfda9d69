import { describe, it, expect } from 'vitest'
import { InProcessSwarm, testManifest, type InProcessNode } from './inprocess/swarm.js'

/**
 * The node core in-process (memory network, virtual clock, a small real learner): merging. Each node
 * holds 4 of the 10 classes; alone it cannot score above about 40 % on all classes, together they can.
 */
const SHARDS = [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9], [8, 9, 0, 1]]

async function trainedFor (swarm: InProcessSwarm, nodes: readonly InProcessNode[], steps: number): Promise<void> {
  await swarm.until(() => nodes.every(node => node.core.status().step >= steps), 600_000, `${steps} steps`)
}

/** test accuracy of a node that trained 400 steps alone on the first shard */
async function soloOnFirstShard (): Promise<number> {
  const alone = new InProcessSwarm()
  const [solo] = await alone.grow(1, { classes: SHARDS[0] })
  await trainedFor(alone, [solo as InProcessNode], 400)
  const accuracy = alone.testAccuracy(solo as InProcessNode)
  await alone.stop()
  return accuracy
}

describe('the node core, in-process', () => {
  it('push mode: skewed nodes that merge beat what each reaches alone on all classes', async () => {
    const soloAccuracy = await soloOnFirstShard()

    const swarm = new InProcessSwarm()
    const nodes = await swarm.grow(4, index => ({ classes: SHARDS[index] }))
    await trainedFor(swarm, nodes, 400)
    const accuracies = nodes.map(node => swarm.testAccuracy(node))
    const status = nodes[0]?.core.status()
    await swarm.stop()
    // Control: updates travelled and were merged.
    expect(status?.updates.accepted).toBeGreaterThan(50)
    expect(status?.exchanges).toBeGreaterThan(50)
    expect(soloAccuracy).toBeLessThan(0.45)
    for (const accuracy of accuracies) expect(accuracy).toBeGreaterThan(soloAccuracy + 0.25)
  })

  it('broadcast mode: the same, with whole models on gossip', async () => {
    const soloAccuracy = await soloOnFirstShard()

    const swarm = new InProcessSwarm(testManifest({ exchange: { mode: 'broadcast' } }))
    const nodes = await swarm.grow(4, index => ({ classes: SHARDS[index] }))
    await trainedFor(swarm, nodes, 400)
    const accuracies = nodes.map(node => swarm.testAccuracy(node))
    const status = nodes[0]?.core.status()
    await swarm.stop()
    expect(status?.exchange.mode).toBe('broadcast')
    expect(status?.updates.accepted).toBeGreaterThan(50)
    for (const accuracy of accuracies) expect(accuracy).toBeGreaterThan(soloAccuracy + 0.25)
  })
})
