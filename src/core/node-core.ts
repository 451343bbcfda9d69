import { TypedEventEmitter } from 'main-event'
import { createRandom, type Random } from '../data/random.js'
import { MurmurError } from '../errors.js'
import { initialWeights } from '../learning/initial-weights.js'
import type { Manifest } from '../learning/manifest.js'
import { createMergeRule, type MergeRule } from '../learning/merge.js'
import { averageRounds, DEFAULT_MODEL_AVERAGE_DECAY, ModelAverage } from '../learning/model-average.js'
import { weightShapes } from '../learning/models.js'
import { parseCodec, type WeightCodec } from '../learning/weight-codec.js'
import { allFinite, norm, type Weights } from '../learning/weights.js'
import { BroadcastExchange } from './broadcast-exchange.js'
import { CheckpointSchedule } from './checkpoint-schedule.js'
import { idle, isoTime, systemClock, type Clock } from './clock.js'
import type { CoreStatus } from './core-status.js'
import { dutyCycleIdleMs } from './duty-cycle.js'
import type { Exchange, ExchangeDecorator, Outgoing } from './exchange.js'
import { FairShareBudget } from './fair-share.js'
import { firstRoundPeriodMs, gossipIdleMs } from './gossip-period.js'
import { Intake, MAX_TRACKED_PEERS } from './intake.js'
import { DEFAULT_WINDOW_MAX_AGE_MS, WINDOW_ROUNDS } from './peer-window.js'
import type { IntakeLimits } from './intake-guard.js'
import { silentLogger, type Logger } from './logger.js'
import type { NodeCoreEvents } from './node-events.js'
import { emptyCounters, type NodeCounters, type NodeStatePort } from './node-state.js'
import type { NodeTrainer } from './node-trainer.js'
import { PeerGate } from './peer-gate.js'
import { PrivacyGuard } from './privacy-guard.js'
import { PushExchange } from './push-exchange.js'
import { RecordPrivacy } from './record-privacy.js'
import { resume } from './resume.js'
import { skewFanout } from './skew-adaptation.js'
import { plausibleClaims } from './sample-claims.js'
import type { Transport, TransportHandlers } from './transport.js'
import { encodeUpdate, validateUpdate, type UpdateExpectations } from './update-codec.js'
import { warmJoin, type WarmJoinResult } from './warm-join.js'

/** The outside world a core runs in: all of it injected, so that the same core runs in a process, a browser, a simulator and a test. */
export interface NodeCoreComponents {
  readonly transport: Transport
  readonly store: NodeStatePort
  readonly trainer: NodeTrainer
  /** default: the system clock */
  readonly clock?: Clock
  /** default: silent */
  readonly logger?: Logger
  /** the peers the node refuses; pass the one the transport gates connections with (default: a gate of the core's own) */
  readonly gate?: PeerGate
}

export interface NodeCoreInit {
  /** this node's peer id */
  readonly id: string
  readonly manifest: Manifest
  /** the manifest's swarm id (swarmIdOf) */
  readonly swarmId: string
  /**
   * a seed that differs between nodes and stays the same across a node's restarts (a process node
   * hashes its peer id): whom it pushes to and asks, and a simulated attacker's choices
   */
  readonly seed: number
  /** share of the time the node may train, in (0, 1]: it idles the rest (default 1) */
  readonly maxCpu?: number
  /** the gossip cycle: a round (local steps, merge, share) starts at most once per this many ms; 0 runs rounds back to back (default 0; gossip-period.ts) */
  readonly gossipPeriodMs?: number
  /** time between checkpoints (default 10 s) */
  readonly checkpointIntervalMs?: number
  /** time between evaluations on the held-out split (default 2 s) */
  readonly evaluationIntervalMs?: number
  /** without a checkpoint, fetch the current model from peers instead of starting from the initial weights (default true) */
  readonly warmJoin?: boolean
  /** the intake's limits (default DEFAULT_INTAKE_LIMITS) */
  readonly intakeLimits?: Partial<IntakeLimits>
  /** the noise of node-level differential privacy (default the system's secure generator; a seeded one only in simulations) */
  readonly privacyNoise?: { normal: () => number }
  /** simulation only: wraps the node's exchange (a simulated attacker, src/attacks) */
  readonly decorateExchange?: ExchangeDecorator
}

