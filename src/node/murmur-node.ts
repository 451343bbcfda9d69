import { createHash } from 'node:crypto'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { TypedEventEmitter } from '@libp2p/interface'
import { MurmurError } from '../errors.js'
import type { BackendName } from '../learning/backend-names.js'
import { swarmIdOf, type Manifest, type RecordPrivacySettings } from '../learning/manifest.js'
import { createMergeRule, type MergeRule } from '../learning/merge.js'
import { weightShapes } from '../learning/models.js'
import type { Trainer } from '../learning/trainer.js'
import { parseCodec, type WeightCodec } from '../learning/weight-codec.js'
import { initialWeights } from '../learning/initial-weights.js'
import { createRandom, type Random } from '../data/random.js'
import { norm, type Weights } from '../learning/weights.js'
import { WorkerTrainer } from '../learning/worker-trainer.js'
import { createHost, DEFAULT_LISTEN, type Host } from '../p2p/host.js'
import { announcementTopic, ModelGossip, modelTopic, type Verdict } from '../p2p/model-gossip.js'
import { handlePushes, type PushReply } from '../p2p/model-push.js'
import { decodeAnnouncement, encodeAnnouncement, PROTOCOL_VERSION, type AnnouncementMessage } from '../p2p/model-update.js'
import { InboundLinks } from './model-links.js'
import { ModelPusher } from './model-pusher.js'
import { requestModel, serveModel } from '../p2p/model-request.js'
import { PeerGate } from '../p2p/peer-gate.js'
import { PeerKeeper } from '../p2p/peer-keeper.js'
import { PrivacyGuard } from './privacy-guard.js'
import { RecordPrivacy } from './record-privacy.js'
import { IntakeGuard } from './intake-guard.js'
import { ATTACK_SAMPLE_INFLATION, poison, type Attack } from './attack.js'
import { startApi, type ApiAddress, type ApiServer } from './api.js'
import { createMetricsRegistry } from './metrics.js'
import type { NodeStatus } from './status.js'
import { emptyCounters, NodeStore, type NodeCounters } from './store.js'
import { decodeUpdate, encodeUpdate, maxUpdateBytes, validateUpdate, type ModelUpdate, type UpdateExpectations } from './update-codec.js'

export interface MurmurNodeOptions {
  readonly manifest: Manifest
  /** a data spec, e.g. mnist:1/8 (see docs/data.md) */
  readonly dataSpec: string
  readonly datadir: string
  readonly listen?: readonly string[]
  readonly bootstrap?: readonly string[]
  readonly mdns?: boolean
  /** where to serve the local API; nothing listens without it */
  readonly api?: ApiAddress
  readonly backend?: BackendName
  /** share of its data a node keeps aside to measure its own accuracy */
  readonly holdoutFraction?: number
  /** share of the time the node may train, in (0, 1]: it idles the rest (battery-powered devices) */
  readonly maxCpu?: number
  readonly checkpointIntervalMs?: number
  readonly evaluationIntervalMs?: number
  /** without a checkpoint, fetch the current model from a peer instead of starting from the initial weights (default true) */
  readonly warmJoin?: boolean
  /** redial known peers while fewer than this many are connected (default 32) */
  readonly targetPeers?: number
  /** a private swarm's pre-shared key: only peers with the same key can connect */
  readonly swarmKey?: Uint8Array
  /** when given, the only peer ids this node connects to */
  readonly allowPeers?: readonly string[]
  /** simulation only: share poisoned models (see attack.ts) */
  readonly attack?: Attack
  /** record-level DP-SGD for this node's records, in place of the manifest's (murmur start --dp-epsilon) */
  readonly recordPrivacy?: RecordPrivacySettings
}

export interface ExchangeDetail {
  readonly step: number
  readonly merged: number
  readonly recipients: number
  readonly bytes: number
}

export interface MurmurNodeEvents {
  /** the node shared its model after merging what it had received */
  exchange: CustomEvent<ExchangeDetail>
  /** an update from a peer was refused */
  rejected: CustomEvent<{ readonly from: string; readonly reason: string }>
  evaluation: CustomEvent<{ readonly step: number; readonly accuracy: number | null }>
  checkpoint: CustomEvent<{ readonly step: number }>
  /** the node adopted a peer's model because it had none of its own (a late or fresh join) */
  'warm-join': CustomEvent<{ readonly from: string; readonly step: number; readonly samples: number }>
  /** something the operator should know that does not stop the node, e.g. a damaged checkpoint skipped */
  warning: CustomEvent<{ readonly message: string }>
  /** the training loop failed; the node stops */
  error: CustomEvent<Error>
}

