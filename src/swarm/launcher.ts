import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { concatenate, subset, type Dataset } from '../data/dataset.js'
import { formatPartition, type Partition } from '../data/partition.js'
import { loadNodeData, loadTrainTestSplit, parseDataSpec, type BuiltinDataset } from '../data/spec.js'
import { MurmurError } from '../errors.js'
import type { BackendName } from '../learning/backend.js'
import { LocalTrainer } from '../learning/local-trainer.js'
import { createManifest, swarmIdOf, type Manifest, type TrainingSettings } from '../learning/manifest.js'
import { weightShapes } from '../learning/models.js'
import type { WeightCodec } from '../learning/weight-codec.js'
import { consensusDistance, type Weights } from '../learning/weights.js'
import type { NodeStatus } from '../node/status.js'
import { NodeStore } from '../node/store.js'
import { peerIdOf } from '../p2p/identity.js'
import { validateUpdate, type UpdateExpectations } from '../node/update-codec.js'
import { NodeProcess } from './node-process.js'
import { assignProfiles, type ProfileShare } from './profiles.js'
import type { NodeSummary, SwarmSummary, TimelinePoint } from './summary.js'

export interface SwarmOptions {
  readonly nodes: number
  readonly dataset: BuiltinDataset
  readonly model: string
  readonly partition: Partition
  readonly durationMs: number
  readonly seed: number
  /** where summary.json, the manifest and the nodes' state go; a temporary folder if not set */
  readonly out?: string
  readonly backend?: BackendName
  /** mix of device profiles; every node is 'fast' (no CPU limit) if not set */
  readonly profiles?: readonly ProfileShare[]
  readonly training?: Partial<TrainingSettings>
  /** seconds between two points of the timeline */
  readonly timelineIntervalMs?: number
  readonly onProgress?: (progress: SwarmProgress) => void
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

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  const address = server.address()
  await new Promise<void>(resolve => { server.close(() => { resolve() }) })
  if (address === null || typeof address === 'string') throw new MurmurError('ERR_SWARM', 'could not find a free port on 127.0.0.1')
  return address.port
}

function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}

/** Scores models on one test split, in the launcher's own process. */
class Evaluator {
  private constructor (private readonly trainer: LocalTrainer, private readonly test: Dataset, private readonly expectations: UpdateExpectations) {}

