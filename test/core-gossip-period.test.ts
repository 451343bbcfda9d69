import { describe, it, expect } from 'vitest'
import { distance, type Weights } from '../src/learning/weights.js'
import { InProcessSwarm, testManifest, type InProcessNode } from './inprocess/swarm.js'

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

  it('nodes that start together run their first round after a random part of the period: their rounds spread over it instead of ending together', async () => {
    const swarm = new InProcessSwarm(testManifest({ training: { localSteps: 1 } }))
    const periodMs = 60_000
    const nodes = await swarm.grow(8, { core: { gossipPeriodMs: periodMs } })
    const started = swarm.time.now()
    const firstExchange = new Map<string, number>()
    for (const node of nodes) {
      node.core.addEventListener('exchange', () => { if (!firstExchange.has(node.id)) firstExchange.set(node.id, swarm.time.now() - started) })
    }
    await swarm.until(() => firstExchange.size === nodes.length, 2 * periodMs, 'every first round')
    await swarm.stop()
    const times = [...firstExchange.values()].sort((a, b) => a - b)
    // In step, all 8 would share at 60 s within a few ms; spread, they span most of the period.
    expect(times.at(-1) as number).toBeLessThanOrEqual(periodMs + 100)
    expect((times.at(-1) as number) - (times[0] as number)).toBeGreaterThan(periodMs / 4)
  })

  it('a joiner adopts the swarm\'s model as soon as its warm join has it, not at the end of its first period', async () => {
    const periodMs = 60_000
    const swarm = new InProcessSwarm(testManifest({ training: { localSteps: 1 } }))
    await swarm.grow(3, { core: { gossipPeriodMs: periodMs } })
    await swarm.time.advance(5 * periodMs)
    const late = swarm.add({ warmJoin: true, core: { gossipPeriodMs: periodMs } })
    swarm.network.linkAll(swarm.nodes.map(node => node.id))
    let adoptedAfter = Infinity
    let sharedAfter = Infinity
    const started = swarm.time.now()
    late.core.addEventListener('warm-join', () => { adoptedAfter = swarm.time.now() - started })
    late.core.addEventListener('exchange', () => { sharedAfter = Math.min(sharedAfter, swarm.time.now() - started) })
    await late.core.start()
    await swarm.until(() => sharedAfter < Infinity, 2 * periodMs, 'the joiner\'s first round')
    await swarm.stop()
    // The answers take a few round trips of 5 ms; its first round would otherwise end at a random point of the period.
    expect(adoptedAfter).toBeLessThan(1_000)
    expect(sharedAfter).toBeLessThan(1_000)
  })

  it('with rounds minutes apart a node serves about its merged model, not an average of the last five rounds that lags it by minutes', async () => {
    const swarm = new InProcessSwarm(testManifest({ training: { localSteps: 2 } }))
    const nodes = await swarm.grow(3, { core: { gossipPeriodMs: 60_000 } })
    const node = nodes[0] as InProcessNode
    const rounds: Array<Promise<[Weights, Weights]>> = []
    // At the exchange the trainer holds the round's merged model; both are read at once (the bodies run synchronously).
    node.core.addEventListener('exchange', () => {
      const served = node.core.getModel()
      const merged = node.trainer.getWeights()
      rounds.push(Promise.all([served.then(snapshot => snapshot.weights), merged]))
    })
    await swarm.time.advance(12 * 60_000)
    await swarm.stop()
    const models = await Promise.all(rounds)
    expect(models.length).toBeGreaterThanOrEqual(10)
    let lag = 0
    let move = 0
    for (let r = 4; r < models.length; r++) {
      const [served, merged] = models[r] as [Weights, Weights]
      lag += distance(served, merged)
      move += distance(merged, (models[r - 1] as [Weights, Weights])[1])
    }
    // An average of five rounds would lag by about as much as a round moves the model, or more.
    expect(lag).toBeLessThan(0.3 * move)
  })
})
