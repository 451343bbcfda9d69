import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { subset } from '../data/dataset.js'
import { formatPartition, type Partition } from '../data/partition.js'
import { loadTrainTestSplit, type BuiltinDataset } from '../data/spec.js'
import type { BackendName } from '../learning/backend-names.js'
import type { ExchangeSettings, TrainingSettings } from '../learning/manifest.js'
import { centralizedBaseline } from '../swarm/centralized-baseline.js'
import { Evaluator, sampleTimeline } from '../swarm/evaluator.js'
import { NodeObservations } from '../swarm/node-observations.js'
import { nodeResults } from '../swarm/node-results.js'
import { finalScoring, round, runManifest, summaryHeader, trafficFigures } from '../swarm/run-figures.js'
import { writeReport } from '../swarm/report.js'
import { EventLog, playTimeline } from '../swarm/scenario-timeline.js'
import { sleep } from '../swarm/sleep.js'
import type { SwarmEvent, SwarmSummary, TimelinePoint } from '../swarm/summary.js'
import { connectivityOf, type Connectivity, type PlacedStatus } from './connectivity.js'
import { Testbed } from './testbed.js'
import type { TestbedAction, Topology } from './topology.js'

export interface TestbedRunOptions {
  readonly topology: Topology
  readonly dataset: BuiltinDataset
  readonly model: string
  readonly partition: Partition
  readonly durationMs: number
  readonly seed: number
  /** where summary.json, report.html, the manifest and the nodes' state go; a temporary folder if not set */
  readonly out?: string
  readonly backend?: BackendName
  readonly training?: Partial<TrainingSettings>
  readonly exchange?: Partial<ExchangeSettings>
  readonly codec?: string
  readonly timelineIntervalMs?: number
  readonly onEvent?: (event: SwarmEvent) => void
  readonly onTimeline?: (point: TimelinePoint, connectivity: Connectivity) => void
  readonly onNodeLog?: (index: number, line: string) => void
  readonly signal?: AbortSignal
}

/** What a testbed run adds to the usual swarm summary. */
export interface TestbedSummary extends SwarmSummary {
  testbed: {
    topology: string
    publicNodes: number
    homes: ReadonlyArray<{ nodes: number; uplink: string | null; downlink: string | null }>
    /** which home each node is in (null: public), by node number */
    placement: Record<string, number | null>
    connectivity: Connectivity[]
  }
}

const TIMELINE_TEST_SAMPLES = 500

/**
 * `murmur testbed`: builds the topology's network, starts the nodes in it, performs its events on
 * time, samples accuracy, consensus and connectivity, then scores the final models like `murmur
 * swarm` and writes the same summary and report, with the network's connectivity added.
 */
