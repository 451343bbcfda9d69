import { finalScoring, lateJoins, privacyFigures, round, runManifest, summaryHeader, trafficFigures, type RunManifestOptions } from './run-figures.js'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { subset } from '../data/dataset.js'
import { formatPartition, type Partition } from '../data/partition.js'
import { loadTrainTestSplit } from '../data/spec.js'
import type { BackendName } from '../learning/backend-names.js'
import type { NodeStatus } from '../node/status.js'
import { centralizedBaseline } from './centralized-baseline.js'
import { Evaluator, sampleTimeline } from './evaluator.js'
import { NodeObservations } from './node-observations.js'
import { nodeResults } from './node-results.js'
import { withExpectedDpSgdSteps } from './dp-sgd-horizon.js'
import { checkRecordPrivacyBudgets } from './privacy-preflight.js'
import { assignProfiles, type ProfileShare } from './profiles.js'
import { writeReport } from './report.js'
import { attackFromStart, type Scenario } from './scenario.js'
import { EventLog, playTimeline } from './scenario-timeline.js'
import { sleep } from './sleep.js'
import { performSwarmAction } from './swarm-actions.js'
import { SwarmNodes } from './swarm-nodes.js'
import type { SwarmEvent, SwarmSummary, TimelinePoint } from './summary.js'

/** The manifest's settings (RunManifestOptions: dataset, model, seed, training, exchange, codec, merge rule, privacy) and the run's. */
export interface SwarmOptions extends RunManifestOptions {
  readonly nodes: number
  readonly partition: Partition
  readonly durationMs: number
  /** where summary.json, the manifest and the nodes' state go; a temporary folder if not set */
  readonly out?: string
  readonly backend?: BackendName
  /** mix of device profiles; every node is 'fast' (no CPU limit) if not set */
  readonly profiles?: readonly ProfileShare[]
  /** what happens to the swarm over time (kills, restarts, joins, partitions) */
  readonly scenario?: Scenario
  /** a swarm key file (murmur keygen) every node gets: a private swarm */
  readonly swarmKeyFile?: string
  /** let nodes without a checkpoint fetch the model from a peer (default true) */
  readonly warmJoin?: boolean
  /** milliseconds between two points of the timeline */
  readonly timelineIntervalMs?: number
  readonly onProgress?: (progress: SwarmProgress) => void
  /** what the scenario did, as it happens */
  readonly onEvent?: (event: SwarmEvent) => void
  /** lines the nodes print on stderr, prefixed with their index */
  readonly onNodeLog?: (index: number, line: string) => void
  readonly signal?: AbortSignal
}

export interface SwarmProgress {
  readonly phase: 'starting' | 'training' | 'stopping' | 'baseline'
  readonly elapsedSeconds: number
  readonly durationSeconds: number
  readonly nodes: ReadonlyArray<{ readonly index: number; readonly status: NodeStatus | null }>
  readonly timeline: readonly TimelinePoint[]
}

const TIMELINE_TEST_SAMPLES = 500
/** how often the launcher reads the nodes' status while they train, at most */
const POLL_INTERVAL_MS = 1_000

/**
 * Runs a local swarm: N `murmur start` processes on 127.0.0.1 (swarm-nodes.ts), each bootstrapping
 * from the others, for a fixed time, while a scenario kills, restarts, adds and partitions nodes
 * (swarm-actions.ts, on the timeline of scenario-timeline.ts); then scores every node's final model
 * (node-results.ts) and a centralized baseline on the test split.
 */
