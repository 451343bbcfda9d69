import { describe, it, expect, vi } from 'vitest'
import { ANNOUNCEMENT_INTERVAL_MS } from '../src/core/push-exchange.js'
import { InProcessSwarm, testManifest } from './inprocess/swarm.js'

/**
 * Announcements in push mode (src/core/push-exchange.ts): whom a node pushes to comes from the
 * topic's subscriptions, so a node whose rounds are short announces at most every
 * ANNOUNCEMENT_INTERVAL_MS instead of on every round (each announcement costs every receiver a
 * signature check).
 */
describe('announcements in push mode', () => {
  it('a node of short rounds announces at most once per interval, while its models still go out on every round', async () => {
    // A round is one step of 10 ms: hundreds of rounds in 20 s.
    const swarm = new InProcessSwarm(testManifest({ training: { localSteps: 1 } }))
    const nodes = await swarm.grow(3)
    const publishes = nodes.map(node => vi.spyOn(node.transport, 'publish'))
    const durationMs = 4 * ANNOUNCEMENT_INTERVAL_MS
    await swarm.time.advance(durationMs)
    const status = nodes.map(node => node.core.status())
    await swarm.stop()
    for (const [index, spy] of publishes.entries()) {
      const node = status[index]
      if (node === undefined) throw new Error('no status')
      // The control: rounds were far more frequent than the interval allows announcements.
      expect(node.exchanges).toBeGreaterThan(20 * durationMs / ANNOUNCEMENT_INTERVAL_MS)
      // Models still travelled: many more than the announcements (a peer still busy with the
      // previous push is skipped, so not one on every round).
      expect(node.updates.accepted).toBeGreaterThan(20 * spy.mock.calls.length)
      // One announcement at the start of each interval (a round may end just after it opens).
      expect(spy.mock.calls.length).toBeGreaterThanOrEqual(durationMs / ANNOUNCEMENT_INTERVAL_MS - 1)
      expect(spy.mock.calls.length).toBeLessThanOrEqual(durationMs / ANNOUNCEMENT_INTERVAL_MS + 1)
    }
  })
})