export async function runTestbed (options: TestbedRunOptions): Promise<TestbedSummary> {
  const started = Date.now()
  const workdir = resolve(options.out ?? await mkdtemp(join(tmpdir(), 'murmur-testbed-')))
  const { train, test } = await loadTrainTestSplit(options.dataset)
  const manifest = runManifest(options, train)
  const partition = formatPartition(options.partition)
  const { topology } = options
  const testbed = await Testbed.create({
    topology,
    manifest,
    workdir,
    dataSpec: index => `${options.dataset}:${index}/${topology.nodeCount}:${partition}`,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(options.onNodeLog === undefined ? {} : { onNodeLog: options.onNodeLog })
  })
  const events = new EventLog(options.onEvent)
  const perform = async (action: TestbedAction): Promise<void> => {
    switch (action.kind) {
      case 'kill':
        await Promise.all(action.nodes.map(async index => testbed.kill(index)))
        events.record({ kind: 'kill', nodes: [...action.nodes] })
        return
      case 'join':
      case 'restart':
        await Promise.all(action.nodes.map(async index => testbed.start(index, options.signal)))
        events.record({ kind: action.kind, nodes: [...action.nodes] })
        return
      case 'cut':
      case 'restore':
        if (action.kind === 'cut') testbed.network.cut(action.home)
        else testbed.network.restore(action.home)
        events.record({ kind: `${action.kind} home ${action.home}`, nodes: testbed.nodes.filter(n => n.home === action.home).map(n => n.index) })
        return
      case 'cap':
        testbed.network.cap(action.home, action.rate)
        events.record({ kind: action.rate === null ? `uncap home ${action.home}` : `cap home ${action.home} at ${action.rate}`, nodes: testbed.nodes.filter(n => n.home === action.home).map(n => n.index) })
    }
  }
  let evaluator: Evaluator | undefined
  const scenarioAbort = new AbortController()
  let scenarioRun: Promise<void> = Promise.resolve()
  try {
    // The bootstrap nodes first: the others dial them as they start.
    for (const index of topology.bootstrap) await testbed.start(index, options.signal)
    const others = testbed.nodes.filter(n => !topology.bootstrap.includes(n.index) && !topology.lateJoiners.has(n.index))
    const results = await Promise.allSettled(others.map(async n => testbed.start(n.index, options.signal)))
    const failed = results.find(result => result.status === 'rejected')
    if (failed !== undefined) throw failed.reason

    evaluator = await Evaluator.create(manifest, test, options.backend)
    const scorer = evaluator
    const trainingStarted = Date.now()
    events.startedAt = trainingStarted
    const deadline = trainingStarted + options.durationMs
    scenarioRun = playTimeline(topology.actions, perform, { startedAt: trainingStarted, deadline, signal: scenarioAbort.signal })
    const timeline: TimelinePoint[] = []
    const connectivity: Connectivity[] = []
    const timelineTest = subset(test, Array.from({ length: Math.min(TIMELINE_TEST_SAMPLES, test.count) }, (_, i) => i))
    const interval = options.timelineIntervalMs ?? 5_000
    const observations = new NodeObservations()
    let nextSample = 0
    while (!(options.signal?.aborted ?? false) && Date.now() < deadline) {
      const elapsed = Date.now() - trainingStarted
      if (elapsed >= nextSample) {
        nextSample += interval
        const statuses = await testbed.statuses()
        const placed: PlacedStatus[] = []
        for (const [index, status] of statuses) {
          if (status === null) continue
          placed.push({ index, home: testbed.node(index).home, status })
          observations.observe(index, status)
        }
        const point = await sampleTimeline(testbed.live(), scorer, timelineTest, elapsed / 1000)
        const links = connectivityOf(placed, round(elapsed / 1000))
        timeline.push(point)
        connectivity.push(links)
        options.onTimeline?.(point, links)
      }
      await sleep(Math.max(0, Math.min(500, deadline - Date.now())), options.signal)
    }
    scenarioAbort.abort()
    await scenarioRun
    const trainingSeconds = (Date.now() - trainingStarted) / 1000
    const aliveAtEnd = new Set(testbed.live().map(n => n.index))
    await testbed.close()

    const { summaries: nodeSummaries, counted, countedModels } = await nodeResults(testbed.nodes.map(n => ({
      index: n.index,
      peerId: n.peerId,
      dataSpec: n.dataSpec,
      datadir: n.datadir,
      role: 'honest',
      profile: n.home === null ? 'public' : `home ${n.home}`,
      maxCpu: 1,
      started: n.state !== 'pending',
      alive: aliveAtEnd.has(n.index)
    })), manifest, scorer, observations)
    const { scores: finalScores, consensus, point, meanSamples } = finalScoring(counted, countedModels, trainingSeconds)
    timeline.push(point)
    const centralized = await centralizedBaseline(manifest, testbed.nodes.map(n => n.dataSpec), test, meanSamples, options.backend)
    const traffic = trafficFigures(nodeSummaries)
    const summary: TestbedSummary = {
      ...summaryHeader(manifest, { partition: options.partition, scenario: topology.name, nodeCount: topology.nodeCount }),
      durationSeconds: round(trainingSeconds),
      wallSeconds: round((Date.now() - started) / 1000),
      backend: testbed.nodes.find(n => n.process?.ready != null)?.process?.ready?.backend ?? 'unknown',
      centralized,
      accuracy: finalScores,
      consensusDistance: consensus ?? 0,
      bytesSentPerNode: traffic.bytesSentPerNode,
      bytesPerExchange: traffic.bytesPerExchange,
      peakRssBytesPerNode: Math.max(0, ...nodeSummaries.map(n => n.peakRssBytes ?? 0)),
      nodes: nodeSummaries,
      timeline,
      events: events.events,
      lateJoins: [],
      testbed: {
        topology: topology.name,
        publicNodes: topology.publicNodes,
        homes: topology.homes,
        placement: Object.fromEntries(testbed.nodes.map(n => [String(n.index), n.home])),
        connectivity
      }
    }
    if (options.out !== undefined) {
      await writeFile(join(workdir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')
      await writeReport(summary, join(workdir, 'report.html'))
    }
    return summary
  } finally {
    scenarioAbort.abort()
    await scenarioRun.catch(() => {})
    await testbed.close()
    await evaluator?.close()
  }
}