export async function runSwarm (options: SwarmOptions): Promise<SwarmSummary> {
  const started = Date.now()
  const workdir = resolve(options.out ?? await mkdtemp(join(tmpdir(), 'murmur-swarm-')))
  await mkdir(workdir, { recursive: true })
  const { train, test } = await loadTrainTestSplit(options.dataset)
  const partition = formatPartition(options.partition)
  const dataSpecOf = (index: number): string => `${options.dataset}:${index}/${options.nodes}:${partition}`
  // DP-SGD noise for the steps a node can take in this run, not for a horizon it never reaches.
  const manifest = await withExpectedDpSgdSteps(runManifest(options, train), { durationMs: options.durationMs, nodes: options.nodes, dataSpec: dataSpecOf(1), ...(options.backend === undefined ? {} : { backend: options.backend }) })
  await checkRecordPrivacyBudgets(manifest, Array.from({ length: options.nodes }, (_, i) => dataSpecOf(i + 1)))
  const manifestFile = join(workdir, 'manifest.json')
  await writeFile(manifestFile, JSON.stringify(manifest, null, 2) + '\n')
  const scenario = options.scenario
  const swarm = await SwarmNodes.create({
    workdir,
    manifestFile,
    count: options.nodes,
    dataSpec: dataSpecOf,
    profiles: assignProfiles(options.profiles ?? [{ name: 'fast', maxCpu: 1, share: 1 }], options.nodes),
    attackAtStart: index => attackFromStart(scenario, index),
    seed: options.seed,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(options.swarmKeyFile === undefined ? {} : { swarmKeyFile: options.swarmKeyFile }),
    ...(options.warmJoin === undefined ? {} : { warmJoin: options.warmJoin }),
    ...(options.onNodeLog === undefined ? {} : { onNodeLog: options.onNodeLog }),
    ...(options.signal === undefined ? {} : { signal: options.signal })
  })
  const events = new EventLog(options.onEvent)

  const progress = (phase: SwarmProgress['phase'], statuses: Map<number, NodeStatus | null>, timeline: TimelinePoint[], elapsedMs: number): void => {
    options.onProgress?.({
      phase,
      elapsedSeconds: elapsedMs / 1000,
      durationSeconds: options.durationMs / 1000,
      nodes: swarm.all.map(n => ({ index: n.index, status: statuses.get(n.index) ?? null })),
      timeline
    })
  }
  progress('starting', new Map(), [], 0)
  let evaluator: Evaluator | undefined
  const scenarioAbort = new AbortController()
  let scenarioRun: Promise<void> = Promise.resolve()
  try {
    const initial = swarm.all.filter(n => !(scenario?.lateJoiners.has(n.index) ?? false))
    const startResults = await Promise.allSettled(initial.map(async n => swarm.start(n)))
    const failed = startResults.find(result => result.status === 'rejected')
    if (failed !== undefined) throw failed.reason

    evaluator = await Evaluator.create(manifest, test, options.backend)
    const scorer = evaluator
    const trainingStarted = Date.now()
    events.startedAt = trainingStarted
    const deadline = trainingStarted + options.durationMs
    scenarioRun = playTimeline(scenario?.actions ?? [], async action => performSwarmAction(swarm, action, events), { startedAt: trainingStarted, deadline, signal: scenarioAbort.signal })
    const timeline: TimelinePoint[] = []
    const timelineInterval = options.timelineIntervalMs ?? 5_000
    // The timeline scores on part of the test split: it runs while the nodes train and must stay cheap.
    const timelineTest = subset(test, Array.from({ length: Math.min(TIMELINE_TEST_SAMPLES, test.count) }, (_, i) => i))
    let nextSample = 0
    const observations = new NodeObservations()
    while (!(options.signal?.aborted ?? false) && Date.now() < deadline) {
      const running = swarm.live()
      const statuses = new Map(await Promise.all(running.map(async n => [n.index, await n.process?.status() ?? null] as const)))
      for (const [index, status] of statuses) if (status !== null) observations.observe(index, status)
      const elapsed = Date.now() - trainingStarted
      if (elapsed >= nextSample) {
        timeline.push(await sampleTimeline(running.filter(n => n.attack === null), scorer, timelineTest, elapsed / 1000))
        nextSample += timelineInterval
      }
      progress('training', statuses, timeline, Date.now() - trainingStarted)
      await sleep(Math.max(0, Math.min(POLL_INTERVAL_MS, deadline - Date.now())), options.signal)
    }
    scenarioAbort.abort()
    await scenarioRun
    const trainingSeconds = (Date.now() - trainingStarted) / 1000
    progress('stopping', new Map(), timeline, Date.now() - trainingStarted)
    const aliveAtEnd = new Set(swarm.live().map(n => n.index))
    await Promise.all(swarm.live().map(async n => n.process?.stop()))

    const { summaries: nodeSummaries, counted, countedModels } = await nodeResults(swarm.all.map(n => ({
      index: n.index,
      peerId: n.peerId,
      dataSpec: n.dataSpec,
      datadir: n.datadir,
      role: n.attack === null ? 'honest' : 'attacker',
      profile: n.profile.name,
      maxCpu: n.profile.maxCpu,
      started: n.state !== 'pending',
      alive: aliveAtEnd.has(n.index)
    })), manifest, scorer, observations)
    // Accuracy is over the honest nodes alive at the end; consensus over their models.
    const { scores: finalScores, consensus, point, meanSamples } = finalScoring(counted, countedModels, trainingSeconds)
    timeline.push(point)
    progress('baseline', new Map(), timeline, Date.now() - trainingStarted)
    const centralized = await centralizedBaseline(manifest, swarm.all.map(n => n.dataSpec), test, meanSamples, options.backend)
    const traffic = trafficFigures(nodeSummaries)
    const summary: SwarmSummary = {
      ...summaryHeader(manifest, { partition: options.partition, scenario: scenario?.name ?? null, nodeCount: options.nodes }),
      durationSeconds: round(trainingSeconds),
      wallSeconds: round((Date.now() - started) / 1000),
      backend: swarm.backend(),
      centralized,
      accuracy: finalScores,
      consensusDistance: consensus ?? 0,
      bytesSentPerNode: traffic.bytesSentPerNode,
      peakRssBytesPerNode: Math.max(0, ...nodeSummaries.map(n => n.peakRssBytes ?? 0)),
      ...privacyFigures(manifest, nodeSummaries),
      bytesPerExchange: traffic.bytesPerExchange,
      nodes: nodeSummaries,
      timeline,
      events: events.events,
      lateJoins: lateJoins(swarm.all, timeline)
    }
    if (options.out !== undefined) {
      await writeFile(join(workdir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')
      await writeReport(summary, join(workdir, 'report.html'))
    }
    return summary
  } finally {
    scenarioAbort.abort()
    // On the normal path the scenario's error was thrown above; on a failure, the error being thrown is the one to report.
    await scenarioRun.catch(() => {})
    await swarm.stopAll()
    await evaluator?.close()
  }
}
