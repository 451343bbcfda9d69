import { attacking } from '../attacks/attacking-exchange.js'
import type { Attack } from '../attacks/attack.js'
import { DEFAULT_CHECKPOINT_INTERVAL_MS, NodeCore } from '../core/node-core.js'
import type { Checkpoint } from '../core/node-state.js'
import { PeerGate } from '../core/peer-gate.js'
import { validateUpdate } from '../core/update-codec.js'
import { formatPartition, partitionIndices, type Partition } from '../data/partition.js'
import { createRandom, deriveSeed } from '../data/random.js'
import { holdOutRows, holdoutSeed, loadTrainTestSplit } from '../data/spec.js'
import { MurmurError } from '../errors.js'
import { initialWeights } from '../learning/initial-weights.js'
import { swarmIdOf, type Manifest } from '../learning/manifest.js'
import { consensusDistance, type Weights } from '../learning/weights.js'
import { assignProfiles, type ProfileShare } from '../swarm/profiles.js'
import { checkpointFigures, finalScoring, lateJoins, privacyFigures, round, runManifest, summarise, summaryHeader, trafficFigures, type RunManifestOptions } from '../swarm/run-figures.js'
import { attackFromStart, type Scenario, type ScenarioAction } from '../swarm/scenario.js'
import type { NodeSummary, SwarmEvent, SwarmSummary, TimelinePoint } from '../swarm/summary.js'
import { availabilityActions, type Availability } from './availability.js'
import { DenseNetwork } from '../learning/dense-network.js'
import { formatBitsPerSecond, formatDistribution, formatMilliseconds, type Distribution } from './distribution.js'
import { FlatTrainer, type NodeRows } from '../learning/flat-trainer.js'
import { LinkModel } from './links.js'
import { MemoryStore } from './memory-store.js'
import { nodeId, SimulatedNetwork } from './simulated-network.js'
import { SimulatedTrainer } from './simulated-trainer.js'
import { sparseRows, type SparseRows } from '../learning/sparse-rows.js'
import { settle, VirtualTime } from './virtual-time.js'

/**
 * The manifest's settings (RunManifestOptions; a model given as data must be dense layers only, see
 * dense-network.ts; node-level privacy only, record-level DP-SGD is not simulated) and the run's.
 */
export interface SimulationOptions extends RunManifestOptions {
  readonly nodes: number
  readonly partition: Partition
  /** virtual time the nodes train */
  readonly durationMs: number
  /** mix of device profiles; every node is 'fast' if not set */
  readonly profiles?: readonly ProfileShare[]
  /** what happens to the swarm over time: the scenario files of `murmur swarm` */
  readonly scenario?: Scenario
  /** churn: when each node is online (a trace or the smartphone generator) */
  readonly availability?: Availability
  /** let nodes without a checkpoint fetch the model from peers (default true) */
  readonly warmJoin?: boolean
  readonly network: SimulatedNetworkSettings
  /** virtual milliseconds one local step takes on a device that trains all the time (profile fast) */
  readonly stepMs: number
  /** the gossip cycle: a node's rounds start at most this often (NodeCoreInit.gossipPeriodMs; default 0, back to back) */
  readonly gossipPeriodMs?: number
  /** virtual ms between a node's checkpoints (NodeCoreInit.checkpointIntervalMs; default the core's, 10 s); a node that leaves always writes one */
  readonly checkpointIntervalMs?: number
  /** virtual milliseconds between two timeline points (default: 5 s, or duration / 120 when longer) */
  readonly timelineIntervalMs?: number
  /** nodes scored at each timeline point, drawn once from the seed (default 64) */
  readonly timelineNodes?: number
  readonly onProgress?: (progress: SimulationProgress) => void
  readonly onEvent?: (event: SwarmEvent) => void
  readonly signal?: AbortSignal
}

export interface SimulatedNetworkSettings {
  /** one-way latency of a link, milliseconds */
  readonly latency: Distribution
  /** a link's bandwidth, bits per second */
  readonly bandwidth: Distribution
  /** connections a node keeps (libp2p's target, default 32) */
  readonly targetPeers: number
  /** share of pushes that deliver nothing: refused unread, failed at the sender (default 0; calibration.ts) */
  readonly pushLoss?: number
}

