import { describe, expect, it } from 'vitest'
import { emptyCounters, type Checkpoint } from '../src/core/node-state.js'
import { parsePartition } from '../src/data/partition.js'
import { swarmIdOf } from '../src/learning/manifest.js'
import { checkpointFigures, runManifest, summaryHeader } from '../src/swarm/run-figures.js'
import { playTimeline } from '../src/swarm/scenario-timeline.js'

const MNIST_SHAPE = { inputShape: [28, 28, 1], classes: 10 }

describe('the summary header of swarm, simulate and testbed', () => {
  it('names what the nodes ran, from their manifest, in the schema\'s order', () => {
    const manifest = runManifest({ dataset: 'fashion-mnist', model: 'logistic', seed: 7, codec: 'fp16', mergeRule: 'median', exchange: { mode: 'broadcast' } }, MNIST_SHAPE)
    const header = summaryHeader(manifest, { partition: parsePartition('dirichlet:0.5'), scenario: 'churn', nodeCount: 12 })
    expect(header).toEqual({
      swarmId: swarmIdOf(manifest),
      dataset: 'fashion-mnist',
      partition: 'dirichlet:0.5',
      model: 'logistic',
      codec: 'fp16',
      exchange: { mode: 'broadcast', fanout: manifest.exchange.fanout },
      mergeRule: 'median',
      scenario: 'churn',
      nodeCount: 12
    })
    // summary.json is written in insertion order: the header's keys come first, in this order.
    expect(Object.keys(header)).toEqual(['swarmId', 'dataset', 'partition', 'model', 'codec', 'exchange', 'mergeRule', 'scenario', 'nodeCount'])
  })
})

describe('a node\'s figures from its final checkpoint', () => {
  it('reports the counters the summary lists, 0 for one an older checkpoint lacks, and a copy of the reasons', () => {
    const counters = { ...emptyCounters(), exchanges: 4, bytesSent: 900, rejectedByReason: { norm: 2 }, sendsFailed: 3 }
    const older: Partial<typeof counters> = { ...counters }
    delete older.restarts
    const state: Checkpoint = { swarmId: 's', step: 10, samplesProcessed: 320, savedAt: '', counters: older as Checkpoint['counters'], model: new Uint8Array() }
    const figures = checkpointFigures(state)
    expect(figures).toEqual({ samplesProcessed: 320, step: 10, exchanges: 4, updatesReceived: 0, updatesAccepted: 0, updatesRejected: 0, rejectedByReason: { norm: 2 }, bytesSent: 900, bytesReceived: 0, restarts: 0, sendsDropped: 0, sendsFailed: 3 })
    // Only what the summary lists: the node's other counters stay in its status.
    expect('resyncs' in figures).toBe(false)
    counters.rejectedByReason.norm = 5
    expect(figures.rejectedByReason).toEqual({ norm: 2 })
    expect(checkpointFigures(null).exchanges).toBe(0)
  })
})

describe('a scenario\'s timeline', () => {
  it('performs the actions in order when due, and an abort ends the wait for the next one', async () => {
    const performed: number[] = []
    const abort = new AbortController()
    const startedAt = Date.now()
    const played = playTimeline([{ atMs: 0 }, { atMs: 20 }, { atMs: 600_000 }], async action => {
      performed.push(action.atMs)
      // Timers run on a monotonic clock and Date.now() counts whole milliseconds: a 20-ms wait can read as 19.
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(action.atMs - 1)
      if (performed.length === 2) abort.abort()
    }, { startedAt, deadline: startedAt + 3_600_000, signal: abort.signal })
    await played
    expect(performed).toEqual([0, 20])
  }, 10_000)

  it('starts no action at or after the deadline', async () => {
    const performed: number[] = []
    const startedAt = Date.now()
    await playTimeline([{ atMs: 0 }, { atMs: 30 }], async action => { performed.push(action.atMs) }, { startedAt, deadline: startedAt + 10, signal: new AbortController().signal })
    expect(performed).toEqual([0])
  })
})
