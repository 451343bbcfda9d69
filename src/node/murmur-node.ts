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
import { allFinite, norm, type Weights } from '../learning/weights.js'
import { WorkerTrainer } from '../learning/worker-trainer.js'
import { createHost, DEFAULT_LISTEN, type Host } from '../p2p/host.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { announcementTopic, ModelGossip, modelTopic, type Verdict } from '../p2p/model-gossip.js'
import { handlePushes, type PushReply } from '../p2p/model-push.js'
import { decodeAnnouncement, encodeAnnouncement, PROTOCOL_VERSION, type AnnouncementMessage } from '../p2p/model-update.js'
import { InboundLinks } from './model-links.js'
import { ModelPusher } from './model-pusher.js'
import { requestModel, serveModel } from '../p2p/model-request.js'
import { PeerGate } from '../p2p/peer-gate.js'
import { PeerKeeper } from '../p2p/peer-keeper.js'
import { ConnectionList, relayedOnlyPeers } from '../p2p/connection-list.js'
import { PrivacyGuard } from './privacy-guard.js'
import { RecordPrivacy } from './record-privacy.js'
import { IntakeGuard } from './intake-guard.js'
import { PeerWindow } from './peer-window.js'
import { DEFAULT_MODEL_AVERAGE_DECAY, ModelAverage } from '../learning/model-average.js'
import type { Attack, AttackBehaviour, Outgoing } from './attack.js'
import { attackBehaviour } from './attacks/index.js'
import { BoundedMap } from './bounded-map.js'
import { FairShareBudget } from './fair-share.js'
import { plausibleClaims } from './sample-claims.js'
import { warmJoin, type WarmJoinResult } from './warm-join.js'
import { publishAsAuthors } from '../p2p/forged-authors.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { startApi, type ApiAddress, type ApiServer } from './api.js'
import { exposureWarning } from './api-guard.js'
import { issueApiToken } from './api-token.js'
import { CheckpointSchedule } from './checkpoint-schedule.js'
import { WarningLog } from './warning-log.js'
import { nodePageRoutes } from './node-pages.js'
import { createMetricsRegistry } from './metrics.js'
import type { NodeStatus } from './status.js'
import { emptyCounters, NodeStore, type NodeCounters } from './store.js'
import { decodeUpdate, encodeUpdate, maxUpdateBytes, validateUpdate, type ModelUpdate, type UpdateExpectations } from './update-codec.js'
import { idle } from './idle.js'