/** The simulation's own settings, in the summary: what a reader needs to run it again. */
export interface SimulationSettings {
  readonly seed: number
  readonly stepMs: number
  /** the gossip cycle in virtual ms (0: rounds back to back) */
  readonly gossipPeriodMs: number
  /** virtual ms between a node's checkpoints */
  readonly checkpointIntervalMs: number
  readonly latency: string
  readonly bandwidth: string
  readonly targetPeers: number
  /** share of pushes lost (calibrated from a real run, or --push-loss) */
  readonly pushLoss: number
  readonly availability: string | null
  /** test samples each node's final model is scored on (the first ones of the test split) */
  readonly testSamples: number
  /** nodes scored at each timeline point */
  readonly timelineNodes: number
  /** distinct data parts: fewer than the nodes when the dataset is too small to give each its own */
  readonly dataParts: number
  /** scheduled actions the simulation ran (events, timers, deliveries) */
  readonly actions: number
}

/**
 * The summary of a simulation: the swarm-summary format (docs/schemas/swarm-summary.schema.json)
 * with virtual times, and no wall-clock or memory figures (they are in RunFigures), so that the same
 * seed gives the same file byte for byte.
 */
export type SimulationSummary = Omit<SwarmSummary, 'wallSeconds' | 'peakRssBytesPerNode'> & { simulation: SimulationSettings }

/** How the run went on this machine: not part of the summary, as it differs from run to run. */
export interface RunFigures {
  readonly wallSeconds: number
  readonly peakRssBytes: number
  /** virtual seconds simulated per wall second */
  readonly speedup: number
  /** node-seconds (live nodes × virtual seconds) simulated per wall second */
  readonly nodeSecondsPerSecond: number
  /** local training steps all nodes took, per wall second: what the simulation's speed comes down to */
  readonly stepsPerSecond: number
  readonly actions: number
}

export interface SimulationProgress {
  readonly phase: 'loading' | 'simulating' | 'scoring'
  readonly virtualSeconds: number
  readonly durationSeconds: number
  readonly wallSeconds: number
  readonly liveNodes: number
  readonly nodeCount: number
  /** node-seconds simulated per wall second, since the start */
  readonly nodeSecondsPerSecond: number
  readonly lastPoint: TimelinePoint | undefined
}

type NodeState = 'pending' | 'running' | 'killed' | 'left'

interface SimulatedNode {
  readonly index: number
  readonly id: string
  readonly dataSpec: string
  readonly rows: NodeRows
  readonly profile: ProfileShare
  readonly store: MemoryStore
  readonly seed: number
  state: NodeState
  attack: Attack | null
  joinedAtMs: number | null
  core: NodeCore | null
  trainer: SimulatedTrainer | null
  stopping: Promise<void> | null
}

/** Rows a data part keeps at least when the dataset is cut into more parts than it can give two each. */
const MIN_ROWS_PER_SHARED_PART = 8
const TIMELINE_TEST_SAMPLES = 500
const DEFAULT_TIMELINE_NODES = 64
const TIMELINE_POINTS = 120
/** node × test-sample evaluations the final scoring may cost at most (sets the test samples used) */
const FINAL_EVALUATION_BUDGET = 5_000_000
/** above this many nodes, only the nodes online at the end are scored (the others' accuracy is null) */
const SCORE_ALL_NODES_UP_TO = 1_000
const MIN_TEST_SAMPLES = 200
const PROGRESS_INTERVAL_MS = 500
/** virtual time the nodes get to stop cleanly at the end */
const STOP_GRACE_MS = 60_000

/**
 * Runs a swarm in virtual time: N node cores (the same NodeCore a `murmur start` process runs) in
 * this process, on a simulated network with link latencies and bandwidths, trained by the fast
 * trainer, through a scenario and churn. Scores every node's final model and a centralized baseline
 * as `murmur swarm` does. Deterministic: the same options give the same summary.
 */
