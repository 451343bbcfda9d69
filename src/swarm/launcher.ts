import { checkpointFigures, finalScoring, lateJoins, privacyFigures, round, runManifest, summarise, summaryHeader, trafficFigures, type RunManifestOptions } from './run-figures.js'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { concatenate, subset, type Dataset } from '../data/dataset.js'
import { createRandom } from '../data/random.js'
import { formatPartition, type Partition } from '../data/partition.js'
import { loadNodeData, loadTrainTestSplit, parseDataSpec } from '../data/spec.js'
import { MurmurError } from '../errors.js'
import type { BackendName } from '../learning/backend-names.js'
import { LocalTrainer } from '../learning/local-trainer.js'
import { swarmIdOf, type Manifest } from '../learning/manifest.js'
import { weightShapes } from '../learning/models.js'
import { epsilonFromRdp } from '../learning/privacy.js'
import { consensusDistance, type Weights } from '../learning/weights.js'
import type { NodeStatus } from '../node/status.js'
import { NodeStore, type Checkpoint } from '../node/store.js'
import { validateUpdate, type UpdateExpectations } from '../core/update-codec.js'
import { peerIdOf } from '../p2p/identity.js'
import { NodeProcess } from './node-process.js'
import { checkRecordPrivacyBudgets } from './privacy-preflight.js'
import { assignProfiles, type ProfileShare } from './profiles.js'
import { writeReport } from './report.js'
import type { Scenario, ScenarioAction } from './scenario.js'
import type { Attack } from '../attacks/attack.js'
import type { NodeSummary, SwarmEvent, SwarmSummary, TimelinePoint } from './summary.js'

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

/**
 * A free port below the system's ephemeral range (32768 and up on Linux): the nodes' own outgoing
 * connections take ephemeral ports, and would otherwise grab a port reserved for a node not yet listening.
 */
async function freePort (taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (taken.has(port)) continue
    const server = createServer()
    const free = await new Promise<boolean>(resolve => {
      server.once('error', () => { resolve(false) })
      server.listen(port, '127.0.0.1', () => { resolve(true) })
    })
    if (free) await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    if (free) {
      taken.add(port)
      return port
    }
  }
  throw new MurmurError('ERR_SWARM', 'could not find a free port on 127.0.0.1 between 20000 and 32000')
}

export function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal?.aborted === true) { resolve(); return }
    const timer = setTimeout(resolve, Math.max(0, ms))
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}

/** Scores models on one test split, in the launcher's own process. */
export class Evaluator {
  private constructor (private readonly trainer: LocalTrainer, private readonly test: Dataset, private readonly expectations: UpdateExpectations) {}

  static async create (manifest: Manifest, test: Dataset, backend?: BackendName): Promise<Evaluator> {
    const trainer = await LocalTrainer.create(manifest, { train: test, test }, backend === undefined ? {} : { backend })
    return new Evaluator(trainer, test, {
      swarmId: swarmIdOf(manifest),
      shapes: weightShapes(manifest.model, manifest.dataset.inputShape).map(w => w.shape)
    })
  }

  decode (bytes: Uint8Array | null): Weights | null {
    if (bytes === null) return null
    const verdict = validateUpdate(bytes, this.expectations)
    return verdict.ok ? verdict.value.weights : null
  }

  async accuracy (weights: Weights, dataset: Dataset = this.test): Promise<number> {
    await this.trainer.setWeights(weights)
    return this.trainer.accuracy(dataset)
  }

  close (): Promise<void> {
    return this.trainer.close()
  }
}

type NodeState = 'pending' | 'running' | 'killed' | 'left'

/** One node of a local swarm: its fixed identity, address and data, and the process running it now. */
interface SwarmNode {
  readonly index: number
  readonly dataSpec: string
  readonly datadir: string
  readonly port: number
  readonly peerId: string
  readonly address: string
  readonly profile: ProfileShare
  process: NodeProcess | null
  state: NodeState
  attack: Attack | null
  joinedAtMs: number | null
}