export interface MurmurNodeOptions {
  readonly manifest: Manifest
  /** a data spec, e.g. mnist:1/8 (see docs/data.md) */
  readonly dataSpec: string
  readonly datadir: string
  readonly listen?: readonly string[]
  readonly bootstrap?: readonly string[]
  readonly mdns?: boolean
  /** addresses peers can dial this node at, besides what it listens on (see docs/deployment.md) */
  readonly announce?: readonly string[]
  /** offer the circuit relay service (default: when the node expects to be publicly reachable) */
  readonly relayService?: boolean
  /** where to serve the local API; nothing listens without it */
  readonly api?: ApiAddress
  /** the store to use, already open (e.g. with a fault hook in tests); default: NodeStore.open(datadir). The node closes it. */
  readonly store?: NodeStore
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
  /** an update from a peer passed every check and will be merged (`from`: its sender, in broadcast mode its author) */
  accepted: CustomEvent<{ readonly from: string; readonly samples: number }>
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
const EVENT_LOOP_RESOLUTION_MS = 10
/** pushes served at once per connection; libp2p refuses more streams, which is the backpressure senders feel */
const MAX_INBOUND_PUSHES = 2
/** pushes served at once by the node over all connections (memory: this many × maxUpdateBytes at most) */
const MAX_CONCURRENT_PUSHES = 8
/** per-peer state kept for peers heard from (announcements), least recently heard dropped first */
const MAX_TRACKED_PEERS = 4096
/**
 * Model requests (warm joins): an honest joiner asks each peer once. A peer may ask 2 in a burst and
 * one every 10 s; the node answers 2 a second in all, shared among the peers asking.
 */
const MODEL_REQUEST_LIMITS = { burst: 2, perSecond: 0.1, nodeBurst: 8, nodePerSecond: 2, activeWindowMs: 60_000, maxSources: MAX_TRACKED_PEERS }
/**
 * broadcast mode: what one relaying peer may deliver, however many authors it relays for; a backstop
 * (the authors' own budget already bounds the node's work), generous enough for honest relays
 */
const RELAY_LIMITS = { burst: 120, perSecond: 60, nodeBurst: 400, nodePerSecond: 200, activeWindowMs: 10_000, maxSources: MAX_TRACKED_PEERS }
/** broadcast mode: the one budget all authors that are not neighbours of this node share */
const UNCONNECTED_AUTHORS = 'unconnected-authors'
/**
 * A warm join's combined model is adopted when it scores at least the node's own accuracy on the
 * node's held-out data less this: two held-out evaluations of equally good models differ by about
 * that much (one standard error at 200 samples is 2 points), while a poisoned answer scores far lower.
 */
const ADOPTION_TOLERANCE = 0.02
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
  /**
   * The latest accepted model of every peer heard from recently (bounded, expiring, staleness-weighted),
   * merged every round: under skew a node must see its whole neighbourhood, not only what arrived since
   * its last round, and a robust rule needs a quorum.
   */
  private readonly window = new PeerWindow<ModelUpdate>()
  /** the latest announcement of each peer (push mode) */
  private readonly peerProgress = new BoundedMap<string, AnnouncementMessage>(MAX_TRACKED_PEERS)
  private model: Weights | null = null
  private readonly average = new ModelAverage(DEFAULT_MODEL_AVERAGE_DECAY)
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
  private readonly modelRequests = new FairShareBudget(MODEL_REQUEST_LIMITS)
  private readonly relays = new FairShareBudget(RELAY_LIMITS)
  /** refusals that are not about an update's content, counted for status */
  private readonly refusals = { pushesBusy: 0, modelRequests: 0 }
  /** the encoded public model of the current step, so that many requests cost one encoding */
  private encodedCache: { step: number; released: boolean; bytes: Uint8Array } | null = null
  private readonly attack: AttackBehaviour | null
  private sybilKeys: PrivateKey[] = []
  private readonly initialNorm: number
  private readonly attackRandom: Random
  private stopping = false
  private readonly stopController = new AbortController()
  private loop: Promise<void> = Promise.resolve()
  private readonly gate: PeerGate
  private readonly keeper: PeerKeeper
  private readonly connections: ConnectionList
  /** the swarm's model to adopt at the next exchange, combined by the warm join */
  private adopt: WarmJoinResult | null = null
  private warmJoined: { from: string; step: number; at: string; answers: number; refused: number } | null = null
  private readonly startupWarnings: string[]
  /** start-up and recent warnings, for GET /status */
  private readonly warningLog = new WarningLog()
  private apiToken: string | null = null
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
    this.attack = init.options.attack === undefined ? null : attackBehaviour(init.options.attack)
    if (this.manifest.exchange.mode === 'broadcast') {
      this.broadcast = new ModelGossip(this.host, modelTopic(this.swarmId), (from, data, relayer) => this.admitBroadcast(from, data, relayer))
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
    this.connections = new ConnectionList(this.host)
    this.startupWarnings = init.warnings
    for (const message of init.warnings) this.warningLog.pin(message)
    this.addEventListener('warning', event => { this.warningLog.add(event.detail.message) })
    this.resumedFromCheckpoint = init.resumed
  }