  static async create (manifest: Manifest, test: Dataset, backend?: BackendName): Promise<Evaluator> {
    const trainer = await LocalTrainer.create(manifest, { train: test, test }, backend === undefined ? {} : { backend })
    return new Evaluator(trainer, test, {
      swarmId: swarmIdOf(manifest),
      shapes: weightShapes(manifest.model, manifest.dataset.inputShape).map(w => w.shape),
      codec: manifest.codec as WeightCodec
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

function summarise (values: number[]): { mean: number; min: number; max: number } {
  if (values.length === 0) return { mean: 0, min: 0, max: 0 }
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, min: Math.min(...values), max: Math.max(...values) }
}

/**
 * Runs a local swarm: N `murmur start` processes on 127.0.0.1, each bootstrapping from the others, for
 * a fixed time; then scores every node's final model and a centralized baseline on the test split.
 */
export async function runSwarm (options: SwarmOptions): Promise<SwarmSummary> {
  const started = Date.now()
  const workdir = resolve(options.out ?? await mkdtemp(join(tmpdir(), 'murmur-swarm-')))
  await mkdir(workdir, { recursive: true })
  const { train, test } = await loadTrainTestSplit(options.dataset)
  const manifest = createManifest({
    model: options.model,
    dataset: { name: options.dataset, inputShape: train.inputShape, classes: train.classes },
    seed: options.seed,
    ...(options.training === undefined ? {} : { training: options.training })
  })
  const manifestFile = join(workdir, 'manifest.json')
  await writeFile(manifestFile, JSON.stringify(manifest, null, 2) + '\n')
  const partition = formatPartition(options.partition)
  const profiles = assignProfiles(options.profiles ?? [{ name: 'fast', maxCpu: 1, share: 1 }], options.nodes)
  const dataSpecs = Array.from({ length: options.nodes }, (_, i) => `${options.dataset}:${i + 1}/${options.nodes}:${partition}`)

  // Identities and ports are fixed first, so every node can start at once with the others as bootstrap peers.
  const nodes = await Promise.all(dataSpecs.map(async (dataSpec, i) => {
    const datadir = join(workdir, `node-${i + 1}`)
    const store = await NodeStore.open(datadir)
    const { identity } = await store.identity()
    await store.close()
    const port = await freePort()
    const profile = profiles[i] ?? { name: 'fast', maxCpu: 1, share: 1 }
    return { index: i + 1, dataSpec, datadir, port, profile, address: `/ip4/127.0.0.1/tcp/${port}/p2p/${peerIdOf(identity)}` }
  }))
  const progress = (phase: SwarmProgress['phase'], statuses: Array<NodeStatus | null>, timeline: TimelinePoint[], elapsedMs: number): void => {
    options.onProgress?.({
      phase,
      elapsedSeconds: elapsedMs / 1000,
      durationSeconds: options.durationMs / 1000,
      nodes: nodes.map((node, i) => ({ index: node.index, status: statuses[i] ?? null })),
      timeline
    })
  }
  progress('starting', [], [], 0)
  const processes: NodeProcess[] = []
  let evaluator: Evaluator | undefined
  try {
    const startResults = await Promise.allSettled(nodes.map(async node => NodeProcess.start({
      index: node.index,
      manifestFile,
      dataSpec: node.dataSpec,
      datadir: node.datadir,
      listen: `/ip4/127.0.0.1/tcp/${node.port}`,
      bootstrap: nodes.filter(other => other !== node).map(other => other.address),
      ...(options.backend === undefined ? {} : { backend: options.backend }),
      ...(node.profile.maxCpu < 1 ? { maxCpu: node.profile.maxCpu } : {}),
      log: line => { options.onNodeLog?.(node.index, line) }
    }, options.signal)))
    for (const result of startResults) if (result.status === 'fulfilled') processes.push(result.value)
    const failed = startResults.find(result => result.status === 'rejected')
    if (failed !== undefined) throw failed.reason

    evaluator = await Evaluator.create(manifest, test, options.backend)
    const trainingStarted = Date.now()
    const deadline = trainingStarted + options.durationMs
    const timeline: TimelinePoint[] = []
    const timelineInterval = options.timelineIntervalMs ?? 5_000
    // The timeline scores on part of the test split: it runs while the nodes train and must stay cheap.
    const timelineTest = subset(test, Array.from({ length: Math.min(TIMELINE_TEST_SAMPLES, test.count) }, (_, i) => i))
    let nextSample = 0
    while (!(options.signal?.aborted ?? false) && Date.now() < deadline) {
      const statuses = await Promise.all(processes.map(async node => node.status()))
      const elapsed = Date.now() - trainingStarted
      if (elapsed >= nextSample) {
        timeline.push(await sampleTimeline(processes, evaluator, timelineTest, elapsed / 1000))
        nextSample += timelineInterval
      }
      progress('training', statuses, timeline, Date.now() - trainingStarted)
      await sleep(Math.max(0, Math.min(1_000, deadline - Date.now())), options.signal)
    }
    const trainingSeconds = (Date.now() - trainingStarted) / 1000
    progress('stopping', [], timeline, Date.now() - trainingStarted)
    await Promise.all(processes.map(async node => node.stop()))

    const finals = await Promise.all(nodes.map(async node => readFinalState(node.datadir)))
    const weights = finals.map(state => evaluator?.decode(state?.model ?? null) ?? null)
    const nodeSummaries: NodeSummary[] = []
    for (const [i, node] of nodes.entries()) {
      const state = finals[i]
      const model = weights[i]
      nodeSummaries.push({
        index: node.index,
        peerId: processes[i]?.ready?.peerId ?? '',
        role: 'honest',
        dataSpec: node.dataSpec,
        profile: node.profile.name,
        maxCpu: node.profile.maxCpu,
        accuracy: model === null || model === undefined ? null : await evaluator.accuracy(model),
        samplesProcessed: state?.samplesProcessed ?? 0,
        step: state?.step ?? 0,
        exchanges: state?.counters.exchanges ?? 0,
        updatesReceived: state?.counters.updatesReceived ?? 0,
        updatesAccepted: state?.counters.updatesAccepted ?? 0,
        updatesRejected: state?.counters.updatesRejected ?? 0,
        bytesSent: state?.counters.bytesSent ?? 0,
        bytesReceived: state?.counters.bytesReceived ?? 0,
        restarts: state?.counters.restarts ?? 0
      })
    }
    const finalModels = weights.filter((w): w is Weights => w !== null)
    const accuracies = nodeSummaries.map(n => n.accuracy).filter((a): a is number => a !== null)
    const finalScores = summarise(accuracies)
    timeline.push({
      t: Math.round(trainingSeconds * 10) / 10,
      meanAccuracy: accuracies.length > 0 ? finalScores.mean : null,
      minAccuracy: accuracies.length > 0 ? finalScores.min : null,
      consensusDistance: consensusDistance(finalModels),
      liveNodes: finalModels.length
    })
    const meanSamples = Math.round(nodeSummaries.reduce((total, n) => total + n.samplesProcessed, 0) / Math.max(nodeSummaries.length, 1))
    progress('baseline', [], timeline, Date.now() - trainingStarted)
    const centralized = await centralizedBaseline(manifest, dataSpecs, test, meanSamples, options.backend)
    const summary: SwarmSummary = {
      swarmId: swarmIdOf(manifest),
      dataset: options.dataset,
      partition,
      model: options.model,
      codec: manifest.codec,
      mergeRule: manifest.merge.rule,
      scenario: null,
      nodeCount: options.nodes,
      durationSeconds: Math.round(trainingSeconds * 10) / 10,
      wallSeconds: Math.round((Date.now() - started) / 100) / 10,
      backend: processes[0]?.ready?.backend ?? 'unknown',
      centralized,
      accuracy: finalScores,
      consensusDistance: consensusDistance(finalModels) ?? 0,
      bytesSentPerNode: Math.round(nodeSummaries.reduce((total, n) => total + n.bytesSent, 0) / Math.max(nodeSummaries.length, 1)),
      nodes: nodeSummaries,
      timeline,
      events: []
    }
    if (options.out !== undefined) await writeFile(join(workdir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')
    return summary
  } finally {
    await Promise.all(processes.map(async node => node.stop()))
    await evaluator?.close()
  }
}

async function readFinalState (datadir: string): Promise<Awaited<ReturnType<NodeStore['readCheckpoint']>>> {
  const store = await NodeStore.open(datadir)
  try {
    return await store.readCheckpoint()
  } finally {
    await store.close()
  }
}

async function sampleTimeline (processes: readonly NodeProcess[], evaluator: Evaluator, test: Dataset, t: number): Promise<TimelinePoint> {
  const models = (await Promise.all(processes.map(async node => evaluator.decode(await node.model()))))
    .filter((model): model is Weights => model !== null)
  const accuracies: number[] = []
  for (const model of models) accuracies.push(await evaluator.accuracy(model, test))
  const stats = summarise(accuracies)
  return {
    t: Math.round(t * 10) / 10,
    meanAccuracy: models.length > 0 ? stats.mean : null,
    minAccuracy: models.length > 0 ? stats.min : null,
    consensusDistance: consensusDistance(models),
    liveNodes: models.length
  }
}

/** The same model trained on the pooled data of all nodes for as many samples as a node processed on average. */
async function centralizedBaseline (manifest: Manifest, dataSpecs: readonly string[], test: Dataset, samples: number, backend?: BackendName): Promise<{ accuracy: number; samplesProcessed: number }> {
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