/** The node's model as an embedding program gets it. */
export interface ModelSnapshot {
  readonly weights: Weights
  readonly step: number
  readonly samplesProcessed: number
}

export const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000
export const DEFAULT_EVALUATION_INTERVAL_MS = 2_000
const PUSH_TIMEOUT_MS = 10_000
/**
 * Model requests (warm joins): an honest joiner asks each peer once. A peer may ask 2 in a burst and
 * one every 10 s; the node answers 2 a second in all, shared among the peers asking.
 */
const MODEL_REQUEST_LIMITS = { burst: 2, perSecond: 0.1, nodeBurst: 8, nodePerSecond: 2, activeWindowMs: 60_000, maxSources: MAX_TRACKED_PEERS }
/**
 * A warm join's combined model is adopted when it scores at least the node's own accuracy on the
 * node's held-out data less this: two held-out evaluations of equally good models differ by about
 * that much (one standard error at 200 samples is 2 points), while a poisoned answer scores far lower.
 */
const ADOPTION_TOLERANCE = 0.02
/** how long a node without a checkpoint keeps asking new peers for the swarm's model */
const WARM_JOIN_PATIENCE_MS = 60_000
/** with its privacy budget spent, how often a node still merges and shares */
const EXHAUSTED_ROUND_MS = 1_000
/** rounds of steps a privacy ledger reserves at least (see checkpoint()) */
const LEDGER_RESERVE_ROUNDS = 10
/** offsets that give the node's random choices streams of their own */
const STREAMS = { attack: 0xa77ac, push: 0x9e37, warmJoin: 0x70a1, gossip: 0x90551 } as const

/**
 * The swarm's initial weights and their norm, derived once per manifest: a simulation starts a core at
 * every node's start and restart (tens of thousands an hour for 10,000 phones). Read only: links and
 * the intake derive fresh arrays from them.
 */
const swarmStarts = new WeakMap<Manifest, { initial: Weights; initialNorm: number }>()
function swarmStart (manifest: Manifest): { initial: Weights; initialNorm: number } {
  let start = swarmStarts.get(manifest)
  if (start === undefined) {
    const initial = initialWeights(manifest.model, manifest.dataset.inputShape, manifest.seed)
    start = { initial, initialNorm: norm(initial) }
    swarmStarts.set(manifest, start)
  }
  return start
}

/**
 * One murmur node's protocol: trains on its own data, and after every few local steps merges what it
 * has heard from its peers and shares its model (pushed to a few sampled peers, or broadcast on
 * gossip, as the manifest says). Nothing waits on anyone: a slow or silent peer simply contributes
 * less often. Every decision is here; the world (network, storage, training, time) is injected.
 */
export class NodeCore extends TypedEventEmitter<NodeCoreEvents> {
  readonly id: string
  readonly manifest: Manifest
  readonly swarmId: string
  readonly gate: PeerGate
  private readonly transport: Transport
  private readonly store: NodeStatePort
  private readonly trainer: NodeTrainer
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly init: NodeCoreInit
  private readonly codec: WeightCodec
  private readonly mergeRule: MergeRule
  private readonly expectations: UpdateExpectations
  private readonly initialNorm: number
  private readonly intake: Intake
  private readonly exchange: Exchange
  private readonly privacy: PrivacyGuard | null
  /** peers it pushes to after each round: the manifest's fanout, adapted to its own labels' skew (skew-adaptation.ts) */
  private readonly fanout: number
  private readonly modelRequests: FairShareBudget
  /** refusals that are not about an update's content, counted for status */
  private readonly refusals = { pushesBusy: 0, modelRequests: 0 }
  private readonly counters: NodeCounters = emptyCounters()
  private recordPrivacy: RecordPrivacy | null = null
  private step = 0
  private samplesProcessed = 0
  private lastAccuracy: number | null = null
  private checkpointStep = 0
  private checkpointSavedAt: string | null = null
  private model: Weights | null = null
  /** what the node stands for: an average of its merged models over recent rounds (model-average.ts) */
  private readonly average = new ModelAverage(DEFAULT_MODEL_AVERAGE_DECAY)
  /** the model at the start of the current round of local training: what differential privacy measures changes from, and the centre the merge clips around */
  private roundStart: Weights | null = null
  /** with differential privacy: the last model shared, the only one others may see */
  private released: Weights | null = null
  /** steps taken since the last checkpoint: how much of the budget the next one reserves */
  private stepsSinceCheckpoint = 0
  /** the encoded public model of the current step, so that many requests cost one encoding */
  private encodedCache: { step: number; bytes: Uint8Array } | null = null
  /** the swarm's model to adopt at the next exchange, combined by the warm join */
  private adopt: WarmJoinResult | null = null
  private warmJoined: CoreStatus['warmJoin'] = null
  private resumedFromCheckpoint = false
  private readonly startupWarnings: string[] = []
  private started = false
  /** set once start() has completed: only a node that ran writes a final checkpoint */
  private running = false
  private stopping = false
  private readonly stopController = new AbortController()
  /** aborted when a warm join has found the swarm's model: the first round, waiting out part of its period, starts at once to adopt it */
  private readonly joinedController = new AbortController()
  private loop: Promise<void> = Promise.resolve()

