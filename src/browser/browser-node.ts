import { TypedEventEmitter } from 'main-event'
import type { CoreStatus } from '../core/core-status.js'
import { NodeCore } from '../core/node-core.js'
import { NODE_EVENT_NAMES, type NodeCoreEvents } from '../core/node-events.js'
import { PeerGate } from '../core/peer-gate.js'
import { maxUpdateBytes } from '../core/update-codec.js'
import type { NodeData } from '../data/node-data.js'
import type { BackendName } from '../learning/backend-names.js'
import { swarmIdOf, type Manifest } from '../learning/manifest.js'
import { weightShapes } from '../learning/models.js'
import { Libp2pTransport } from '../node/libp2p-transport.js'
import { seedFromPeerId } from '../node/peer-seed.js'
import type { AdmissionCounts } from '../p2p/admission.js'
import type { Host } from '../p2p/host.js'
import { announcementTopic, modelTopic } from '../p2p/model-gossip.js'
import { createBrowserHost } from './browser-host.js'
import { BrowserStore } from './browser-store.js'
import { BrowserTrainer } from './browser-trainer.js'

export interface BrowserNodeInit {
  readonly manifest: Manifest
  /** WebSockets multiaddrs (with /p2p/) of process nodes to join through */
  readonly bootstrap: readonly string[]
  /** the swarm key file's content, for a private swarm */
  readonly swarmKey?: Uint8Array
  /** the node's records, chosen by the caller once it knows the node's peer id (see BrowserNode.identity) */
  readonly data: (peerId: string) => Promise<NodeData>
  readonly workerUrl: string
  /** a TF.js backend to use instead of the fastest that loads (webgl, wasm, cpu) */
  readonly backend?: BackendName
  readonly wasmPath: string
  /** STUN/TURN servers for WebRTC between tabs on different networks (default none) */
  readonly iceServers?: RTCIceServer[]
  /** time between checkpoints (default the core's, 10 s) */
  readonly checkpointIntervalMs?: number
  /** time between evaluations (default the core's, 2 s) */
  readonly evaluationIntervalMs?: number
}

/** One connection as the page shows it. */
export interface BrowserConnection {
  readonly peer: string
  /** webrtc, websockets or relayed */
  readonly transport: string
}

/** What the page shows: the core's status and what only the browser node knows. */
export interface BrowserNodeStatus extends CoreStatus {
  readonly peerId: string
  readonly backend: string
  readonly peers: number
  readonly connections: BrowserConnection[]
  readonly resumed: boolean
  /** training speed: samples a second while training */
  readonly samplesPerSecond: number
  /** connections refused or cut by admission (a private swarm), and peers admitted */
  readonly admission: AdmissionCounts | null
}

function transportOf (address: string): string {
  if (address.includes('/webrtc')) return 'webrtc'
  if (address.includes('/p2p-circuit')) return 'relayed'
  if (address.includes('/ws') || address.includes('/wss')) return 'websockets'
  return 'other'
}

/**
 * A browser tab as a murmur node: the same node core as a process node (src/core/node-core.ts),
 * with browser adapters: a libp2p host of WebSockets, WebRTC and circuit relay (browser-host.ts)
 * behind the process node's own libp2p transport adapter, TF.js in a Web Worker (browser-trainer.ts),
 * checkpoints and identity in IndexedDB (browser-store.ts). Its records never leave the tab.
 */
export class BrowserNode extends TypedEventEmitter<NodeCoreEvents> {
  readonly core: NodeCore
  readonly host: Host
  private readonly store: BrowserStore
  private readonly trainer: BrowserTrainer

  private constructor (core: NodeCore, host: Host, store: BrowserStore, trainer: BrowserTrainer) {
    super()
    this.core = core
    this.host = host
    this.store = store
    this.trainer = trainer
    for (const name of NODE_EVENT_NAMES) {
      this.core.addEventListener(name, event => { this.safeDispatchEvent(name, { detail: event.detail }) })
    }
  }

  /** The IndexedDB database of a swarm's browser node. */
  static databaseName (manifest: Manifest): string {
    return `murmur-${swarmIdOf(manifest)}`
  }

  static async start (init: BrowserNodeInit): Promise<BrowserNode> {
    const swarmId = swarmIdOf(init.manifest)
    const shapes = weightShapes(init.manifest.model, init.manifest.dataset.inputShape).map(weights => weights.shape)
    const maxBytes = maxUpdateBytes({ swarmId, shapes })
    const store = await BrowserStore.open(BrowserNode.databaseName(init.manifest))
    let host: Host | undefined
    let trainer: BrowserTrainer | undefined
    try {
      const { identity } = await store.identity()
      const gate = new PeerGate()
      host = await createBrowserHost({
        identity,
        bootstrap: init.bootstrap,
        swarmId,
        gate,
        maxMessageBytes: maxBytes * 2,
        scoredTopics: [init.manifest.exchange.mode === 'broadcast' ? modelTopic(swarmId) : announcementTopic(swarmId)],
        ...(init.swarmKey === undefined ? {} : { swarmKey: init.swarmKey }),
        ...(init.iceServers === undefined ? {} : { iceServers: init.iceServers })
      })
      const peerId = host.peerId.toString()
      const seed = seedFromPeerId(peerId)
      trainer = await BrowserTrainer.start({ workerUrl: init.workerUrl, wasmPath: init.wasmPath, ...(init.backend === undefined ? {} : { backend: init.backend }), manifest: init.manifest, data: await init.data(peerId), seed })
      const transport = new Libp2pTransport({ host, swarmId, maxUpdateBytes: maxBytes })
      const core = new NodeCore({ transport, store, trainer, gate }, {
        id: peerId,
        manifest: init.manifest,
        swarmId,
        seed,
        ...(init.checkpointIntervalMs === undefined ? {} : { checkpointIntervalMs: init.checkpointIntervalMs }),
        ...(init.evaluationIntervalMs === undefined ? {} : { evaluationIntervalMs: init.evaluationIntervalMs })
      })
      const node = new BrowserNode(core, host, store, trainer)
      await core.start()
      return node
    } catch (error) {
      await trainer?.close()
      await host?.stop()
      await store.close()
      throw error
    }
  }

  get peerId (): string {
    return this.core.id
  }

  /** accuracy of the node's model on the data's shared test split (null without one) */
  async testAccuracy (): Promise<number | null> {
    return this.trainer.evaluate('test')
  }

  status (): BrowserNodeStatus {
    const admission = this.host.services.admission?.counts() ?? null
    return {
      ...this.core.status(),
      peerId: this.peerId,
      backend: this.trainer.backend,
      peers: this.host.getPeers().length,
      connections: this.host.getConnections().map(connection => ({ peer: connection.remotePeer.toString(), transport: transportOf(connection.remoteAddr.toString()) })),
      resumed: this.core.resumed,
      samplesPerSecond: this.trainer.samplesPerSecond,
      admission
    }
  }

  /** Stops training, writes a last checkpoint, leaves the swarm. */
  async stop (): Promise<void> {
    try {
      await this.core.stop()
    } finally {
      await this.trainer.close()
      await this.host.stop()
      await this.store.close()
    }
  }
}