const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000
const DEFAULT_TARGET_PEERS = 32
const PUSH_TIMEOUT_MS = 10_000
const QUORUM_WINDOW_MS = 10_000
const EVENT_LOOP_RESOLUTION_MS = 10
/** pushes served at once; libp2p refuses more streams, which is the backpressure senders feel */
const MAX_INBOUND_PUSHES = 8
/** how long a node without a checkpoint keeps asking new peers for the swarm's model */
const WARM_JOIN_PATIENCE_MS = 60_000
const DEFAULT_EVALUATION_INTERVAL_MS = 2_000
/** with its privacy budget spent, how often a node still merges and shares */
const EXHAUSTED_ROUND_MS = 1_000
/** rounds of steps a privacy ledger reserves at least (see checkpoint()) */
const LEDGER_RESERVE_ROUNDS = 10

/** This node's record-level privacy settings: its own (murmur start flags), else the manifest's. */
function recordPrivacySettings (options: MurmurNodeOptions): { recordPrivacy?: RecordPrivacySettings } {
  const settings = options.recordPrivacy ?? (options.manifest.privacy?.level === 'record' ? options.manifest.privacy : undefined)
  return settings === undefined ? {} : { recordPrivacy: settings }
}

function memory (): { rssBytes: number; heapUsedBytes: number } {
  const usage = process.memoryUsage()
  return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed }
}

/** Duty cycle: after training for t, idle t × (1 − share) / share, so training takes that share of the time. */
export function dutyCycleIdleMs (trainingMs: number, maxCpu: number): number {
  return maxCpu >= 1 ? 0 : trainingMs * (1 - maxCpu) / maxCpu
}

function idle (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal.aborted) { resolve(); return }
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

/** A seed for the order a node visits its data: differs between nodes, stable across restarts. */
function seedFromPeerId (peerId: string): number {
  return createHash('sha256').update(peerId).digest().readUInt32LE(0)
}

/**
 * One murmur node: trains on its own data in a worker thread, and after every few local steps merges
 * what it has heard from its peers and shares its model (pushed to a few sampled peers, or broadcast
 * on gossip, as the manifest says). Nothing waits on anyone: a slow or silent peer simply contributes
 * less often.
 */
export class MurmurNode extends TypedEventEmitter<MurmurNodeEvents> {
  readonly manifest: Manifest
  readonly swarmId: string
  private readonly options: MurmurNodeOptions
  private readonly store: NodeStore
  private readonly host: Host
  private readonly trainer: Trainer & { trainSamples: number; holdoutSamples: number }
  /** broadcast mode: whole models on the gossip topic */
  private readonly broadcast: ModelGossip<ModelUpdate> | null
  /** push mode: small announcements on the gossip topic; models go over direct streams */
  private readonly announcements: ModelGossip<AnnouncementMessage> | null
  private readonly pusher: ModelPusher | null
  private readonly inboundLinks: InboundLinks
  private readonly codec: WeightCodec
  private readonly mergeRule: MergeRule
  private readonly expectations: UpdateExpectations
  private readonly eventLoop: ReturnType<typeof monitorEventLoopDelay>
  private readonly startedAt = Date.now()
  private api: ApiServer | null = null
  private counters: NodeCounters
  private step: number
  private samplesProcessed: number
  private lastAccuracy: number | null = null
  private checkpointStep: number
  private checkpointSavedAt: string | null
  /** the freshest valid update from each peer since the last merge */
  private readonly inbox = new Map<string, ModelUpdate>()
  /**
   * Robust merge rules need a quorum, not just what arrived since the last round: they also see the
   * latest model of every peer heard from recently (dropped when it goes quiet or disconnects).
   */
  private readonly latest = new Map<string, { update: ModelUpdate; at: number }>()
  /** the latest announcement of each peer (push mode) */
  private readonly peerProgress = new Map<string, AnnouncementMessage>()
  private model: Weights | null = null
  /** the model at the start of the current round of local training: what differential privacy measures changes from */
  private roundStart: Weights | null = null
  /** with differential privacy: the last model shared, the only one others may see */
  private released: Weights | null = null
  private readonly privacy: PrivacyGuard | null
  /** record-level DP-SGD: the budget this node's records have spent; null without */
  private readonly recordPrivacy: RecordPrivacy | null
  /** steps taken since the last checkpoint: how much of the budget the next one reserves */
  private stepsSinceCheckpoint = 0
  private readonly intake = new IntakeGuard()
  private readonly initialNorm: number
  private readonly attackRandom: Random
  private stopping = false
  private readonly stopController = new AbortController()
  private loop: Promise<void> = Promise.resolve()
  private readonly gate: PeerGate
  private readonly keeper: PeerKeeper
  /** a peer's model to adopt at the next exchange, fetched by the warm join */
  private adopt: { from: string; update: ModelUpdate } | null = null
  private warmJoined: { from: string; step: number; at: string } | null = null
  private readonly startupWarnings: string[]
  private readonly resumedFromCheckpoint: boolean