  constructor (components: NodeCoreComponents, init: NodeCoreInit) {
    super()
    this.init = init
    this.id = init.id
    this.manifest = init.manifest
    this.swarmId = init.swarmId
    this.transport = components.transport
    this.store = components.store
    this.trainer = components.trainer
    this.clock = components.clock ?? systemClock
    this.logger = components.logger ?? silentLogger
    this.gate = components.gate ?? new PeerGate(undefined, this.clock.now)
    this.expectations = { swarmId: init.swarmId, shapes: weightShapes(init.manifest.model, init.manifest.dataset.inputShape).map(w => w.shape) }
    this.mergeRule = createMergeRule(init.manifest.merge.rule)
    this.codec = parseCodec(init.manifest.codec)
    this.privacy = init.manifest.privacy?.level === 'node' ? new PrivacyGuard(init.manifest.privacy, init.privacyNoise) : null
    this.modelRequests = new FairShareBudget(MODEL_REQUEST_LIMITS, this.clock.now)
    this.fanout = skewFanout(init.manifest.exchange.fanout, this.trainer.labelCounts)
    const { initial, initialNorm } = swarmStart(init.manifest)
    this.initialNorm = initialNorm
    this.intake = new Intake({
      expectations: this.expectations,
      initial,
      counters: this.counters,
      gate: this.gate,
      clock: this.clock,
      robustMerge: this.mergeRule.robust,
      isConnected: peer => this.transport.isConnected(peer),
      intakeLimits: init.intakeLimits ?? {},
      onAccepted: (from, samples) => { this.safeDispatchEvent('accepted', { detail: { from, samples } }) },
      onRejected: (from, reason) => { this.safeDispatchEvent('rejected', { detail: { from, reason } }) },
      onGraylisted: (peer, ms) => {
        this.warn(`graylisted ${peer} for ${ms / 1000} s: it kept sending updates this node refuses`)
        this.transport.disconnect([peer]).catch((error: unknown) => { this.logger.debug(`closing the connections of ${peer} failed: ${String(error)}`) })
      }
    })
    this.intake.guard.reference(initial, this.initialNorm)
    const exchange = this.createExchange(initial)
    this.exchange = init.decorateExchange === undefined
      ? exchange
      : init.decorateExchange(exchange, { random: this.randomStream('attack'), normLimit: model => this.normLimit(model) })
  }

  private randomStream (stream: keyof typeof STREAMS): Random {
    return createRandom((this.init.seed ^ STREAMS[stream]) >>> 0)
  }

  private createExchange (initial: Weights): Exchange {
    const common = { transport: this.transport, clock: this.clock, swarmId: this.swarmId, codec: this.codec, counters: this.counters }
    if (this.manifest.exchange.mode === 'broadcast') return new BroadcastExchange(common)
    const random = this.randomStream('push')
    return new PushExchange({
      ...common,
      initial,
      fanout: this.fanout,
      timeoutMs: PUSH_TIMEOUT_MS,
      isRefused: peer => this.gate.isBlocked(peer),
      random: () => random.next()
    })
  }

