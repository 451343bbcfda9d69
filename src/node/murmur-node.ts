import { TypedEventEmitter } from 'main-event'
import { attacking } from '../attacks/attacking-exchange.js'
import type { Attack } from '../attacks/attack.js'
import { NODE_EVENT_NAMES, type NodeCoreEvents } from '../core/node-events.js'
import { NodeCore, type ModelSnapshot } from '../core/node-core.js'
import { PeerGate } from '../core/peer-gate.js'
import type { Logger } from '../core/logger.js'
import { maxUpdateBytes } from '../core/update-codec.js'
import type { BackendName } from '../learning/backend-names.js'
import { swarmIdOf, type Manifest, type RecordPrivacySettings } from '../learning/manifest.js'
import { weightShapes } from '../learning/models.js'
import { forgedAuthorsPublisher } from '../p2p/forged-authors.js'
import { createHost, DEFAULT_LISTEN, type Host, type HostOptions } from '../p2p/host.js'
import { announcementTopic, modelTopic } from '../p2p/model-gossip.js'
import { PeerKeeper } from '../p2p/peer-keeper.js'
import { ConnectionList } from '../p2p/connection-list.js'
import type { ApiAddress } from './api.js'
import { Libp2pTransport } from './libp2p-transport.js'
import { NodeApi } from './node-api.js'
import { ProcessMonitor } from './process-monitor.js'
import { seedFromPeerId } from './peer-seed.js'
import type { NodeStatus } from './status.js'
import { NodeStore } from './store.js'
import { WarningLog } from './warning-log.js'
import { startTrainer, type NodeDataSource } from './trainer-start.js'
import type { NodeTrainer } from '../core/node-trainer.js'

export type { ExchangeDetail } from '../core/node-events.js'

export interface MurmurNodeOptions {
  readonly manifest: Manifest
  /**
   * the node's data: a data spec, e.g. mnist:1/8 (see docs/data.md), or records given as arrays
   * (NodeDataArrays); loaded in the training worker either way
   */
  readonly data?: NodeDataSource
  /** the same as `data: '<spec>'` (kept for the CLI and older programs) */
  readonly dataSpec?: string
  readonly datadir: string
  /** addresses to listen on (default: TCP on every interface, a port the system picks) */
  readonly listen?: readonly string[]
  readonly bootstrap?: readonly string[]
  readonly mdns?: boolean
  /** addresses peers can dial this node at, besides what it listens on (see docs/deployment.md) */
  readonly announce?: readonly string[]
  /** offer the circuit relay service (default: when the node expects to be publicly reachable) */
  readonly relayService?: boolean
  /** libp2p transports to add to the node's own (TCP, WebSockets, circuit relay), e.g. webRTC() */
  readonly transports?: HostOptions['transports']
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
  /** simulation only: share poisoned models (see src/attacks) */
  readonly attack?: Attack
  /** record-level DP-SGD for this node's records, in place of the manifest's (murmur start --dp-epsilon) */
  readonly recordPrivacy?: RecordPrivacySettings
  /** where the node's messages go (default: nowhere; its warnings are also 'warning' events) */
  readonly logger?: Logger
}

/** The events of a node (the core's, see src/core/node-events.ts). */
export type MurmurNodeEvents = NodeCoreEvents

const DEFAULT_TARGET_PEERS = 32

/**
 * One murmur node as an OS process sees it: the protocol's core (src/core/node-core.ts) wired to a
 * libp2p host, a LevelDB store, a training worker thread and, when asked, the local HTTP API.
 * Everything the node decides, the core decides; this class starts, connects and stops the parts.
 */
export class MurmurNode extends TypedEventEmitter<MurmurNodeEvents> {
  readonly manifest: Manifest
  readonly swarmId: string
  private readonly options: MurmurNodeOptions
  private readonly core: NodeCore
  private readonly host: Host
  private readonly store: NodeStore
  private readonly trainer: NodeTrainer
  private readonly keeper: PeerKeeper
  private readonly connections: ConnectionList
  private readonly monitor = new ProcessMonitor()
  /** start-up and recent warnings, for GET /status */
  private readonly warningLog = new WarningLog()
  private readonly startupWarnings: string[]
  private api: NodeApi | null = null
  private stopping = false

  private constructor (init: { options: MurmurNodeOptions; core: NodeCore; host: Host; store: NodeStore; trainer: NodeTrainer; gate: PeerGate }) {
    super()
    this.options = init.options
    this.manifest = init.options.manifest
    this.core = init.core
    this.swarmId = init.core.swarmId
    this.host = init.host
    this.store = init.store
    this.trainer = init.trainer
    this.keeper = new PeerKeeper(this.host, init.gate, { targetPeers: init.options.targetPeers ?? DEFAULT_TARGET_PEERS })
    this.connections = new ConnectionList(this.host)
    this.startupWarnings = [...init.store.warnings, ...init.core.warnings]
    for (const message of this.startupWarnings) this.warningLog.pin(message)
    for (const name of NODE_EVENT_NAMES) {
      this.core.addEventListener(name, event => { this.safeDispatchEvent(name, { detail: event.detail }) })
    }
    this.addEventListener('warning', event => { this.warningLog.add(event.detail.message) })
  }