  /** Opens the store, starts the host and the training worker, resumes from the last checkpoint. */
  static async start (options: MurmurNodeOptions, signal?: AbortSignal): Promise<MurmurNode> {
    const swarmId = swarmIdOf(options.manifest)
    const expectations: UpdateExpectations = {
      swarmId,
      shapes: weightShapes(options.manifest.model, options.manifest.dataset.inputShape).map(w => w.shape),
    }
    const store = options.store ?? await NodeStore.open(options.datadir)
    let host: Host | undefined
    let trainer: WorkerTrainer | undefined
    try {
      const restarts = await store.recordStart()
      const { checkpoint: saved, problems } = await store.readCheckpoint()
      const warnings = [...store.warnings, ...problems]
      if (saved !== null && saved.swarmId !== swarmId) {
        throw new MurmurError('ERR_NODE_STATE', `${options.datadir} holds a node of swarm ${saved.swarmId}, not of this manifest's swarm ${swarmId}: use another --datadir`)
      }
      await store.saveManifest(options.manifest)
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
        targetPeers: options.targetPeers ?? DEFAULT_TARGET_PEERS,
        swarmId,
        ...(options.announce === undefined ? {} : { announce: options.announce }),
        ...(options.relayService === undefined ? {} : { relayService: options.relayService })
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

  /** the file holding the local API's token (state-changing requests need it), when the API runs */
  get apiTokenFile (): string | null {
    return this.apiToken
  }

  get backend (): string {
    return this.trainer.backend
  }

  private async begin (): Promise<void> {
    this.eventLoop.enable()
    // The first round's change is measured from where the node starts (initial weights or checkpoint).
    this.roundStart = await this.trainer.getWeights()
    // A peer's model stays in the window when it disconnects (until it expires): when a swarm stops,
    // or a link flaps, the last round of a node must not fall back to its own shard's lean.
    // The intake guard's state (rates, penalties) is kept across reconnects, bounded by its own LRU.
    if (this.attack !== null && this.attack.sybils > 0 && this.broadcast !== null) {
      this.sybilKeys = await Promise.all(Array.from({ length: this.attack.sybils }, async () => generateKeyPair('Ed25519')))
    }
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
        maxConcurrent: MAX_CONCURRENT_PUSHES,
        onBusy: () => { this.refusals.pushesBusy++ },
        timeoutMs: PUSH_TIMEOUT_MS,
        onPush: (from, bytes) => this.receivePush(from, bytes)
      })
    }
    await serveModel(this.host, {
      swarmId: this.swarmId,
      model: async () => this.servedModel(),
      admit: from => !this.gate.isBlocked(from) && this.modelRequests.admit(from),
      onRefused: () => { this.refusals.modelRequests++ }
    })
    this.keeper.start()
    if (this.options.api !== undefined) {
      const registry = createMetricsRegistry(() => this.status())
      const token = await issueApiToken(this.options.datadir)
      this.apiToken = token.file
      this.api = await startApi(this.options.api, {
        status: () => this.status(),
        metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
        model: async () => this.publicModel(),
        blockedPeers: {
          get: () => this.gate.blockedPeers(),
          set: async peers => {
            for (const peer of peers) this.window.delete(peer)
            await this.gate.set(this.host, peers)
          }
        }
      }, { token: token.token, tokenSource: token.file, routes: nodePageRoutes({ manifest: this.manifest, model: async () => this.publicModel() }) })
      const exposed = exposureWarning(this.options.api.host, this.api.port)
      if (exposed !== null) {
        this.startupWarnings.push(exposed)
        this.warningLog.pin(exposed)
      }
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

  /** Problems found at start-up that did not stop the node (e.g. a damaged checkpoint skipped). */
  get warnings (): readonly string[] {
    return this.startupWarnings
  }

  /**
   * Without a checkpoint, ask several connected peers for their model (warm-join.ts): implausible and
   * outlying answers are refused, the rest combined with the manifest's rule. Training goes on
   * meanwhile; the model found is adopted at the next exchange.
   */
  private async warmJoin (): Promise<void> {
    const random = createRandom((seedFromPeerId(this.host.peerId.toString()) ^ 0x70a1) >>> 0)
    const result = await warmJoin({
      peers: () => this.host.getPeers().map(peer => peer.toString()).filter(peer => !this.gate.isBlocked(peer)),
      ask: async (peer, signal) => {
        const bytes = await requestModel(this.host, peerIdFromString(peer), { swarmId: this.swarmId, maxBytes: maxUpdateBytes(this.expectations), signal })
        const verdict = bytes === null ? null : validateUpdate(bytes, this.expectations)
        return verdict?.ok === true ? { from: peer, step: verdict.value.step, weights: verdict.value.weights } : null
      },
      plausible: weights => this.intake.plausible(weights),
      combine: (center, others) => this.mergeRule.merge({ weights: center, samples: 1 }, others.map(weights => ({ weights, samples: 1 }))),
      random: () => random.next(),
      signal: this.stopController.signal,
      patienceMs: WARM_JOIN_PATIENCE_MS
    })
    if (result !== null) this.adopt = result
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

  /** Broadcast mode: `from` is the message's author, `relayer` the neighbour that delivered it. */
  private admitBroadcast (from: string, data: Uint8Array, relayer: string): Verdict<ModelUpdate> {
    // A graylisted or blocked author stays out even when another peer relays it.
    // Neither this nor a rate limit is the relaying peer's fault: ignored, not scored against it.
    if (this.gate.isBlocked(from)) return { ok: false, reason: 'blocked-author', ignore: true }
    // Authors cost nothing to make. A robust rule merges only neighbours' models (the quorum), so a
    // non-neighbour's model is of no use here: it is dropped unread and not forwarded (the author's
    // own neighbours relay it among themselves). Under the mean, non-neighbours share one budget.
    const neighbour = this.host.getConnections(peerIdFromString(from)).length > 0
    if (!neighbour && this.mergeRule.robust) return { ok: false, reason: 'not-a-neighbour', ignore: true }
    const author = neighbour ? from : UNCONNECTED_AUTHORS
    if (!this.intake.admit(author) || !this.relays.admit(relayer)) return { ok: false, reason: 'rate-limited', ignore: true }
    const verdict = validateUpdate(data, this.expectations)
    if (verdict.ok && !this.intake.accept(from, verdict.value.weights)) return { ok: false, reason: 'implausible-norm' }
    return verdict
  }

  /** Connected peers of this swarm that a push may go to. */
  private swarmNeighbours (): string[] {
    // Gossip does not run over relays (it would use up their data limit): peers reached only through
    // one (found through the swarm's DHT) are candidates too; the pusher sends them only what fits.
    const members = new Set([...(this.announcements?.subscribers() ?? []), ...relayedOnlyPeers(this.host)])
    return [...members].filter(peer => !this.gate.isBlocked(peer))
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
    if (!this.intake.accept(from, weights)) {
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
    this.window.set(from, update)
    this.safeDispatchEvent('accepted', { detail: { from, samples: update.samples } })
  }

  private reject (from: string, reason: string, bytes: number): void {
    this.counters.updatesReceived++
    this.counters.updatesRejected++
    this.counters.bytesReceived += bytes
    this.counters.rejectedByReason[reason] = (this.counters.rejectedByReason[reason] ?? 0) + 1
    this.safeDispatchEvent('rejected', { detail: { from, reason } })
    // Going over the rate costs the sender that update only; invalid content counts toward graylisting.
    if (reason !== 'rate-limited' && reason !== 'blocked-author' && reason !== 'not-a-neighbour' && this.intake.penalise(from)) {
      this.counters.peersGraylisted++
      this.safeDispatchEvent('warning', { detail: { message: `graylisted ${from} for ${this.intake.graylistMs / 1000} s: it kept sending updates this node refuses` } })
      this.window.delete(from)
      this.gate.graylist(this.host, from, this.intake.graylistMs).catch(() => {})
    }
  }

  private async run (): Promise<void> {
    // A failed checkpoint write (full disk) warns and is retried with backoff; the node keeps running.
    const checkpoints = new CheckpointSchedule({ intervalMs: this.options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS })
    const evaluationInterval = this.options.evaluationIntervalMs ?? DEFAULT_EVALUATION_INTERVAL_MS
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
      this.assertFinite(weights, 'after local training')
      let share = true
      if (this.privacy !== null) {
        share = !this.privacy.exhausted()
        if (share) {
          weights = this.privacy.release(this.roundStart ?? weights, weights)
          await this.trainer.setWeights(weights)
        }
      }
      // A node shares what it trained and keeps what it merged (decentralized SGD: every peer's window
      // then averages trained models, so each local step counts in full, and a coordinate-wise robust
      // rule does not see many copies of one merged model).
      let shared = weights
      const received = this.window.current()
      const adopt = this.adopt
      this.adopt = null
      if (adopt !== null && await this.adoptionHelps(adopt.weights, weights)) {
        // A fresh node takes the swarm's model as its own: its few local steps on the initial weights are worth less.
        weights = adopt.weights
        shared = weights
        this.average.reset(weights)
        this.warmJoined = { from: adopt.from, step: adopt.step, at: new Date().toISOString(), answers: adopt.answers, refused: adopt.refused }
        this.safeDispatchEvent('warm-join', { detail: { from: adopt.from, step: adopt.step, samples: 0 } })
      } else if (received.length > 0) {
        // Claimed sample counts weigh only as far as they are plausible (sample-claims.ts), and a stale
        // model counts less (staleness weight 2^(−age / half-life) on its sample count).
        const claims = plausibleClaims(this.samplesProcessed, received.map(entry => entry.value.samples))
        weights = this.mergeRule.merge(
          { weights, samples: this.samplesProcessed },
          received.map((entry, index) => ({ weights: entry.value.weights, samples: (claims[index] as number) * entry.weight }))
        )
        this.assertFinite(weights, 'after merging')
        await this.trainer.setWeights(weights)
      }
      this.model = this.average.add(weights)
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
      if (checkpoints.due()) {
        const message = await checkpoints.attempt(async () => { await this.checkpoint() })
        if (message !== null) this.safeDispatchEvent('warning', { detail: { message } })
      }
    }
  }

  private async share (model: Weights, merged: number): Promise<void> {
    let recipients = 0
    let bytes = 0
    const { weights, samples } = this.outgoing('shared', { weights: model, samples: this.samplesProcessed })
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
        if (this.sybilKeys.length > 0) await publishAsAuthors(this.host, this.broadcast.topic, message, this.sybilKeys)
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

  /** What model requests (warm joins) get: the public model, encoded once per step, or an attacker's answer. */
  private async servedModel (): Promise<Uint8Array | null> {
    const released = this.privacy !== null
    if (this.encodedCache !== null && this.encodedCache.step === this.step && this.encodedCache.released === released && this.attack === null) return this.encodedCache.bytes
    const step = this.step
    const bytes = await this.publicModel()
    if (bytes === null || this.attack === null) {
      if (bytes !== null) this.encodedCache = { step, released, bytes }
      return bytes
    }
    const verdict = validateUpdate(bytes, this.expectations)
    if (!verdict.ok) return bytes
    const { weights, samples } = this.outgoing('served', { weights: verdict.value.weights, samples: verdict.value.samples })
    return encodeUpdate({ ...verdict.value, weights, samples })
  }

  /** What an attacker makes of what it sends (attack.ts); an honest node sends it as it is. */
  private outgoing (kind: 'shared' | 'served', honest: Outgoing): Outgoing {
    if (this.attack === null) return honest
    // An attacker runs the same intake guard as its victims: its own bound is its best guess of theirs.
    const normLimit = Number.isFinite(this.intake.bound) ? this.intake.bound : this.intake.limits.normFactor * Math.max(norm(honest.weights), this.initialNorm)
    return this.attack[kind](honest, { random: this.attackRandom, normLimit })
  }

  /**
   * Whether the warm join's model does at least as well as the node's own on the node's held-out data:
   * a fact the node checks itself, where sample counts are only claims. It declines models that would
   * set it back (answers older than its own training, or poisoned ones). Leaves the worker holding
   * the model chosen.
   */
  private async adoptionHelps (theirs: Weights, own: Weights): Promise<boolean> {
    const ownAccuracy = await this.trainer.evaluate('holdout')
    await this.trainer.setWeights(theirs)
    const theirAccuracy = await this.trainer.evaluate('holdout')
    if (ownAccuracy === null || theirAccuracy === null || theirAccuracy >= ownAccuracy - ADOPTION_TOLERANCE) return true
    await this.trainer.setWeights(own)
    this.safeDispatchEvent('warning', { detail: { message: `warm join: the swarm's model scored ${theirAccuracy.toFixed(3)} on this node's held-out data, its own ${ownAccuracy.toFixed(3)}: keeping its own` } })
    return false
  }

  /** A model with NaN or ±Infinity would poison everything it touches: the node stops instead. */
  private assertFinite (weights: Weights, when: string): void {
    if (!allFinite(weights)) {
      throw new MurmurError('ERR_MODEL_DIVERGED', `the node's own model holds NaN or infinite values ${when} (step ${this.step}); the node stops rather than share or judge others by it. Lower training.learningRate or restart from the last checkpoint`)
    }
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
      connections: this.connections.list(),
      reachability: this.host.services.reachability.reachability(),
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
        resyncs: this.counters.resyncs,
        sendsRelayed: this.pusher?.relayCounts.sendsRelayed ?? 0,
        sendsSkippedRelayed: this.pusher?.relayCounts.sendsSkippedRelayed ?? 0
      },
      blockedPeers: this.gate.blockedPeers().length,
      graylistedPeers: this.gate.graylistedPeers().length,
      intake: {
        normBound: Number.isFinite(this.intake.bound) ? this.intake.bound : null,
        trackedPeers: this.intake.trackedPeers,
        pushesBusy: this.refusals.pushesBusy,
        modelRequestsRefused: this.refusals.modelRequests
      },
      role: this.options.attack === undefined ? 'honest' : 'attacker',
      data: { trainSamples: this.trainer.trainSamples, holdoutSamples: this.trainer.holdoutSamples },
      eventLoop: { lagP50Ms: lagMs(this.eventLoop.percentile(50)), lagP99Ms: lagMs(this.eventLoop.percentile(99)) },
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      memory: memory(),
      warnings: this.warningLog.list()
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