export async function runSimulation (options: SimulationOptions): Promise<{ summary: SimulationSummary; run: RunFigures; manifest: Manifest }> {
  const wallStart = performance.now()
  let peakRss = process.memoryUsage().rss
  if (options.privacy?.level === 'record') throw new MurmurError('ERR_INVALID_ARGUMENT', 'murmur simulate does not simulate record-level DP-SGD (--dp-epsilon, --dp-noise); node-level privacy (--dp-node-*) works')
  const { train, test } = await loadTrainTestSplit(options.dataset)
  const manifest = runManifest(options, train)
  const swarmId = swarmIdOf(manifest)
  const network = DenseNetwork.create(manifest.model, train.inputShape)
  const data = sparseRows(train)
  const testData = sparseRows(test)
  const initial = initialWeights(manifest.model, manifest.dataset.inputShape, manifest.seed)
  const gradient = new Float32Array(network.parameterCount)
  const partition = formatPartition(options.partition)

  // Data: part i of N as `murmur swarm` gives it; with more nodes than the data can split into parts
  // of two rows, parts of MIN_ROWS_PER_SHARED_PART rows, dealt round-robin.
  const parts = 2 * options.nodes <= train.count ? options.nodes : Math.max(1, Math.floor(train.count / MIN_ROWS_PER_SHARED_PART))
  const partRows = partitionIndices(train.labels, train.classes, parts, options.partition, options.seed).map((indices, part) => {
    const rows = holdOutRows(indices, 0.1, holdoutSeed(options.seed, part + 1), `part ${part + 1}/${parts} of ${options.dataset}`)
    return { train: Int32Array.from(rows.train), holdout: Int32Array.from(rows.holdout) }
  })
  const profiles = assignProfiles(options.profiles ?? [{ name: 'fast', maxCpu: 1, share: 1 }], options.nodes)
  const scenario = options.scenario
  const churn = options.availability === undefined ? null : availabilityActions(options.availability, options.nodes)
  // Scenario actions are recorded in the summary's events; churn from availability is not (thousands
  // of sessions): the summary names its source instead.
  const actions = [...(scenario?.actions ?? []).map(action => ({ action, recorded: true })), ...(churn?.actions ?? []).map(action => ({ action, recorded: false }))]
    .sort((a, b) => a.action.atMs - b.action.atMs)
  const heldBack = new Set([...scenario?.lateJoiners ?? [], ...churn?.heldBack ?? []])
  const scenarioJoiners = scenario?.lateJoiners ?? new Set<number>()

  const nodes: SimulatedNode[] = Array.from({ length: options.nodes }, (_, i) => {
    const part = i % parts
    return {
      index: i + 1,
      id: nodeId(i + 1),
      dataSpec: `${options.dataset}:${part + 1}/${parts}:${partition}`,
      rows: partRows[part] as NodeRows,
      profile: profiles[i] ?? { name: 'fast', maxCpu: 1, share: 1 },
      store: new MemoryStore(),
      seed: deriveSeed(options.seed, i + 1, 0x5eed),
      state: 'pending',
      attack: attackFromStart(scenario, i + 1),
      joinedAtMs: null,
      core: null,
      trainer: null,
      stopping: null
    }
  })
  const node = (index: number): SimulatedNode => nodes[index - 1] as SimulatedNode

  const time = new VirtualTime()
  const clock = time.clock()
  const links = new LinkModel({ latency: options.network.latency, bandwidth: options.network.bandwidth, seed: options.seed })
  const world = new SimulatedNetwork({ time, links, nodes: options.nodes, targetPeers: options.network.targetPeers, pushLoss: options.network.pushLoss ?? 0, seed: options.seed })
  const events: SwarmEvent[] = []
  const failures: Error[] = []
  /** nodes running now */
  let running = 0

  const startNode = async (target: SimulatedNode): Promise<void> => {
    // A node stopping (a leave just before a restart) finishes first: one core per node at a time.
    await target.stopping
    const flat = new FlatTrainer({ manifest, network, data, rows: target.rows, seed: deriveSeed(target.seed, 0x0de7), initial, gradient })
    const trainer = new SimulatedTrainer(flat, time, options.stepMs)
    const gate = new PeerGate(undefined, clock.now)
    const noise = createRandom(deriveSeed(target.seed, 0xd9))
    const attack = target.attack
    const transport = world.transport(target.index, gate)
    // A sybil publishes under fresh identities, as a libp2p attacker signs with fresh keys.
    const forge = async (message: Uint8Array, authors: number): Promise<number> => transport.publishAs(Array.from({ length: authors }, (_, i) => `${target.id}-sybil-${i}`), message)
    const core = new NodeCore({ transport, store: target.store, trainer, clock, gate }, {
      id: target.id,
      manifest,
      swarmId,
      seed: target.seed,
      maxCpu: target.profile.maxCpu,
      gossipPeriodMs: options.gossipPeriodMs ?? 0,
      checkpointIntervalMs: options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
      ...(options.warmJoin === false ? { warmJoin: false } : {}),
      privacyNoise: { normal: () => noise.normal() },
      ...(attack === null ? {} : { decorateExchange: attacking(attack, { forge }) })
    })
    core.addEventListener('error', event => { failures.push(event.detail) })
    target.core = core
    target.trainer = trainer
    target.state = 'running'
    running++
    await core.start()
  }
  const stopNode = (target: SimulatedNode, crash: boolean): void => {
    if (target.state !== 'running' || target.core === null) return
    if (crash) target.store.sever()
    target.trainer?.stopTraining()
    const core = target.core
    target.state = crash ? 'killed' : 'left'
    running--
    target.stopping = core.stop().catch((error: unknown) => { failures.push(error instanceof Error ? error : new Error(String(error))) })
    target.core = null
    target.trainer = null
  }
  const record = (event: Omit<SwarmEvent, 't'>): void => {
    const full = { t: round(time.now() / 1000), ...event }
    events.push(full)
    options.onEvent?.(full)
  }
  const launch = (target: SimulatedNode): void => {
    startNode(target).catch((error: unknown) => { failures.push(error instanceof Error ? error : new Error(String(error))) })
  }
  const perform = (action: ScenarioAction, recorded: boolean): void => {
    switch (action.kind) {
      case 'kill':
      case 'leave':
        for (const index of action.nodes) stopNode(node(index), action.kind === 'kill')
        break
      case 'restart':
      case 'join':
        for (const index of action.nodes) {
          const target = node(index)
          if (target.state === 'running') continue
          if (action.kind === 'join' && scenarioJoiners.has(index) && target.joinedAtMs === null) target.joinedAtMs = time.now()
          launch(target)
        }
        break
      case 'partition':
        world.partition(action.groups)
        if (recorded) record({ kind: 'partition', groups: action.groups.map(group => [...group]) })
        return
      case 'heal':
        world.heal()
        break
      case 'attack':
        for (const index of action.nodes) {
          const target = node(index)
          const wasRunning = target.state === 'running'
          target.attack = action.attack
          if (!wasRunning || action.atMs === 0) continue
          stopNode(target, false)
          launch(target)
        }
        break
    }
    if (recorded) record(action.kind === 'heal' ? { kind: 'heal' } : { kind: action.kind, nodes: [...action.nodes] })
  }

  // The timeline scores a fixed sample of nodes (and every scenario late joiner, for lateJoins) on
  // the first test samples.
  const timelineCount = Math.min(options.nodes, options.timelineNodes ?? DEFAULT_TIMELINE_NODES)
  const sampled = createRandom(deriveSeed(options.seed, 0x7173)).shuffle(nodes.map(n => n.index)).slice(0, timelineCount)
  const timelineIndices = [...new Set([...sampled, ...scenarioJoiners])].sort((a, b) => a - b)
  const timelineRows = firstRows(Math.min(TIMELINE_TEST_SAMPLES, test.count))
  const scratch = new Float32Array(network.parameterCount)
  const timeline: TimelinePoint[] = []
  const sampleTimeline = async (): Promise<void> => {
    const scored: Array<{ index: number; weights: Weights; accuracy: number }> = []
    for (const index of timelineIndices) {
      const target = node(index)
      if (target.core === null || target.attack !== null) continue
      const { weights } = await target.core.getModel()
      scored.push({ index, weights, accuracy: network.accuracy(network.flatten(weights, scratch), testData, timelineRows) })
    }
    const stats = summarise(scored.map(s => s.accuracy))
    timeline.push({
      t: round(time.now() / 1000),
      meanAccuracy: scored.length > 0 ? stats.mean : null,
      minAccuracy: scored.length > 0 ? stats.min : null,
      consensusDistance: consensusDistance(scored.map(s => s.weights)),
      liveNodes: nodes.reduce((count, n) => count + (n.state === 'running' && n.attack === null ? 1 : 0), 0),
      nodeAccuracy: Object.fromEntries(scored.map(s => [String(s.index), s.accuracy]))
    })
  }

  const durationSeconds = options.durationMs / 1000
  let lastProgress = performance.now()
  let nodeSeconds = 0
  let lastVirtual = 0
  let rate = 0
  const progress = (phase: SimulationProgress['phase']): void => {
    options.onProgress?.({
      phase,
      virtualSeconds: time.now() / 1000,
      durationSeconds,
      wallSeconds: (performance.now() - wallStart) / 1000,
      liveNodes: running,
      nodeCount: options.nodes,
      nodeSecondsPerSecond: rate,
      lastPoint: timeline[timeline.length - 1]
    })
  }

  progress('loading')
  for (const target of nodes) if (!heldBack.has(target.index)) launch(target)
  await settle()
  for (const { action, recorded } of actions) if (action.atMs < options.durationMs) time.scheduleAt(action.atMs, () => { perform(action, recorded) })
  const interval = options.timelineIntervalMs ?? Math.max(5_000, options.durationMs / TIMELINE_POINTS)
  for (let t = 0; t < options.durationMs; t += interval) {
    time.scheduleAt(t, () => { sampleTimeline().catch((error: unknown) => { failures.push(error instanceof Error ? error : new Error(String(error))) }) })
  }
  await time.runUntil(options.durationMs, {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    onAdvance: now => {
      if (failures.length > 0) throw failures[0] as Error
      nodeSeconds += running * (now - lastVirtual) / 1000
      lastVirtual = now
      const wall = performance.now()
      if (wall - lastProgress >= PROGRESS_INTERVAL_MS) {
        // Averaged since the start: virtual time advances in bursts, a window of half a second is noise.
        rate = nodeSeconds / ((wall - wallStart) / 1000)
        lastProgress = wall
        peakRss = Math.max(peakRss, process.memoryUsage().rss)
        progress('simulating')
      }
    }
  })
  if (failures.length > 0) throw failures[0] as Error
  progress('scoring')

  // The end: every running node stops cleanly (final checkpoint), as `murmur swarm` stops its nodes.
  const aliveAtEnd = new Set(nodes.filter(n => n.state === 'running').map(n => n.index))
  const epsilonSeen = new Map<number, number>()
  const fanoutSeen = new Map<number, number>()
  for (const target of nodes) {
    const status = target.core?.status()
    if (status?.privacy !== undefined) epsilonSeen.set(target.index, status.privacy.epsilon)
    if (status?.exchange.mode === 'push') fanoutSeen.set(target.index, status.exchange.fanout)
    stopNode(target, false)
  }
  // Stopping may wait on virtual time (a round finishing): time runs on until every node has stopped.
  let stopped = false
  const stops = Promise.all(nodes.map(async n => n.stopping)).then(() => { stopped = true })
  await time.runUntil(options.durationMs + STOP_GRACE_MS, { until: () => stopped })
  if (!stopped) throw new MurmurError('ERR_SWARM', `simulated nodes did not stop within ${STOP_GRACE_MS / 1000} virtual seconds`)
  await stops
  if (failures.length > 0) throw failures[0] as Error
  peakRss = Math.max(peakRss, process.memoryUsage().rss)

  const testSamples = Math.min(test.count, Math.max(MIN_TEST_SAMPLES, Math.floor(FINAL_EVALUATION_BUDGET / options.nodes)))
  const testRows = firstRows(testSamples)
  const expectations = { swarmId, shapes: network.shapes }
  const nodeSummaries: NodeSummary[] = []
  const countedModels: Weights[] = []
  for (const target of nodes) {
    const state: Checkpoint | null = target.store.checkpoint
    const verdict = state === null ? null : validateUpdate(state.model, expectations)
    const weights = verdict?.ok === true ? verdict.value.weights : null
    const alive = aliveAtEnd.has(target.index)
    const summary: NodeSummary = {
      index: target.index,
      peerId: target.id,
      role: target.attack === null ? 'honest' : 'attacker',
      alive,
      dataSpec: target.dataSpec,
      profile: target.profile.name,
      maxCpu: target.profile.maxCpu,
      accuracy: weights === null || (!alive && options.nodes > SCORE_ALL_NODES_UP_TO) ? null : network.accuracy(network.flatten(weights, scratch), testData, testRows),
      ...checkpointFigures(state),
      peakRssBytes: null,
      privacyEpsilon: epsilonSeen.get(target.index) ?? null,
      epsilon: manifest.privacy === undefined ? null : epsilonSeen.get(target.index) ?? null,
      eventLoopLagP99Ms: null,
      fanout: fanoutSeen.get(target.index) ?? null
    }
    nodeSummaries.push(summary)
    if (alive && summary.role === 'honest' && weights !== null) countedModels.push(weights)
  }
  const counted = nodeSummaries.filter(n => n.alive && n.role === 'honest')
  const { scores, consensus, point, meanSamples } = finalScoring(counted, countedModels, durationSeconds)
  timeline.push(point)
  const centralized = centralizedBaseline(manifest, network, data, partRows, testData, testRows, meanSamples)
  const traffic = trafficFigures(nodeSummaries)
  const summary: SimulationSummary = {
    ...summaryHeader(manifest, { partition: options.partition, scenario: scenario?.name ?? null, nodeCount: options.nodes }),
    durationSeconds: round(durationSeconds),
    backend: 'simulated',
    centralized,
    accuracy: scores,
    consensusDistance: consensus ?? 0,
    bytesSentPerNode: traffic.bytesSentPerNode,
    ...privacyFigures(manifest, nodeSummaries),
    bytesPerExchange: traffic.bytesPerExchange,
    nodes: nodeSummaries,
    timeline,
    events,
    lateJoins: lateJoins(nodes, timeline),
    simulation: {
      seed: options.seed,
      stepMs: options.stepMs,
      gossipPeriodMs: options.gossipPeriodMs ?? 0,
      checkpointIntervalMs: options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
      latency: formatDistribution(options.network.latency, formatMilliseconds),
      bandwidth: formatDistribution(options.network.bandwidth, formatBitsPerSecond),
      targetPeers: options.network.targetPeers,
      pushLoss: options.network.pushLoss ?? 0,
      availability: options.availability?.source ?? null,
      testSamples,
      timelineNodes: timelineIndices.length,
      dataParts: parts,
      actions: time.actionsRun
    }
  }
  const wallSeconds = (performance.now() - wallStart) / 1000
  return {
    summary,
    manifest,
    run: {
      wallSeconds: round(wallSeconds, 2),
      peakRssBytes: peakRss,
      speedup: round(durationSeconds / wallSeconds, 2),
      nodeSecondsPerSecond: round(nodeSeconds / wallSeconds, 1),
      stepsPerSecond: round(nodeSummaries.reduce((total, n) => total + n.step, 0) / wallSeconds, 1),
      actions: time.actionsRun
    }
  }
}

function firstRows (count: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => i)
}

/**
 * The same model trained by the same fast trainer on the pooled training rows of every data part,
 * for as many samples as a counted node processed on average (as `murmur swarm`'s baseline: plain
 * local steps, the manifest's optimizer, the initial weights).
 */
function centralizedBaseline (manifest: Manifest, network: DenseNetwork, data: SparseRows, parts: readonly NodeRows[], testData: SparseRows, testRows: Int32Array, samples: number): { accuracy: number; samplesProcessed: number } {
  const pooled = Int32Array.from(parts.flatMap(part => Array.from(part.train)))
  const plain: Manifest = { ...manifest, training: { ...manifest.training, algorithm: 'dsgd' } }
  const trainer = new FlatTrainer({
    manifest: plain,
    network,
    data,
    rows: { train: pooled, holdout: new Int32Array(0) },
    seed: manifest.seed,
    initial: initialWeights(manifest.model, manifest.dataset.inputShape, manifest.seed),
    gradient: new Float32Array(network.parameterCount)
  })
  const steps = Math.max(1, Math.round(samples / manifest.training.batchSize))
  trainer.train(steps)
  return { accuracy: network.accuracy(trainer.parameters, testData, testRows), samplesProcessed: steps * manifest.training.batchSize }
}
