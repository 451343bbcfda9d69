import { describe, it, expect } from 'vitest'
import { InProcessSwarm, testManifest, type InProcessNode } from './inprocess/swarm.js'

/** Node-level differential privacy as the core applies it: a budget of releases that ends sharing. */
describe('node-level privacy release, in-process', () => {
  it('shares exactly as many noised releases as the budget allows, then trains on without sharing', async () => {
    const releases = 30
    const manifest = testManifest({ privacy: { level: 'node', epsilon: 8, delta: 1e-5, clip: 1, releases } })
    const swarm = new InProcessSwarm(manifest)
    const [node, peer] = await swarm.grow(2) as [InProcessNode, InProcessNode]
    const heard: number[] = []
    // Heard: accepted or refused (noise of this size often takes a release past the peer's norm bound).
    peer.core.addEventListener('accepted', event => { if (event.detail.from === node.id) heard.push(1) })
    peer.core.addEventListener('rejected', event => { if (event.detail.from === node.id) heard.push(0) })
    await swarm.until(() => node.core.status().step >= 5 * releases * 2, 600_000, 'twice the rounds the budget allows')
    const status = node.core.status()
    const exchangesAtEnd = status.exchanges
    const stepAtEnd = status.step
    await swarm.time.advance(10_000)
    const later = node.core.status()
    await swarm.stop()
    expect(status.privacy).toMatchObject({ level: 'node', releases, exhausted: true })
    expect(status.privacy?.epsilon).toBeLessThanOrEqual(8 * (1 + 1e-9))
    // Every share was a release, and the peer heard no more than that.
    expect(exchangesAtEnd).toBe(releases)
    expect(heard.length).toBeLessThanOrEqual(releases)
    expect(heard.length).toBeGreaterThan(releases / 2)
    // It trains on, shares nothing more.
    expect(later.step).toBeGreaterThan(stepAtEnd)
    expect(later.exchanges).toBe(releases)
  })
})