  /** Opens the store, starts the host and the training worker, resumes from the last checkpoint. */
  static async start (options: MurmurNodeOptions, signal?: AbortSignal): Promise<MurmurNode> {
    const swarmId = swarmIdOf(options.manifest)
    const shapes = weightShapes(options.manifest.model, options.manifest.dataset.inputShape).map(w => w.shape)
    const maxBytes = maxUpdateBytes({ swarmId, shapes })
    const store = options.store ?? await NodeStore.open(options.datadir)
    let host: Host | undefined
    let trainer: NodeTrainer | undefined
    let core: NodeCore | undefined
    try {
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
        maxMessageBytes: maxBytes * 2,
        targetPeers: options.targetPeers ?? DEFAULT_TARGET_PEERS,
        swarmId,
        ...(options.transports === undefined ? {} : { transports: options.transports }),
        ...(options.announce === undefined ? {} : { announce: options.announce }),
        ...(options.relayService === undefined ? {} : { relayService: options.relayService })
      })
      const peerId = host.peerId.toString()
      const seed = seedFromPeerId(peerId)
      trainer = await startTrainer(options, seed, signal)
      const transport = new Libp2pTransport({ host, swarmId, maxUpdateBytes: maxBytes })
      core = new NodeCore({ transport, store, trainer, gate, ...(options.logger === undefined ? {} : { logger: options.logger }) }, {
        id: peerId,
        manifest: options.manifest,
        swarmId,
        seed,
        ...(options.maxCpu === undefined ? {} : { maxCpu: options.maxCpu }),
        ...(options.checkpointIntervalMs === undefined ? {} : { checkpointIntervalMs: options.checkpointIntervalMs }),
        ...(options.evaluationIntervalMs === undefined ? {} : { evaluationIntervalMs: options.evaluationIntervalMs }),
        ...(options.warmJoin === undefined ? {} : { warmJoin: options.warmJoin }),
        ...(options.attack === undefined ? {} : { decorateExchange: attacking(options.attack, { forge: forgedAuthorsPublisher(host, modelTopic(swarmId)) }) })
      })
      await core.start()
      const node = new MurmurNode({ options, core, host, store, trainer, gate })
      await node.begin()
      return node
    } catch (error) {
      await core?.stop().catch(() => {})
      await trainer?.close()
      await host?.stop()
      await store.close()
      throw error
    }
  }

  private async begin (): Promise<void> {
    this.monitor.start()
    this.keeper.start()
    if (this.options.api !== undefined) {
      this.api = await NodeApi.start(this.options.api, {
        datadir: this.options.datadir,
        manifest: this.manifest,
        status: () => this.status(),
        model: async () => this.core.publicModel(),
        blockedPeers: { get: () => this.core.gate.blockedPeers(), set: async peers => { await this.core.block(peers) } }
      })
      if (this.api.exposureWarning !== null) {
        this.startupWarnings.push(this.api.exposureWarning)
        this.warningLog.pin(this.api.exposureWarning)
      }
    }
  }

  get peerId (): string {
    return this.core.id
  }

  /** HOST:PORT of the local API, when it runs */
  get apiAddress (): string | null {
    return this.api?.address ?? null
  }

  /** the file holding the local API's token (state-changing requests need it), when the API runs */
  get apiTokenFile (): string | null {
    return this.api?.tokenFile ?? null
  }

  get backend (): string {
    return this.trainer.backend
  }

  /** whether the node resumed from a checkpoint */
  get resumed (): boolean {
    return this.core.resumed
  }

  /** Problems found at start-up that did not stop the node (e.g. a damaged checkpoint skipped). */
  get warnings (): readonly string[] {
    return this.startupWarnings
  }

  /** The node's current model: its weights (in the manifest's layer order), step and samples processed. */
  async getModel (): Promise<ModelSnapshot> {
    return this.core.getModel()
  }

  /** Saves the current model, step and counters atomically. */
  async checkpoint (): Promise<void> {
    await this.core.checkpoint()
  }

  multiaddrs (): string[] {
    return this.host.getMultiaddrs().map(address => address.toString())
  }

  status (): NodeStatus {
    const core = this.core.status()
    return {
      peerId: this.peerId,
      backend: this.backend,
      maxCpu: this.options.maxCpu ?? 1,
      multiaddrs: this.multiaddrs(),
      peers: this.host.getPeers().length,
      connections: this.connections.list(),
      reachability: this.host.services.reachability.reachability(),
      admission: this.host.services.admission?.counts() ?? null,
      ...core,
      role: this.options.attack === undefined ? 'honest' : 'attacker',
      ...this.monitor.status(),
      warnings: this.warningLog.list()
    }
  }

  /** Stops training after the current step, writes a final checkpoint and closes everything. */
  async stop (): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    try {
      await this.core.stop()
    } finally {
      this.monitor.stop()
      this.keeper.stop()
      await this.api?.close()
      await this.trainer.close()
      await this.host.stop()
      await this.store.close()
    }
  }
}
