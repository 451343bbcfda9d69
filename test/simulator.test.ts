import { describe, expect, it } from 'vitest'
import { parsePartition } from '../src/data/partition.js'
import { planScenario, readScenarioFile } from '../src/swarm/scenario.js'
import { smartphoneSessions } from '../src/simulator/availability.js'
import { pushLossFromSummary } from '../src/simulator/calibration.js'
import { runSimulation, type SimulationOptions } from '../src/simulator/simulation.js'
import { schemaErrors } from './helpers.js'

const FAST_NETWORK = { latency: { kind: 'fixed', value: 1 }, bandwidth: { kind: 'fixed', value: 1e9 }, targetPeers: 32 } as const

function options (overrides: Partial<SimulationOptions> = {}): SimulationOptions {
  return {
    nodes: 8,
    dataset: 'mnist',
    model: 'logistic',
    partition: parsePartition('iid'),
    durationMs: 20_000,
    seed: 5,
    stepMs: 50,
    // fp32 (not the default int8) so that the byte counts below follow from the model's size
    codec: 'fp32',
    network: FAST_NETWORK,
    ...overrides
  }
}

describe('murmur simulate', () => {
  it('gives a byte-identical summary for the same seed, through a scenario and smartphone churn', async () => {
    const scenario = planScenario({
      name: 'busy',
      events: [
        { at: '3s', kind: 'kill', nodes: [2] },
        { at: '6s', kind: 'restart', nodes: [2] },
        { at: '5s', kind: 'join', nodes: [10] },
        { at: '8s', kind: 'partition', groups: 2 },
        { at: '12s', kind: 'heal' }
      ]
    }, 10, 9)
    const run = async (seed: number): Promise<string> => {
      const churn = smartphoneSessions({ online: 0.6, meanSessionMs: 6_000 }, 10, 20_000, seed)
      const { summary } = await runSimulation(options({ nodes: 10, seed, scenario, availability: churn }))
      return JSON.stringify(summary)
    }
    const first = await run(9)
    expect(await run(9)).toBe(first)
    expect(await run(10)).not.toBe(first)
    const summary = JSON.parse(first) as Awaited<ReturnType<typeof runSimulation>>['summary']
    expect(schemaErrors('swarm-summary', summary)).toEqual([])
    expect(summary.events.map(event => event.kind)).toEqual(['kill', 'join', 'restart', 'partition', 'heal'])
    expect(summary.events[0]).toEqual({ t: 3, kind: 'kill', nodes: [2] })
    expect(summary.simulation.availability).toBe('smartphone:0.6:6s')
    // Churn and the kill made nodes stop and start again; their counters went on from their checkpoints.
    expect(summary.nodes.reduce((total, node) => total + node.restarts, 0)).toBeGreaterThan(0)
    expect(summary.lateJoins.map(join => join.node)).toEqual([10])
    expect(summary.timeline.length).toBeGreaterThan(3)
  })

  it('learns as well as a centralized baseline trained on as many samples', async () => {
    const { summary } = await runSimulation(options())
    expect(summary.accuracy.mean).toBeGreaterThan(0.8)
    expect(summary.accuracy.mean).toBeGreaterThan(summary.centralized.accuracy - 0.03)
    // Every node exchanged models: fp32 logistic is 7,850 values, ~31 kB, to 3 peers a round.
    expect(summary.nodes.every(node => node.exchanges > 10 && node.updatesAccepted > 10)).toBe(true)
    // (a round sends fewer when a push to a peer is still in flight)
    expect(summary.bytesPerExchange).toBeGreaterThan(2 * 31_000)
    expect(summary.bytesPerExchange).toBeLessThan(3 * 33_000)
  })

  it('lets nodes with skewed data learn the classes they do not hold, through the exchange only', async () => {
    const skewed = options({ partition: parsePartition('shards:2'), durationMs: 20_000 })
    const together = await runSimulation(skewed)
    // Control: the same nodes, each in a group of its own (no exchange), for the whole run.
    const alone = await runSimulation({ ...skewed, scenario: planScenario({ name: 'alone', events: [{ at: 0, kind: 'partition', groups: 8 }] }, 8, 5) })
    expect(alone.summary.nodes.every(node => node.updatesReceived === 0)).toBe(true)
    expect(alone.summary.accuracy.mean).toBeLessThan(0.4)
    expect(together.summary.accuracy.mean).toBeGreaterThan(alone.summary.accuracy.mean + 0.15)
  })

  it('delivers models after their links\' transfer times: a slow network carries fewer of them', async () => {
    const fast = await runSimulation(options({ durationMs: 10_000 }))
    // 31 kB at 200 kbit/s is 1.3 s on the wire, and each uplink sends one model at a time.
    const slow = await runSimulation(options({ durationMs: 10_000, network: { ...FAST_NETWORK, bandwidth: { kind: 'fixed', value: 200_000 } } }))
    const received = (summary: typeof fast.summary): number => summary.nodes.reduce((total, node) => total + node.updatesReceived, 0)
    expect(received(fast.summary)).toBeGreaterThan(3 * received(slow.summary))
    expect(received(slow.summary)).toBeGreaterThan(0)
  })

  it('loses the calibrated share of pushes: refused unread, they fail at the sender, carry no bytes, and the calibration reads the loss back', async () => {
    // fanout 3 among 8 nodes: every exchange fills its slots when nothing is lost
    const whole = await runSimulation(options({ durationMs: 30_000 }))
    const lossy = await runSimulation(options({ durationMs: 30_000, network: { ...FAST_NETWORK, pushLoss: 0.4 } }))
    // Control: without loss no push fails, and the calibration reads 0.
    expect(whole.summary.nodes.every(node => node.sendsFailed === 0)).toBe(true)
    expect(pushLossFromSummary(whole.summary)).toBeLessThan(0.05)
    expect(lossy.summary.nodes.reduce((total, node) => total + (node.sendsFailed ?? 0), 0)).toBeGreaterThan(0)
    expect(pushLossFromSummary(lossy.summary)).toBeGreaterThan(0.3)
    expect(pushLossFromSummary(lossy.summary)).toBeLessThan(0.5)
    expect(lossy.summary.bytesPerExchange).toBeLessThan(0.8 * whole.summary.bytesPerExchange)
    expect(lossy.summary.simulation.pushLoss).toBe(0.4)
  })

  it('runs the attackers of a scenario file: the mean collapses under them, the default rule holds', async () => {
    const file = await readScenarioFile('simulations/poisoning.json')
    const scenario = planScenario(file, 8, 5)
    const attacked = (mergeRule?: string): SimulationOptions => options({ durationMs: 15_000, scenario, ...(mergeRule === undefined ? {} : { mergeRule }) })
    const mean = await runSimulation(attacked('mean'))
    const defended = await runSimulation(attacked())
    expect(mean.summary.nodes.filter(node => node.role === 'attacker').map(node => node.index)).toEqual([7, 8])
    expect(mean.summary.accuracy.mean).toBeLessThan(0.5)
    expect(defended.summary.accuracy.mean).toBeGreaterThan(0.8)
  })
})
