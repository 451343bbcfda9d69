import { describe, expect, it } from 'vitest'
import { summaryTable } from '../src/cli/progress.js'
import { simulationSummaryLines } from '../src/cli/simulation-progress.js'
import type { RunFigures, SimulationSummary } from '../src/simulator/simulation.js'
import type { SwarmSummary } from '../src/swarm/summary.js'

// The figures both summaries print; only the fields the lines read.
const figures = {
  swarmId: 'f3a9c1d2e4b5',
  dataset: 'mnist-full',
  partition: 'iid',
  model: 'mlp',
  codec: 'int8',
  exchange: { mode: 'push', fanout: 3 },
  scenario: null,
  nodeCount: 2,
  durationSeconds: 120,
  backend: 'wasm',
  centralized: { accuracy: 0.95, samplesProcessed: 64_000 },
  accuracy: { mean: 0.932, min: 0.931, max: 0.933 },
  consensusDistance: 0.01,
  bytesSentPerNode: 12_000_000,
  bytesPerExchange: 289_000,
  nodes: [],
  timeline: [],
  events: [],
  lateJoins: [{ node: 1, joinedAt: 30, catchUpSeconds: 2.5 }]
}
const recordPrivacy = { level: 'record' as const, clip: 1, delta: 1e-5, epsilonBudget: 8, expectedSteps: 1_900, epsilonSpent: 7.94 }
const nodePrivacy = { level: 'node' as const, clip: 2, noiseMultiplier: 0.8, delta: 1e-5, epsilonSpent: 3.1 }
const run: RunFigures = { wallSeconds: 10, peakRssBytes: 2 ** 30, speedup: 12, nodeSecondsPerSecond: 24, stepsPerSecond: 100, actions: 1_000 }

const swarm = (extra: Partial<SwarmSummary>): string => summaryTable({ ...figures, wallSeconds: 130, peakRssBytesPerNode: 2 ** 28, ...extra } as unknown as SwarmSummary)
const simulation = (extra: Partial<SimulationSummary>): string => simulationSummaryLines({
  ...figures,
  simulation: { testSamples: 500, availability: null, latency: '20ms', bandwidth: '10Mbit', targetPeers: 8, stepMs: 15 },
  ...extra
} as unknown as SimulationSummary, run).join('\n')

describe('the end-of-run summary lines', () => {
  it('says that the centralized baseline of a DP-SGD run clips without noise, and only then', () => {
    expect(swarm({ privacy: recordPrivacy })).toMatch(/centralized {7}95\.0%.*clipped as the nodes clip them, without noise/)
    expect(swarm({})).not.toContain('clipped')
    expect(swarm({ privacy: nodePrivacy })).not.toContain('clipped')
  })

  it('prints the same learning and exchange lines for a swarm and a simulation', () => {
    const shared = (text: string): string[] => text.split('\n').filter(line => /^(centralized|late join|consensus|bytes sent|privacy) /.test(line))
    const fromSwarm = shared(swarm({ privacy: nodePrivacy }))
    expect(fromSwarm.map(line => line.split(' ')[0])).toEqual(['centralized', 'late', 'consensus', 'bytes', 'privacy'])
    expect(shared(simulation({ privacy: nodePrivacy }))).toEqual(fromSwarm)
    expect(fromSwarm).toContain("late join         node 1 joined at 30 s, caught up with the others' mean accuracy 2.5 s later")
    expect(fromSwarm.at(-1)).toMatch(/^privacy {11}node-level per exchange: largest ε spent by a node 3\.10/)
  })
})