  private constructor (init: {
    options: MurmurNodeOptions
    store: NodeStore
    host: Host
    trainer: WorkerTrainer
    counters: NodeCounters
    step: number
    samplesProcessed: number
    savedAt: string | null
    expectations: UpdateExpectations
    gate: PeerGate
    warnings: string[]
    resumed: boolean
    recordPrivacy: RecordPrivacy | null
  }) {
    super()
    this.options = init.options
    this.manifest = init.options.manifest
    this.swarmId = init.expectations.swarmId
    this.store = init.store
    this.host = init.host
    this.trainer = init.trainer
    this.counters = init.counters
    this.step = init.step
    this.samplesProcessed = init.samplesProcessed
    this.checkpointStep = init.step
    this.checkpointSavedAt = init.savedAt
    this.expectations = init.expectations
    this.mergeRule = createMergeRule(this.manifest.merge.rule)
    this.codec = parseCodec(this.manifest.codec)
    this.privacy = this.manifest.privacy?.level === 'node' ? new PrivacyGuard(this.manifest.privacy) : null
    this.recordPrivacy = init.recordPrivacy
    const initial = initialWeights(this.manifest.model, this.manifest.dataset.inputShape, this.manifest.seed)
    this.inboundLinks = new InboundLinks(initial)
    this.initialNorm = norm(initial)
    this.intake.reference(initial, this.initialNorm)
    this.attackRandom = createRandom((seedFromPeerId(this.host.peerId.toString()) ^ 0xa77ac) >>> 0)
    if (this.manifest.exchange.mode === 'broadcast') {
      this.broadcast = new ModelGossip(this.host, modelTopic(this.swarmId), (from, data) => this.admitBroadcast(from, data))
      this.announcements = null
      this.pusher = null
    } else {
      this.broadcast = null
      this.announcements = new ModelGossip(this.host, announcementTopic(this.swarmId), (_from, data) => this.validateAnnouncement(data))
      const random = createRandom((seedFromPeerId(this.host.peerId.toString()) ^ 0x9e37) >>> 0)
      this.pusher = new ModelPusher(this.host, {
        swarmId: this.swarmId,
        codec: this.codec,
        initial,
        fanout: this.manifest.exchange.fanout,
        timeoutMs: PUSH_TIMEOUT_MS,
        candidates: () => this.swarmNeighbours(),
        random: () => random.next(),
        onSent: bytes => { this.counters.bytesSent += bytes },
        onDropped: () => { this.counters.sendsDropped++ },
        onFailed: () => { this.counters.sendsFailed++ },
        onResync: () => { this.counters.resyncs++ }
      })
    }
    this.eventLoop = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS })
    this.gate = init.gate
    this.keeper = new PeerKeeper(this.host, this.gate, { targetPeers: init.options.targetPeers ?? DEFAULT_TARGET_PEERS })
    this.startupWarnings = init.warnings
    this.resumedFromCheckpoint = init.resumed
  }

  /** Opens the store, starts the host and the training worker, resumes from the last checkpoint. */
  static async start (options: MurmurNodeOptions, signal?: AbortSignal): Promise<MurmurNode> {
    const swarmId = swarmIdOf(options.manifest)
    const expectations: UpdateExpectations = {
      swarmId,
      shapes: weightShapes(options.manifest.model, options.manifest.dataset.inputShape).map(w => w.shape),
    }
    const store = await NodeStore.open(options.datadir)
    let host: Host | undefined
    let trainer: WorkerTrainer | undefined
    try {
      const restarts = await store.recordStart()
      const { checkpoint: saved, problems } = await store.readCheckpoint()
      const warnings = [...problems]
      if (saved !== null && saved.swarmId !== swarmId) {
        throw new MurmurError('ERR_NODE_STATE', `${options.datadir} holds a node of swarm ${saved.swarmId}, not of this manifest's swarm ${swarmId}: use another --datadir`)
      }
      let checkpoint = saved
      let weights: Weights | null = null
      if (saved !== null) {
        const verdict = validateUpdate(saved.model, expectations)
        if (verdict.ok) weights = verdict.value.weights
        else {
          warnings.push(`the checkpoint in ${options.datadir} holds an unusable model (${verdict.reason}: ${verdict.detail}); starting without it`)
          checkpoint = null
        }
      }
      const { identity } = await store.identity()
      const gate = new PeerGate(options.allowPeers)
      host = await createHost({
        identity,
        gate,
        scoredTopics: [options.manifest.exchange.mode === 'broadcast' ? modelTopic(swarmId) : announcementTopic(swarmId)],
        ...(options.swarmKey === undefined ? {} : { swarmKey: options.swarmKey }),
        listen: options.listen ?? DEFAULT_LISTEN,
        bootstrap: options.bootstrap ?? [],
        mdns: options.mdns ?? true,
        maxMessageBytes: maxUpdateBytes(expectations) * 2,
        targetPeers: options.targetPeers ?? DEFAULT_TARGET_PEERS
      })
      trainer = await WorkerTrainer.start({
        manifest: options.manifest,
        dataSpec: options.dataSpec,
        seed: seedFromPeerId(host.peerId.toString()),
        ...(options.backend === undefined ? {} : { backend: options.backend }),
        ...(options.holdoutFraction === undefined ? {} : { holdoutFraction: options.holdoutFraction }),
        ...recordPrivacySettings(options)
      }, signal)
      if (weights !== null) await trainer.setWeights(weights)
      if (saved !== null && options.manifest.privacy?.level === 'node') {
        warnings.push('differential privacy: the ε spent before this restart is not counted again; the accountant starts over (privacy.releases counts this run only)')
      }
      const recordPrivacy = trainer.dpSgdPlan === null ? null : new RecordPrivacy(trainer.dpSgdPlan, checkpoint?.privacy)
      if (recordPrivacy !== null && checkpoint !== null && checkpoint.privacy === undefined && checkpoint.step > 0) {
        warnings.push(`record-level privacy: the checkpoint's model took ${checkpoint.step} steps without DP-SGD; no ε covers what it learned then, only the steps from now on are accounted`)
      }
      const counters = checkpoint?.counters ?? emptyCounters()
      counters.restarts = restarts
      const node = new MurmurNode({
        options,
        store,
        host,
        trainer,
        counters,
        step: checkpoint?.step ?? 0,
        samplesProcessed: checkpoint?.samplesProcessed ?? 0,
        savedAt: checkpoint?.savedAt ?? null,
        expectations,
        gate,
        warnings,
        resumed: checkpoint !== null,
        recordPrivacy
      })
      await node.begin()
      return node
    } catch (error) {
      await trainer?.close()
      await host?.stop()
      await store.close()
      throw error
    }
  }

  get peerId (): string {
    return this.host.peerId.toString()
  }

  /** HOST:PORT of the local API, when it runs */
  get apiAddress (): string | null {
    return this.api?.address ?? null
  }

  get backend (): string {
    return this.trainer.backend
  }

  private async begin (): Promise<void> {
    this.eventLoop.enable()
    // The first round's change is measured from where the node starts (initial weights or checkpoint).
    this.roundStart = await this.trainer.getWeights()
    this.host.addEventListener('peer:disconnect', event => { this.intake.forget(event.detail.toString()) })
    if (this.broadcast !== null) {
      this.broadcast.addEventListener('message', event => { this.receive(event.detail.from, event.detail.value, event.detail.bytes) })
      this.broadcast.addEventListener('rejected', event => { this.reject(event.detail.from, event.detail.reason, event.detail.bytes) })
      this.broadcast.start()
    }
    if (this.announcements !== null) {
      this.announcements.addEventListener('message', event => { this.peerProgress.set(event.detail.from, event.detail.value) })
      this.announcements.start()
      await handlePushes(this.host, {
        maxBytes: maxUpdateBytes(this.expectations),
        maxInboundStreams: MAX_INBOUND_PUSHES,
        timeoutMs: PUSH_TIMEOUT_MS,
        onPush: (from, bytes) => this.receivePush(from, bytes)
      })
    }
    await serveModel(this.host, { swarmId: this.swarmId, model: async () => this.publicModel() })
    this.keeper.start()
    if (this.options.api !== undefined) {
      const registry = createMetricsRegistry(() => this.status())
      this.api = await startApi(this.options.api, {
        status: () => this.status(),
        metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
        model: async () => this.publicModel(),
        blockedPeers: {
          get: () => this.gate.blockedPeers(),
          set: async peers => { await this.gate.set(this.host, peers) }
        }
      })
    }
    if (!this.resumedFromCheckpoint && (this.options.warmJoin ?? true)) {
      this.warmJoin().catch((error: unknown) => {
        this.safeDispatchEvent('warning', { detail: { message: `warm join failed: ${error instanceof Error ? error.message : String(error)}` } })
      })
    }
    this.loop = this.run().catch((error: unknown) => {
      this.safeDispatchEvent('error', { detail: error instanceof Error ? error : new Error(String(error)) })
    })
  }

  /** whether the node resumed from a checkpoint */
  get resumed (): boolean {
    return this.resumedFromCheckpoint
  }

  /** The latest model of every peer heard from within the last QUORUM_WINDOW_MS and still connected. */
  private quorum (): ModelUpdate[] {
    const now = Date.now()
    const connected = new Set(this.host.getPeers().map(peer => peer.toString()))
    for (const [peer, entry] of this.latest) {
      if (now - entry.at > QUORUM_WINDOW_MS || !connected.has(peer)) this.latest.delete(peer)
    }
    return [...this.latest.values()].map(entry => entry.update)
  }

  /** Problems found at start-up that did not stop the node (e.g. a damaged checkpoint skipped). */
  get warnings (): readonly string[] {
    return this.startupWarnings
  }

  /**
   * Without a checkpoint, ask connected peers for their model until one answers with a trained model
   * (or the node has trained more than any of them). Training goes on meanwhile; the model found is
   * adopted at the next exchange.
   */
  private async warmJoin (): Promise<void> {
    const asked = new Set<string>()
    const deadline = Date.now() + WARM_JOIN_PATIENCE_MS
    while (!this.stopping && Date.now() < deadline) {
      // Ask the peers that announced the most training first.
      const samplesOf = (peer: string): number => this.peerProgress.get(peer)?.samples ?? 0
      const peers = this.host.getPeers().filter(peer => !asked.has(peer.toString()))
        .sort((a, b) => samplesOf(b.toString()) - samplesOf(a.toString())).slice(0, 3)
      const answers = await Promise.all(peers.map(async peer => {
        asked.add(peer.toString())
        try {
          const bytes = await requestModel(this.host, peer, {
            swarmId: this.swarmId,
            maxBytes: maxUpdateBytes(this.expectations),
            signal: AbortSignal.any([this.stopController.signal, AbortSignal.timeout(10_000)])
          })
          const verdict = bytes === null ? null : validateUpdate(bytes, this.expectations)
          return verdict?.ok === true ? { from: peer.toString(), update: verdict.value } : null
        } catch {
          return null
        }
      }))
      const best = answers.reduce<{ from: string; update: ModelUpdate } | null>((a, b) => b !== null && (a === null || b.update.samples > a.update.samples) ? b : a, null)
      if (best !== null && best.update.samples > 0) {
        this.adopt = best
        return
      }
      await idle(1_000, this.stopController.signal)
    }
  }

  private validateAnnouncement (data: Uint8Array): Verdict<AnnouncementMessage> {
    try {
      const announcement = decodeAnnouncement(data)
      if (announcement.protocolVersion !== PROTOCOL_VERSION) return { ok: false, reason: 'protocol-version' }
      if (announcement.swarmId !== this.swarmId) return { ok: false, reason: 'wrong-swarm' }
      return { ok: true, value: announcement }
    } catch {
      return { ok: false, reason: 'malformed' }
    }
  }

  private admitBroadcast (from: string, data: Uint8Array): Verdict<ModelUpdate> {
    if (!this.intake.admit(from)) return { ok: false, reason: 'rate-limited' }
    const verdict = validateUpdate(data, this.expectations)
    if (verdict.ok && !this.intake.plausible(verdict.value.weights)) return { ok: false, reason: 'implausible-norm' }
    return verdict
  }

  /** Connected peers of this swarm that a push may go to. */
  private swarmNeighbours (): string[] {
    const members = this.announcements?.subscribers() ?? []
    return members.filter(peer => !this.gate.isBlocked(peer))
  }

  /** A model pushed to this node: full weights, or a difference from a copy both sides hold. */
  private receivePush (from: string, bytes: Uint8Array): PushReply {
    if (!this.intake.admit(from)) {
      this.reject(from, 'rate-limited', bytes.byteLength)
      return 'rejected'
    }
    const verdict = decodeUpdate(bytes, this.expectations)
    if (!verdict.ok) {
      this.reject(from, verdict.reason, bytes.byteLength)
      return 'rejected'
    }
    const update = verdict.value
    let weights: Weights | null
    if (update.base === 0) {
      this.inboundLinks.forget(from)
      weights = update.values
    } else {
      weights = this.inboundLinks.apply(from, update.base, update.values)
    }
    if (weights === null) {
      this.counters.resyncs++
      return 'resync'
    }
    if (!this.intake.plausible(weights)) {
      // Its reconstruction is not worth keeping either: the sender starts over from base 1.
      this.inboundLinks.forget(from)
      this.reject(from, 'implausible-norm', bytes.byteLength)
      return 'rejected'
    }
    this.receive(from, { swarmId: update.swarmId, step: update.step, samples: update.samples, createdAt: update.createdAt, weights }, bytes.byteLength)
    return 'accepted'
  }

  private receive (from: string, update: ModelUpdate, bytes: number): void {
    this.counters.updatesReceived++
    this.counters.updatesAccepted++
    this.counters.bytesReceived += bytes
    const previous = this.inbox.get(from)
    if (previous === undefined || previous.step <= update.step) this.inbox.set(from, update)
    if (this.mergeRule.robust) this.latest.set(from, { update, at: Date.now() })
  }

  private reject (from: string, reason: string, bytes: number): void {
    this.counters.updatesReceived++
    this.counters.updatesRejected++
    this.counters.bytesReceived += bytes
    this.counters.rejectedByReason[reason] = (this.counters.rejectedByReason[reason] ?? 0) + 1
    this.safeDispatchEvent('rejected', { detail: { from, reason } })
    // Going over the rate costs the sender that update only; invalid content counts toward graylisting.
    if (reason !== 'rate-limited' && this.intake.penalise(from)) {
      this.counters.peersGraylisted++
      this.safeDispatchEvent('warning', { detail: { message: `graylisted ${from} for ${this.intake.graylistMs / 1000} s: it kept sending updates this node refuses` } })
      this.gate.graylist(this.host, from, this.intake.graylistMs).catch(() => {})
    }
  }

  private async run (): Promise<void> {
    const checkpointInterval = this.options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS
    const evaluationInterval = this.options.evaluationIntervalMs ?? DEFAULT_EVALUATION_INTERVAL_MS
    let lastCheckpoint = Date.now()
    let lastEvaluation = 0
    const maxCpu = this.options.maxCpu ?? 1
    while (!this.stopping) {
      const trainingStarted = performance.now()
      const steps = await this.affordableSteps(this.manifest.training.localSteps)
      const result = steps > 0 ? await this.trainer.train(steps) : { steps: 0, samples: 0, loss: 0 }
      this.recordPrivacy?.spend(result.steps)
      this.stepsSinceCheckpoint += result.steps
      if (maxCpu < 1) await idle(dutyCycleIdleMs(performance.now() - trainingStarted, maxCpu), this.stopController.signal)
      // Budget spent: the node goes on merging and sharing (which spends nothing) at an easy pace.
      if (steps === 0) await idle(EXHAUSTED_ROUND_MS, this.stopController.signal)
      this.step += result.steps
      this.samplesProcessed += result.samples
      let weights = await this.trainer.getWeights()
      let share = true
      if (this.privacy !== null) {
        share = !this.privacy.exhausted()
        if (share) {
          weights = this.privacy.release(this.roundStart ?? weights, weights)
          await this.trainer.setWeights(weights)
        }
      }
      // Under a robust rule a node shares what it trained; under the mean, what it merged (MergeRule.robust).
      let shared = weights
      const received = this.mergeRule.robust ? this.quorum() : [...this.inbox.values()]
      this.inbox.clear()
      const adopt = this.adopt
      this.adopt = null
      if (adopt !== null && adopt.update.samples > this.samplesProcessed) {
        // A fresh node takes the swarm's model as its own: its few local steps on the initial weights are worth less.
        weights = adopt.update.weights
        shared = weights
        await this.trainer.setWeights(weights)
        this.warmJoined = { from: adopt.from, step: adopt.update.step, at: new Date().toISOString() }
        this.safeDispatchEvent('warm-join', { detail: { from: adopt.from, step: adopt.update.step, samples: adopt.update.samples } })
      } else if (received.length > 0) {
        weights = this.mergeRule.merge(
          { weights, samples: this.samplesProcessed },
          received.map(update => ({ weights: update.weights, samples: update.samples }))
        )
        await this.trainer.setWeights(weights)
        if (!this.mergeRule.robust) shared = weights
      }
      this.model = weights
      this.roundStart = weights
      this.intake.reference(weights, this.initialNorm)
      if (share) {
        this.released = shared
        await this.share(shared, received.length)
      }
      if (Date.now() - lastEvaluation >= evaluationInterval) {
        this.lastAccuracy = await this.trainer.evaluate('holdout')
        lastEvaluation = Date.now()
        this.safeDispatchEvent('evaluation', { detail: { step: this.step, accuracy: this.lastAccuracy } })
      }
      if (Date.now() - lastCheckpoint >= checkpointInterval) {
        await this.checkpoint()
        lastCheckpoint = Date.now()
      }
    }
  }

  private async share (model: Weights, merged: number): Promise<void> {
    let recipients = 0
    let bytes = 0
    const attack = this.options.attack
    const weights = attack === undefined ? model : poison(model, attack, this.attackRandom)
    const samples = attack === undefined ? this.samplesProcessed : this.samplesProcessed * ATTACK_SAMPLE_INFLATION
    if (this.pusher !== null && this.announcements !== null) {
      recipients = this.pusher.push(weights, { step: this.step, samples })
      const announcement = encodeAnnouncement({ protocolVersion: PROTOCOL_VERSION, swarmId: this.swarmId, step: this.step, samples: this.samplesProcessed, createdAt: Date.now() })
      await this.announcements.publish(announcement).catch(() => 0)
    } else if (this.broadcast !== null) {
      // Whole models go out as they are: a dense codec applies, top-k of a whole model would not make one.
      const message = encodeUpdate({ swarmId: this.swarmId, step: this.step, samples, weights, createdAt: Date.now() }, this.codec.kind === 'topk' ? { kind: 'fp32' } : this.codec)
      bytes = message.byteLength
      try {
        recipients = await this.broadcast.publish(message)
      } catch {
        // A failed publish loses one exchange, not the node: the next one carries a fresher model anyway.
      }
      this.counters.bytesSent += bytes * recipients
    }
    this.counters.exchanges++
    this.safeDispatchEvent('exchange', { detail: { step: this.step, merged, recipients, bytes } })
  }

  /**
   * The model others may see (warm joins, GET /model): with differential privacy, the last one
   * released, never training that was not privatised; null before there is one to give.
   */
  private async publicModel (): Promise<Uint8Array | null> {
    if (this.privacy !== null) {
      return this.released === null ? null : encodeUpdate({ swarmId: this.swarmId, step: this.step, samples: this.samplesProcessed, weights: this.released, createdAt: Date.now() })
    }
    return this.model === null && !this.resumedFromCheckpoint ? null : this.encodedModel()
  }

  private async encodedModel (): Promise<Uint8Array> {
    const weights = this.model ?? await this.trainer.getWeights()
    return encodeUpdate({ swarmId: this.swarmId, step: this.step, samples: this.samplesProcessed, weights, createdAt: Date.now() })
  }

  /**
   * Local steps for the next round: all of them, or with record-level privacy as many as the budget
   * allows; a checkpoint first when the last one's privacy ledger does not cover them (written ahead,
   * so a crash never loses spent budget).
   */
  private async affordableSteps (wanted: number): Promise<number> {
    if (this.recordPrivacy === null) return wanted
    const steps = this.recordPrivacy.affordableSteps(wanted)
    if (steps > 0 && !this.recordPrivacy.covers(steps)) await this.checkpoint()
    return steps
  }

  /** Saves the current model, step and counters atomically. */
  async checkpoint (): Promise<void> {
    const savedAt = new Date().toISOString()
    // The privacy ledger reserves about two checkpoint intervals of steps (at least ten rounds, so a
    // forced checkpoint comes at most every ten rounds); none when stopping.
    const reserve = this.stopping ? 0 : Math.max(LEDGER_RESERVE_ROUNDS * this.manifest.training.localSteps, 2 * this.stepsSinceCheckpoint)
    this.stepsSinceCheckpoint = 0
    await this.store.writeCheckpoint({
      swarmId: this.swarmId,
      step: this.step,
      samplesProcessed: this.samplesProcessed,
      savedAt,
      counters: this.counters,
      model: await this.encodedModel(),
      ...(this.recordPrivacy === null ? {} : { privacy: this.recordPrivacy.ledger(reserve) })
    })
    this.checkpointStep = this.step
    this.checkpointSavedAt = savedAt
    this.safeDispatchEvent('checkpoint', { detail: { step: this.step } })
  }

  multiaddrs (): string[] {
    return this.host.getMultiaddrs().map(address => address.toString())
  }

  status (): NodeStatus {
    // The histogram records the whole interval between two ticks; the lag is what exceeds the resolution.
    const lagMs = (nanoseconds: number): number => Number.isFinite(nanoseconds) ? Math.max(0, Math.round((nanoseconds / 1e6 - EVENT_LOOP_RESOLUTION_MS) * 100) / 100) : 0
    return {
      peerId: this.peerId,
      swarmId: this.swarmId,
      backend: this.backend,
      maxCpu: this.options.maxCpu ?? 1,
      multiaddrs: this.multiaddrs(),
      step: this.step,
      samplesProcessed: this.samplesProcessed,
      peers: this.host.getPeers().length,
      swarmPeers: (this.announcements ?? this.broadcast)?.subscribers().length ?? 0,
      lastAccuracy: this.lastAccuracy,
      exchanges: this.counters.exchanges,
      restarts: this.counters.restarts,
      updates: {
        received: this.counters.updatesReceived,
        accepted: this.counters.updatesAccepted,
        rejected: this.counters.updatesRejected,
        rejectedByReason: { ...this.counters.rejectedByReason }
      },
      bytes: { sent: this.counters.bytesSent, received: this.counters.bytesReceived },
      checkpoint: { step: this.checkpointStep, savedAt: this.checkpointSavedAt },
      warmJoin: this.warmJoined,
      ...(this.privacy === null ? {} : { privacy: this.privacy.status() }),
      ...(this.recordPrivacy === null ? {} : { privacy: this.recordPrivacy.status() }),
      exchange: {
        mode: this.manifest.exchange.mode,
        fanout: this.manifest.exchange.fanout,
        codec: this.manifest.codec,
        inFlight: this.pusher?.pending ?? 0,
        sendsDropped: this.counters.sendsDropped,
        sendsFailed: this.counters.sendsFailed,
        resyncs: this.counters.resyncs
      },
      blockedPeers: this.gate.blockedPeers().length,
      graylistedPeers: this.gate.graylistedPeers().length,
      role: this.options.attack === undefined ? 'honest' : 'attacker',
      data: { trainSamples: this.trainer.trainSamples, holdoutSamples: this.trainer.holdoutSamples },
      eventLoop: { lagP50Ms: lagMs(this.eventLoop.percentile(50)), lagP99Ms: lagMs(this.eventLoop.percentile(99)) },
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      memory: memory()
    }
  }

  /** Stops training after the current step, writes a final checkpoint and closes everything. */
  async stop (): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    this.stopController.abort()
    await this.loop
    try {
      await this.checkpoint()
    } finally {
      this.eventLoop.disable()
      this.keeper.stop()
      this.pusher?.stop()
      this.broadcast?.stop()
      this.announcements?.stop()
      await this.api?.close()
      await this.trainer.close()
      await this.host.stop()
      await this.store.close()
    }
  }
}