/**
 * Runs a local swarm: N `murmur start` processes on 127.0.0.1, each bootstrapping from the others, for
 * a fixed time, while a scenario kills, restarts, adds and partitions nodes; then scores every node's
 * final model and a centralized baseline on the test split.
 */
export async function runSwarm (options: SwarmOptions): Promise<SwarmSummary> {
  const started = Date.now()
  const workdir = resolve(options.out ?? await mkdtemp(join(tmpdir(), 'murmur-swarm-')))
  await mkdir(workdir, { recursive: true })
  const { train, test } = await loadTrainTestSplit(options.dataset)
  const manifest = runManifest(options, train)
  const partition = formatPartition(options.partition)
  const dataSpecOf = (i: number): string => `${options.dataset}:${i + 1}/${options.nodes}:${partition}`
  await checkRecordPrivacyBudgets(manifest, Array.from({ length: options.nodes }, (_, i) => dataSpecOf(i)))
  const manifestFile = join(workdir, 'manifest.json')
  await writeFile(manifestFile, JSON.stringify(manifest, null, 2) + '\n')
  const profiles = assignProfiles(options.profiles ?? [{ name: 'fast', maxCpu: 1, share: 1 }], options.nodes)
  const scenario = options.scenario

  const takenPorts = new Set<number>()
  // Identities and ports are fixed first, so every node can start at once with the others as bootstrap peers.
  const nodes: SwarmNode[] = await Promise.all(Array.from({ length: options.nodes }, async (_, i) => {
    const datadir = join(workdir, `node-${i + 1}`)
    const store = await NodeStore.open(datadir)
    const { identity } = await store.identity()
    await store.close()
    const port = await freePort(takenPorts)
    const peerId = peerIdOf(identity)
    return {
      index: i + 1,
      dataSpec: dataSpecOf(i),
      datadir,
      port,
      peerId,
      address: `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`,
      profile: profiles[i] ?? { name: 'fast', maxCpu: 1, share: 1 },
      process: null,
      state: 'pending' as NodeState,
      attack: attackFromStart(scenario, i + 1),
      joinedAtMs: null
    }
  }))
  const node = (index: number): SwarmNode => nodes[index - 1] as SwarmNode
  const live = (): SwarmNode[] => nodes.filter(n => n.state === 'running' && n.process !== null)
  let blocked = new Map<number, string[]>()
  const events: SwarmEvent[] = []
  let trainingStarted = Date.now()

  const applyBlocked = async (target: SwarmNode): Promise<void> => {
    await target.process?.setBlockedPeers(blocked.get(target.index) ?? [])
  }
  const startNode = async (target: SwarmNode): Promise<void> => {
    target.process = await NodeProcess.start({
      index: target.index,
      manifestFile,
      dataSpec: target.dataSpec,
      datadir: target.datadir,
      listen: `/ip4/127.0.0.1/tcp/${target.port}`,
      bootstrap: bootstrapPeers(nodes, target, options.seed).map(other => other.address),
      ...(options.backend === undefined ? {} : { backend: options.backend }),
      ...(target.profile.maxCpu < 1 ? { maxCpu: target.profile.maxCpu } : {}),
      ...(options.warmJoin === false ? { warmJoin: false } : {}),
      extraArgs: [
        ...(options.swarmKeyFile === undefined ? [] : ['--swarm-key', resolve(options.swarmKeyFile)]),
        ...(target.attack === null ? [] : ['--attack', target.attack])
      ],
      log: line => { options.onNodeLog?.(target.index, line) }
    }, options.signal)
    target.state = 'running'
    if (blocked.size > 0) await applyBlocked(target)
  }
  const record = (event: Omit<SwarmEvent, 't'>): void => {
    const full = { t: round((Date.now() - trainingStarted) / 1000), ...event }
    events.push(full)
    options.onEvent?.(full)
  }
  const perform = async (action: ScenarioAction): Promise<void> => {
    switch (action.kind) {
      case 'kill':
        await Promise.all(action.nodes.map(async index => {
          const target = node(index)
          if (target.state !== 'running') return
          target.state = 'killed'
          await target.process?.kill()
        }))
        record({ kind: 'kill', nodes: [...action.nodes] })
        return
      case 'leave':
        await Promise.all(action.nodes.map(async index => {
          const target = node(index)
          if (target.state !== 'running') return
          target.state = 'left'
          await target.process?.stop()
        }))
        record({ kind: 'leave', nodes: [...action.nodes] })
        return
      case 'restart':
      case 'join':
        await Promise.all(action.nodes.map(async index => {
          const target = node(index)
          if (target.state === 'running') return
          await startNode(target)
          if (action.kind === 'join') target.joinedAtMs = Date.now() - trainingStarted
        }))
        record({ kind: action.kind, nodes: [...action.nodes] })
        return
      case 'partition': {
        const groupOf = new Map(action.groups.flatMap((group, g) => group.map(index => [index, g] as const)))
        blocked = new Map(nodes.map(target => [target.index, nodes
          .filter(other => other !== target && groupOf.get(other.index) !== groupOf.get(target.index))
          .map(other => other.peerId)]))
        await Promise.all(live().map(applyBlocked))
        record({ kind: 'partition', groups: action.groups.map(group => [...group]) })
        return
      }
      case 'attack':
        await Promise.all(action.nodes.map(async index => {
          const target = node(index)
          const wasRunning = target.state === 'running'
          target.attack = action.attack
          if (!wasRunning || action.atMs === 0) return
          await target.process?.stop()
          await startNode(target)
        }))
        record({ kind: 'attack', nodes: [...action.nodes] })
        return
      case 'heal':
        blocked = new Map()
        await Promise.all(live().map(async target => target.process?.setBlockedPeers([])))
        record({ kind: 'heal' })
    }
  }

  const progress = (phase: SwarmProgress['phase'], statuses: Map<number, NodeStatus | null>, timeline: TimelinePoint[], elapsedMs: number): void => {
    options.onProgress?.({
      phase,
      elapsedSeconds: elapsedMs / 1000,
      durationSeconds: options.durationMs / 1000,
      nodes: nodes.map(n => ({ index: n.index, status: statuses.get(n.index) ?? null })),
      timeline
    })
  }
  progress('starting', new Map(), [], 0)
  let evaluator: Evaluator | undefined
  const scenarioAbort = new AbortController()
  let scenarioRun: Promise<void> = Promise.resolve()
  try {
    const initial = nodes.filter(n => !(scenario?.lateJoiners.has(n.index) ?? false))
    const startResults = await Promise.allSettled(initial.map(startNode))
    const failed = startResults.find(result => result.status === 'rejected')
    if (failed !== undefined) throw failed.reason

    evaluator = await Evaluator.create(manifest, test, options.backend)
    const scorer = evaluator
    trainingStarted = Date.now()
    const deadline = trainingStarted + options.durationMs
    scenarioRun = (async () => {
      for (const action of scenario?.actions ?? []) {
        await sleep(trainingStarted + action.atMs - Date.now(), scenarioAbort.signal)
        if (scenarioAbort.signal.aborted || Date.now() >= deadline) return
        await perform(action)
      }
    })()
    const timeline: TimelinePoint[] = []
    const timelineInterval = options.timelineIntervalMs ?? 5_000
    // The timeline scores on part of the test split: it runs while the nodes train and must stay cheap.
    const timelineTest = subset(test, Array.from({ length: Math.min(TIMELINE_TEST_SAMPLES, test.count) }, (_, i) => i))
    let nextSample = 0
    const peakRss = new Map<number, number>()
    const epsilonSpent = new Map<number, number>()
    const lagP99 = new Map<number, number>()
    while (!(options.signal?.aborted ?? false) && Date.now() < deadline) {
      const running = live()
      const statuses = new Map(await Promise.all(running.map(async n => [n.index, await n.process?.status() ?? null] as const)))
      for (const [index, status] of statuses) {
        if (status !== null) peakRss.set(index, Math.max(peakRss.get(index) ?? 0, status.memory.rssBytes))
        if (status?.privacy !== undefined) epsilonSpent.set(index, status.privacy.epsilon)
        if (status !== null) lagP99.set(index, status.eventLoop.lagP99Ms)
      }
      const elapsed = Date.now() - trainingStarted
      if (elapsed >= nextSample) {
        timeline.push(await sampleTimeline(running.filter(n => n.attack === null), scorer, timelineTest, elapsed / 1000))
        nextSample += timelineInterval
      }
      progress('training', statuses, timeline, Date.now() - trainingStarted)
      await sleep(Math.max(0, Math.min(1_000, deadline - Date.now())), options.signal)
    }
    scenarioAbort.abort()
    await scenarioRun
    const trainingSeconds = (Date.now() - trainingStarted) / 1000
    progress('stopping', new Map(), timeline, Date.now() - trainingStarted)
    const aliveAtEnd = new Set(live().map(n => n.index))
    await Promise.all(live().map(async n => n.process?.stop()))

    const finals = await Promise.all(nodes.map(async n => n.state === 'pending' ? null : readFinalState(n.datadir)))
    const weights = finals.map(state => scorer.decode(state?.model ?? null))
    const nodeSummaries: NodeSummary[] = []
    for (const [i, n] of nodes.entries()) {
      const state = finals[i] ?? null
      const model = weights[i] ?? null
      nodeSummaries.push({
        index: n.index,
        peerId: n.peerId,
        role: n.attack === null ? 'honest' : 'attacker',
        alive: aliveAtEnd.has(n.index),
        dataSpec: n.dataSpec,
        profile: n.profile.name,
        maxCpu: n.profile.maxCpu,
        accuracy: model === null ? null : await scorer.accuracy(model),
        ...checkpointFigures(state),
        peakRssBytes: peakRss.get(n.index) ?? null,
        privacyEpsilon: epsilonSpent.get(n.index) ?? null,
        epsilon: finalEpsilon(manifest, state, epsilonSpent.get(n.index)),
        eventLoopLagP99Ms: lagP99.get(n.index) ?? null
      })
    }
    // Accuracy is over the honest nodes alive at the end; consensus over their models.
    const counted = nodeSummaries.filter(n => n.alive && n.role === 'honest')
    const countedModels = nodes.map((n, i) => counted.some(c => c.index === n.index) ? weights[i] ?? null : null).filter((w): w is Weights => w !== null)
    const { scores: finalScores, consensus, point, meanSamples } = finalScoring(counted, countedModels, trainingSeconds)
    timeline.push(point)
    progress('baseline', new Map(), timeline, Date.now() - trainingStarted)
    const centralized = await centralizedBaseline(manifest, nodes.map(n => n.dataSpec), test, meanSamples, options.backend)
    const traffic = trafficFigures(nodeSummaries)
    const summary: SwarmSummary = {
      ...summaryHeader(manifest, { partition: options.partition, scenario: scenario?.name ?? null, nodeCount: options.nodes }),
      durationSeconds: round(trainingSeconds),
      wallSeconds: round((Date.now() - started) / 1000),
      backend: nodes.find(n => n.process?.ready != null)?.process?.ready?.backend ?? 'unknown',
      centralized,
      accuracy: finalScores,
      consensusDistance: consensus ?? 0,
      bytesSentPerNode: traffic.bytesSentPerNode,
      peakRssBytesPerNode: Math.max(0, ...nodeSummaries.map(n => n.peakRssBytes ?? 0)),
      ...privacyFigures(manifest, nodeSummaries),
      bytesPerExchange: traffic.bytesPerExchange,
      nodes: nodeSummaries,
      timeline,
      events,
      lateJoins: lateJoins(nodes, timeline)
    }
    if (options.out !== undefined) {
      await writeFile(join(workdir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')
      await writeReport(summary, join(workdir, 'report.html'))
    }
    return summary
  } finally {
    scenarioAbort.abort()
    await scenarioRun.catch(() => {})
    await Promise.all(nodes.map(async n => n.process?.stop()))
    await evaluator?.close()
  }
}

/** The attack a node runs from the start of the swarm, if the scenario makes it an attacker at 0 s. */
function attackFromStart (scenario: Scenario | undefined, index: number): Attack | null {
  for (const action of scenario?.actions ?? []) {
    if (action.kind === 'attack' && action.atMs === 0 && action.nodes.includes(index)) return action.attack
  }
  return null
}

/** Up to this many bootstrap peers per node: connections per node must not grow with the swarm. */
const BOOTSTRAP_PEERS = 8

/** Every other node in a small swarm; a fixed random sample of them in a large one. */
function bootstrapPeers (nodes: readonly SwarmNode[], target: SwarmNode, seed: number): SwarmNode[] {
  const others = nodes.filter(other => other !== target)
  if (others.length <= BOOTSTRAP_PEERS) return others
  return createRandom((seed ^ Math.imul(target.index, 0x9e3779b1)) >>> 0).shuffle([...others]).slice(0, BOOTSTRAP_PEERS)
}

/**
 * A node's spent ε at the manifest's δ: from the privacy ledger of its final checkpoint (record-level
 * DP), else as it last reported it; null without differential privacy.
 */
function finalEpsilon (manifest: Manifest, state: Checkpoint | null, lastSeen: number | undefined): number | null {
  if (manifest.privacy === undefined) return null
  if (state?.privacy !== undefined) return epsilonFromRdp(state.privacy.orders, state.privacy.rdp, manifest.privacy.delta).epsilon
  return lastSeen ?? null
}

export { checkpointFigures, finalScoring, round, summarise }

export async function readFinalState (datadir: string): Promise<Checkpoint | null> {
  const store = await NodeStore.open(datadir)
  try {
    return (await store.readCheckpoint()).checkpoint
  } finally {
    await store.close()
  }
}

export async function sampleTimeline (running: ReadonlyArray<{ readonly index: number; readonly process: { model: () => Promise<Uint8Array | null> } | null }>, evaluator: Evaluator, test: Dataset, t: number): Promise<TimelinePoint> {
  const models = await Promise.all(running.map(async n => ({ index: n.index, weights: evaluator.decode(await n.process?.model() ?? null) })))
  const answered = models.filter((m): m is { index: number; weights: Weights } => m.weights !== null)
  const nodeAccuracy: Record<string, number | null> = {}
  for (const model of answered) nodeAccuracy[String(model.index)] = await evaluator.accuracy(model.weights, test)
  const accuracies = Object.values(nodeAccuracy).filter((a): a is number => a !== null)
  const stats = summarise(accuracies)
  return {
    t: round(t),
    meanAccuracy: answered.length > 0 ? stats.mean : null,
    minAccuracy: answered.length > 0 ? stats.min : null,
    consensusDistance: consensusDistance(answered.map(m => m.weights)),
    liveNodes: answered.length,
    nodeAccuracy
  }
}

/** The same model trained on the pooled data of all nodes for as many samples as a node processed on average. */
export async function centralizedBaseline (manifest: Manifest, dataSpecs: readonly string[], test: Dataset, samples: number, backend?: BackendName): Promise<{ accuracy: number; samplesProcessed: number }> {
  const parts = await Promise.all(dataSpecs.map(async spec => loadNodeData(parseDataSpec(spec), { seed: manifest.seed })))
  const trainer = await LocalTrainer.create(manifest, { train: concatenate(parts.map(part => part.train)), test }, backend === undefined ? {} : { backend })
  try {
    const steps = Math.max(1, Math.round(samples / manifest.training.batchSize))
    for (let done = 0; done < steps; done += 100) await trainer.train(Math.min(100, steps - done))
    return { accuracy: trainer.accuracy(test), samplesProcessed: steps * manifest.training.batchSize }
  } finally {
    await trainer.close()
  }
}