  /** What a node expects receivers to accept: its own intake bound, or before the first round its default. */
  private normLimit (model: Weights): number {
    const bound = this.intake.guard.bound
    return Number.isFinite(bound) ? bound : this.intake.guard.limits.normFactor * Math.max(norm(model), this.initialNorm)
  }

  /**
   * Resumes from the store's last good checkpoint (or starts fresh), starts the transport and the
   * training loop, and without a checkpoint asks peers for the swarm's model (warm join).
   */
  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    const { checkpoint, weights, restarts, warnings } = await resume(this.store, this.manifest, this.expectations)
    this.startupWarnings.push(...warnings)
    if (weights !== null) await this.trainer.setWeights(weights)
    if (checkpoint !== null && this.privacy !== null) {
      this.startupWarnings.push('differential privacy: the ε spent before this restart is not counted again; the accountant starts over (privacy.releases counts this run only)')
    }
    const plan = this.trainer.dpSgdPlan
    this.recordPrivacy = plan === null ? null : new RecordPrivacy(plan, checkpoint?.privacy)
    if (this.recordPrivacy !== null && checkpoint !== null && checkpoint.privacy === undefined && checkpoint.step > 0) {
      this.startupWarnings.push(`record-level privacy: the checkpoint's model took ${checkpoint.step} steps without DP-SGD; no ε covers what it learned then, only the steps from now on are accounted`)
    }
    Object.assign(this.counters, checkpoint?.counters ?? emptyCounters(), { restarts })
    this.step = checkpoint?.step ?? 0
    this.samplesProcessed = checkpoint?.samplesProcessed ?? 0
    this.checkpointStep = this.step
    this.checkpointSavedAt = checkpoint?.savedAt ?? null
    this.resumedFromCheckpoint = checkpoint !== null
    for (const message of this.startupWarnings) this.logger.warn(message)
    // The first round's change is measured from where the node starts (initial weights or checkpoint).
    this.roundStart = await this.trainer.getWeights()
    await this.transport.start(this.handlers(), this.exchange.topic)
    if ((!this.resumedFromCheckpoint || this.staleCheckpoint(checkpoint?.savedAt)) && (this.init.warmJoin ?? true)) {
      this.warmJoin().catch((error: unknown) => {
        this.warn(`warm join failed: ${error instanceof Error ? error.message : String(error)}`)
      })
    }
    this.running = true
    this.loop = this.run().catch((error: unknown) => {
      const failure = error instanceof Error ? error : new Error(String(error))
      this.logger.error(`the training loop failed: ${failure.message}`)
      this.safeDispatchEvent('error', { detail: failure })
    })
  }

  private handlers (): TransportHandlers {
    return {
      push: (from, bytes) => this.intake.receivePush(from, bytes),
      announcement: (_from, bytes) => this.intake.checkAnnouncement(bytes),
      broadcast: (author, bytes, relayer) => this.intake.receiveBroadcast(author, bytes, relayer),
      admitModelRequest: from => {
        const admitted = !this.gate.isBlocked(from) && this.modelRequests.admit(from)
        if (!admitted) this.refusals.modelRequests++
        return admitted
      },
      modelRequest: async () => this.servedModel(),
      refused: kind => {
        if (kind === 'push') this.refusals.pushesBusy++
        else this.refusals.modelRequests++
      }
    }
  }

  /**
   * Whether a checkpoint is older than the peer window keeps a peer's model (the window's age, or
   * WINDOW_ROUNDS gossip periods): a node back after so long holds a model as stale as those it would
   * drop from others, so it catches up as a fresh node joins (warm join) rather than train on it and
   * push it to its peers. A phone is offline most of the time, and without this every session's first
   * round mixed a model minutes old into its neighbours' merges (docs/simulations.md, "Phones").
   */
  private staleCheckpoint (savedAt: string | undefined): boolean {
    if (savedAt === undefined) return false
    const saved = Date.parse(savedAt)
    const windowMs = Math.max(DEFAULT_WINDOW_MAX_AGE_MS, WINDOW_ROUNDS * (this.init.gossipPeriodMs ?? 0))
    return Number.isFinite(saved) && this.clock.now() - saved > windowMs
  }

  /** whether the node resumed from a checkpoint */
  get resumed (): boolean {
    return this.resumedFromCheckpoint
  }

  /** Problems found at start-up that did not stop the node (e.g. a damaged checkpoint skipped). */
  get warnings (): readonly string[] {
    return this.startupWarnings
  }

  private warn (message: string): void {
    this.logger.warn(message)
    this.safeDispatchEvent('warning', { detail: { message } })
  }

  /**
   * Without a checkpoint, ask several connected peers for their model (warm-join.ts): implausible and
   * outlying answers are refused, the rest combined with the manifest's rule. Training goes on
   * meanwhile; the model found is adopted at the next exchange.
   */
  private async warmJoin (): Promise<void> {
    const random = this.randomStream('warmJoin')
    const result = await warmJoin({
      peers: () => this.transport.peers().filter(peer => !this.gate.isBlocked(peer)),
      ask: async (peer, signal) => {
        const bytes = await this.transport.requestModel(peer, signal)
        const verdict = bytes === null ? null : validateUpdate(bytes, this.expectations)
        return verdict?.ok === true ? { from: peer, step: verdict.value.step, weights: verdict.value.weights } : null
      },
      // Not the intake's norm bound: a joiner's bound is anchored on the initial weights and knows
      // nothing of how far the swarm's models have grown. Answers are judged against each other
      // (outliers refused) and their combination against the joiner's held-out data.
      plausible: weights => Number.isFinite(norm(weights)),
      combine: (center, others) => this.mergeRule.merge({ weights: center, samples: 1 }, others.map(weights => ({ weights, samples: 1 }))),
      random: () => random.next(),
      signal: this.stopController.signal,
      clock: this.clock,
      patienceMs: WARM_JOIN_PATIENCE_MS
    })
    if (result !== null) {
      this.adopt = result
      this.joinedController.abort()
    }
  }

  private async run (): Promise<void> {
    // A failed checkpoint write (full disk) warns and is retried with backoff; the node keeps running.
    const checkpoints = new CheckpointSchedule({ intervalMs: this.init.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS, now: this.clock.now })
    const evaluationInterval = this.init.evaluationIntervalMs ?? DEFAULT_EVALUATION_INTERVAL_MS
    let lastEvaluation = -Infinity
    const maxCpu = this.init.maxCpu ?? 1
    const gossipPeriod = this.init.gossipPeriodMs ?? 0
    const gossip = this.randomStream('gossip')
    let period = firstRoundPeriodMs(gossipPeriod, () => gossip.next())
    // A joining (or catching-up) node's first round ends when the swarm's model has come: the node
    // serves and shares it from then on, rather than its start's model for up to a period.
    let wait = AbortSignal.any([this.stopController.signal, this.joinedController.signal])
    while (!this.stopping) {
      const trainingStarted = this.clock.now()
      const steps = await this.affordableSteps(this.manifest.training.localSteps)
      const result = steps > 0 ? await this.trainer.train(steps, this.recordPrivacy === null ? undefined : { dpSgdStepsTaken: this.recordPrivacy.stepsTaken() }) : { steps: 0, samples: 0, loss: 0 }
      this.recordPrivacy?.spend(result.steps)
      this.stepsSinceCheckpoint += result.steps
      if (maxCpu < 1) await idle(this.clock, dutyCycleIdleMs(this.clock.now() - trainingStarted, maxCpu), this.stopController.signal)
      if (gossipPeriod > 0) await idle(this.clock, gossipIdleMs(this.clock.now() - trainingStarted, period), wait)
      period = gossipPeriod
      wait = this.stopController.signal
      // Budget spent: the node goes on merging and sharing (which spends nothing) at an easy pace.
      if (steps === 0) await idle(this.clock, EXHAUSTED_ROUND_MS, this.stopController.signal)
      this.step += result.steps
      this.samplesProcessed += result.samples
      // Staleness is counted in this node's rounds, not seconds (peer-window.ts).
      const roundMs = this.clock.now() - trainingStarted
      this.intake.window.pace(roundMs)
      await this.round(await this.trainer.getWeights(), roundMs)
      if (this.clock.now() - lastEvaluation >= evaluationInterval) {
        this.lastAccuracy = await this.trainer.evaluate('holdout')
        lastEvaluation = this.clock.now()
        this.safeDispatchEvent('evaluation', { detail: { step: this.step, accuracy: this.lastAccuracy } })
      }
      if (checkpoints.due()) {
        const message = await checkpoints.attempt(async () => { await this.checkpoint() })
        if (message !== null) this.warn(message)
      }
    }
  }

  /** After local training: release (privacy), adopt or merge, share. */
  private async round (trained: Weights, roundMs: number): Promise<void> {
    let weights = trained
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
    const received = this.intake.window.current()
    const adopt = this.adopt
    this.adopt = null
    if (adopt !== null && await this.adoptionHelps(adopt.weights, weights)) {
      // A fresh node takes the swarm's model as its own: its few local steps on the initial weights are worth less.
      weights = adopt.weights
      shared = weights
      this.average.reset(weights)
      this.intake.guard.adopt(weights)
      this.warmJoined = { from: adopt.from, step: adopt.step, at: isoTime(this.clock), answers: adopt.answers, refused: adopt.refused }
      this.safeDispatchEvent('warm-join', { detail: { from: adopt.from, step: adopt.step, samples: 0 } })
    } else if (received.length > 0) {
      // Claimed sample counts weigh only as far as they are plausible (sample-claims.ts), and a stale
      // model counts less (staleness weight 2^(−age / half-life) on its sample count).
      const claims = plausibleClaims(this.samplesProcessed, received.map(entry => entry.value.samples))
      weights = this.mergeRule.merge(
        { weights, samples: this.samplesProcessed },
        received.map((entry, index) => ({ weights: entry.value.weights, samples: (claims[index] as number) * entry.weight })),
        // Clipped around the model this round started from, not the one it trained on its own data.
        this.roundStart ?? undefined
      )
      this.assertFinite(weights, 'after merging')
      await this.trainer.setWeights(weights)
    }
    // Long rounds (a gossip period of minutes) count as several: the average spans a time, not only a count of rounds.
    this.model = this.average.add(weights, averageRounds(roundMs))
    this.roundStart = weights
    this.encodedCache = null
    this.intake.guard.reference(weights, this.initialNorm)
    if (share) {
      this.released = shared
      await this.share(shared, received.length)
    }
  }

  private async share (model: Weights, merged: number): Promise<void> {
    const { recipients, bytes } = await this.exchange.share({ weights: model, samples: this.samplesProcessed }, { step: this.step, samples: this.samplesProcessed })
    this.counters.exchanges++
    this.safeDispatchEvent('exchange', { detail: { step: this.step, merged, recipients, bytes } })
  }

  /**
   * The model others may see (warm joins, GET /model): with differential privacy, the last one
   * released, never training that was not privatised; null before there is one to give.
   */
  private async publicWeights (): Promise<Weights | null> {
    if (this.privacy !== null) return this.released
    if (this.model === null && !this.resumedFromCheckpoint) return null
    return this.model ?? await this.trainer.getWeights()
  }

  /** The public model, encoded once per step however many ask for it; null before there is one. */
  async publicModel (): Promise<Uint8Array | null> {
    if (this.encodedCache?.step === this.step) return this.encodedCache.bytes
    const step = this.step
    const weights = await this.publicWeights()
    if (weights === null) return null
    const bytes = this.encode(weights, this.samplesProcessed)
    this.encodedCache = { step, bytes }
    return bytes
  }

  /** What model requests (warm joins) get: the public model as the exchange serves it. */
  private async servedModel (): Promise<Uint8Array | null> {
    const weights = await this.publicWeights()
    if (weights === null) return null
    const honest: Outgoing = { weights, samples: this.samplesProcessed }
    const served = this.exchange.serve(honest)
    return served === honest ? this.publicModel() : this.encode(served.weights, served.samples)
  }

  private encode (weights: Weights, samples: number): Uint8Array {
    return encodeUpdate({ swarmId: this.swarmId, step: this.step, samples, weights, createdAt: this.clock.now() })
  }

  private async encodedModel (): Promise<Uint8Array> {
    return this.encode(this.model ?? await this.trainer.getWeights(), this.samplesProcessed)
  }

  /** The node's current model (its own, merged; not the privatised release). */
  async getModel (): Promise<ModelSnapshot> {
    const weights = this.model ?? await this.trainer.getWeights()
    return { weights, step: this.step, samplesProcessed: this.samplesProcessed }
  }

  /**
   * Whether the warm join's model does at least as well as the node's own on the node's held-out data:
   * a fact the node checks itself, where sample counts are only claims. It declines models that would
   * set it back (answers older than its own training, or poisoned ones). Leaves the trainer holding
   * the model chosen.
   */
  private async adoptionHelps (theirs: Weights, own: Weights): Promise<boolean> {
    const ownAccuracy = await this.trainer.evaluate('holdout')
    await this.trainer.setWeights(theirs)
    const theirAccuracy = await this.trainer.evaluate('holdout')
    if (ownAccuracy === null || theirAccuracy === null || theirAccuracy >= ownAccuracy - ADOPTION_TOLERANCE) return true
    await this.trainer.setWeights(own)
    this.warn(`warm join: the swarm's model scored ${theirAccuracy.toFixed(3)} on this node's held-out data, its own ${ownAccuracy.toFixed(3)}: keeping its own`)
    return false
  }

  /** A model with NaN or ±Infinity would poison everything it touches: the node stops instead. */
  private assertFinite (weights: Weights, when: string): void {
    if (!allFinite(weights)) {
      throw new MurmurError('ERR_MODEL_DIVERGED', `the node's own model holds NaN or infinite values ${when} (step ${this.step}); the node stops rather than share or judge others by it. Lower training.learningRate or restart from the last checkpoint`)
    }
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

  /** Saves the served model, the model training goes on from, step and counters atomically. */
  async checkpoint (): Promise<void> {
    const savedAt = isoTime(this.clock)
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
      ...(this.model === null ? {} : { training: this.encode(await this.trainer.getWeights(), this.samplesProcessed) }),
      ...(this.recordPrivacy === null ? {} : { privacy: this.recordPrivacy.ledger(reserve) })
    })
    this.checkpointStep = this.step
    this.checkpointSavedAt = savedAt
    this.safeDispatchEvent('checkpoint', { detail: { step: this.step } })
  }

  /** Refuses these peers from now on (a simulated partition; an empty list heals it) and closes their connections. */
  async block (peers: readonly string[]): Promise<void> {
    for (const peer of peers) this.intake.window.delete(peer)
    this.gate.set(peers)
    await this.transport.disconnect(this.transport.peers().filter(peer => this.gate.isBlocked(peer)))
  }

  status (): CoreStatus {
    const stats = this.exchange.stats()
    const bound = this.intake.guard.bound
    const privacy = this.recordPrivacy?.status() ?? this.privacy?.status()
    return {
      swarmId: this.swarmId,
      step: this.step,
      samplesProcessed: this.samplesProcessed,
      swarmPeers: this.transport.swarmPeers().length,
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
      ...(privacy === undefined ? {} : { privacy }),
      exchange: {
        mode: this.manifest.exchange.mode,
        fanout: this.fanout,
        codec: this.manifest.codec,
        inFlight: stats.inFlight,
        sendsDropped: this.counters.sendsDropped,
        sendsFailed: this.counters.sendsFailed,
        resyncs: this.counters.resyncs,
        sendsRelayed: stats.sendsRelayed,
        sendsSkippedRelayed: stats.sendsSkippedRelayed
      },
      blockedPeers: this.gate.blockedPeers().length,
      graylistedPeers: this.gate.graylistedPeers().length,
      intake: {
        normBound: Number.isFinite(bound) ? bound : null,
        trackedPeers: this.intake.guard.trackedPeers,
        pushesBusy: this.refusals.pushesBusy,
        modelRequestsRefused: this.refusals.modelRequests
      },
      data: { trainSamples: this.trainer.trainSamples, holdoutSamples: this.trainer.holdoutSamples }
    }
  }

  /**
   * Stops training after the current step, writes a final checkpoint and stops the exchange and the
   * transport. The trainer and the store are the caller's to close.
   */
  async stop (): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    this.stopController.abort()
    await this.loop
    try {
      // A start that failed (e.g. the store holds another swarm's node) must not overwrite that state.
      if (this.running) await this.checkpoint()
    } finally {
      this.exchange.stop()
      await this.transport.stop()
    }
  }
}
