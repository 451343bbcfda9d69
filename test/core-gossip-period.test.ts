import { describe, it, expect } from 'vitest'
import { InProcessSwarm, testManifest } from './inprocess/swarm.js'

/**
 * The gossip cycle (src/core/gossip-period.ts): a node whose rounds take far less than the period
 * shares once per period and idles the rest, instead of training and sharing back to back.
 */
describe('the gossip period, in-process', () => {
  it('a node shares once per period however fast it trains; without a period it shares back to back (control), and models still travel and merge', async () => {
    const manifest = testManifest({ training: { localSteps: 2 } })
    const paced = new InProcessSwarm(manifest)
    // A round is 2 steps of 10 ms: 20 ms of training in a 2 s period.
    const pacedNodes = await paced.grow(3, { core: { gossipPeriodMs: 2_000 } })
    const control = new InProcessSwarm(manifest)
    const controlNodes = await control.grow(3)
    await paced.time.advance(60_000)
    await control.time.advance(6_000)
    const pacedStatus = pacedNodes.map(node => node.core.status())
    const controlStatus = controlNodes.map(node => node.core.status())
    await paced.stop()
    await control.stop()
    for (const status of pacedStatus) {
      // 60 s / 2 s: a round at 0, 2, 4 … s.
      expect(status.exchanges).toBeGreaterThanOrEqual(29)
      expect(status.exchanges).toBeLessThanOrEqual(31)
      expect(status.step).toBe(2 * status.exchanges)
      // Models arrive within the window (4 periods) and are merged.
      expect(status.updates.accepted).toBeGreaterThan(20)
    }
    // 6 s of 20-ms rounds.
    for (const status of controlStatus) expect(status.exchanges).toBeGreaterThan(100)
  })
})
