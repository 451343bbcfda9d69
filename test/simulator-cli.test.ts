import { execFile } from 'node:child_process'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { pushLossFromSummary, stepMsFromSummary } from '../src/simulator/calibration.js'
import { DEFAULT_LEARNING_RATES } from '../src/learning/manifest.js'
import { SMARTPHONE_DEFAULTS } from '../src/simulator/phone-defaults.js'
import { errorOf, schemaErrors, temporaryDirectory } from './helpers.js'

const cli = new URL('../dist/cli/index.js', import.meta.url).pathname
const run = promisify(execFile)

interface PhoneSummary {
  simulation: { gossipPeriodMs: number; targetPeers: number }
  nodes: Array<{ exchanges: number; restarts: number }>
}

async function trainingOf (directory: string): Promise<{ localSteps: number; algorithm: string; optimizer: string; learningRate: number }> {
  return (JSON.parse(await readFile(join(directory, 'manifest.json'), 'utf8')) as { training: { localSteps: number; algorithm: string; optimizer: string; learningRate: number } }).training
}

describe('murmur simulate command', () => {
  it('calibrates the step time from a swarm summary: the median of the nodes that trained all the run at full speed', () => {
    const node = (step: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ step, alive: true, role: 'honest', maxCpu: 1, restarts: 0, ...extra })
    const summary = { durationSeconds: 60, nodes: [node(1000), node(1200), node(600), node(10, { maxCpu: 0.2 }), node(5, { restarts: 1 }), node(5, { alive: false }), node(5, { role: 'attacker' })] }
    expect(stepMsFromSummary(summary, 's.json')).toBeCloseTo(60_000 / 1000, 6)
    expect(String(errorOf(() => stepMsFromSummary({ durationSeconds: 60, nodes: [node(0)] }, 's.json')))).toMatch(/no node trained the whole run at full speed/)
    expect(String(errorOf(() => stepMsFromSummary([], 's.json')))).toMatch(/calibration s.json: no positive durationSeconds/)
  })

  it('calibrates the push loss from a swarm summary: the fanout slots of all exchanges but each node\'s last that delivered no model', () => {
    const push = { mode: 'push', fanout: 3 }
    // Four nodes, 10 exchanges each, the last still in flight at the stop: 27 slots a node, 18 models arrived.
    const nodes = [20, 16, 18, 18].map(updatesReceived => ({ exchanges: 10, updatesReceived }))
    expect(pushLossFromSummary({ exchange: push, nodes })).toBeCloseTo(1 - 72 / 108, 9)
    // Control: every slot delivered, no loss.
    const whole = Array.from({ length: 4 }, () => ({ exchanges: 10, updatesReceived: 27 }))
    expect(pushLossFromSummary({ exchange: push, nodes: whole })).toBe(0)
    expect(pushLossFromSummary({ exchange: { mode: 'broadcast', fanout: 3 }, nodes })).toBeNull()
    expect(pushLossFromSummary({ exchange: push, nodes: [{ exchanges: 1, updatesReceived: 0 }, { exchanges: 1, updatesReceived: 0 }] })).toBeNull()
    // A skewed node pushes to more peers than the manifest says: its own line's fanout counts (eight
    // nodes pushing to 7 peers: 63 slots a node, 54 arrived), where the manifest's would read no loss.
    const skewed = Array.from({ length: 8 }, () => ({ exchanges: 10, updatesReceived: 54, fanout: 7 }))
    expect(pushLossFromSummary({ exchange: push, nodes: skewed })).toBeCloseTo(1 - 54 / 63, 9)
    // At most every other node: in a swarm of four, 3 slots an exchange whatever the fanout.
    expect(pushLossFromSummary({ exchange: push, nodes: whole.map(node => ({ ...node, fanout: 7 })) })).toBe(0)
  })

  it('runs with murmur swarm\'s flags and a trace file, and writes a schema-valid summary, its run figures and a report', async () => {
    const out = await temporaryDirectory('simulate')
    try {
      const trace = join(out, 'trace.csv')
      await writeFile(trace, 'device,online_from,online_to\n1,0,8\n2,0,8\n3,2,8\n4,0,3\n4,5,8\n')
      const { stdout } = await run(process.execPath, [cli, 'simulate', '--nodes', '4', '--model', 'logistic', '--duration', '8s', '--step-time', '50ms',
        '--latency', 'uniform:5ms:20ms', '--bandwidth', 'lognormal:50mbit:0.5', '--availability', trace, '--merge', 'median', '--local-steps', '5', '--partition', 'shards:2', '--out', out], { timeout: 90_000 })
      expect(stdout).toMatch(/simulated swarm [0-9a-f]{32}: 4 nodes, logistic on mnist/)
      const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as { mergeRule: string; simulation: { latency: string; availability: string }; nodes: Array<{ restarts: number; fanout: number | null }> }
      expect(schemaErrors('swarm-summary', summary)).toEqual([])
      // Each node's line says the fanout it pushed with: label-skewed nodes push to up to 7 peers, not the manifest's 3.
      for (const node of summary.nodes) {
        expect(node.fanout).toBeGreaterThan(3)
        expect(node.fanout).toBeLessThanOrEqual(7)
      }
      expect(summary.mergeRule).toBe('median')
      expect(summary.simulation.latency).toBe('uniform:5ms:20ms')
      expect(summary.simulation.availability).toBe(trace)
      // Device 4 left at 3 s and came back at 5 s.
      expect(summary.nodes[3]!.restarts).toBe(1)
      const figures = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as { wallSeconds: number; stepsPerSecond: number }
      expect(figures.wallSeconds).toBeGreaterThan(0)
      expect(figures.stepsPerSecond).toBeGreaterThan(0)
      expect(await readFile(join(out, 'report.html'), 'utf8')).toMatch(/murmur simulate/)
      await expect(run(process.execPath, [cli, 'simulate', '--availability', join(out, 'missing.csv'), '--duration', '1s'])).rejects.toThrow(/--availability: cannot read availability trace/)
      await expect(run(process.execPath, [cli, 'simulate', '--latency', 'uniform:9ms:1ms'])).rejects.toThrow(/invalid latency/)
    } finally {
      await rm(out, { recursive: true, force: true })
    }
  })

  it('generated phones gossip as phones do: the smartphone defaults (gossip period, local steps, peers) unless flags say otherwise', async () => {
    const out = await temporaryDirectory('simulate-phones')
    try {
      const flags = ['simulate', '--nodes', '4', '--model', 'logistic', '--availability', 'smartphone:0.9:100s']
      await run(process.execPath, [cli, ...flags, '--duration', '240s', '--out', join(out, 'phones')], { timeout: 90_000 })
      const phones = JSON.parse(await readFile(join(out, 'phones', 'summary.json'), 'utf8')) as PhoneSummary
      expect(phones.simulation.gossipPeriodMs).toBe(SMARTPHONE_DEFAULTS.gossipPeriodMs)
      expect(phones.simulation.targetPeers).toBe(SMARTPHONE_DEFAULTS.targetPeers)
      expect(await trainingOf(join(out, 'phones'))).toMatchObject({ localSteps: SMARTPHONE_DEFAULTS.localSteps, algorithm: SMARTPHONE_DEFAULTS.algorithm, optimizer: 'sgd', learningRate: SMARTPHONE_DEFAULTS.sgdLearningRate })
      // A round a period at most (one more for each restart: a node starts a round when it comes back).
      for (const node of phones.nodes) expect(node.exchanges).toBeLessThanOrEqual(240_000 / SMARTPHONE_DEFAULTS.gossipPeriodMs + node.restarts + 1)
      // Flags win; without a period, rounds run back to back (control: 10 s of 45-ms rounds).
      await run(process.execPath, [cli, ...flags, '--duration', '10s', '--gossip-period', '0s', '--local-steps', '3', '--algorithm', 'fedprox:0.01', '--peers', '2', '--out', join(out, 'flags')], { timeout: 90_000 })
      const typed = JSON.parse(await readFile(join(out, 'flags', 'summary.json'), 'utf8')) as PhoneSummary
      expect(typed.simulation.gossipPeriodMs).toBe(0)
      expect(typed.simulation.targetPeers).toBe(2)
      expect(await trainingOf(join(out, 'flags'))).toMatchObject({ localSteps: 3, algorithm: 'fedprox:0.01' })
      expect(Math.max(...typed.nodes.map(node => node.exchanges))).toBeGreaterThan(100)
      // The phones' step size is for SGD: Adam keeps its own default.
      await run(process.execPath, [cli, ...flags, '--duration', '1s', '--optimizer', 'adam', '--out', join(out, 'adam')], { timeout: 90_000 })
      expect(await trainingOf(join(out, 'adam'))).toMatchObject({ optimizer: 'adam', learningRate: DEFAULT_LEARNING_RATES.adam })
    } finally {
      await rm(out, { recursive: true, force: true })
    }
  })
})
