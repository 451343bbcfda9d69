import type { PeerId } from '@libp2p/interface'
import type { Host } from './host.js'
import type { RefusedPeers } from './peer-gate.js'

export interface PeerKeeperOptions {
  /** redial known peers while fewer than this many are connected */
  readonly targetPeers: number
  readonly intervalMs?: number
  readonly maxBackoffMs?: number
}

/**
 * Keeps a node connected: peers it has known (bootstrap list, discovery, past connections) are
 * dialled again when they drop, with exponential backoff per peer. A node that lost every peer keeps
 * training alone and rejoins as soon as one of them is reachable again; a restarted or healed peer
 * is found without any coordinator.
 */
export class PeerKeeper {
  private readonly host: Host
  private readonly gate: RefusedPeers
  private readonly options: PeerKeeperOptions
  private readonly nextAttempt = new Map<string, { at: number; failures: number }>()
  private timer: NodeJS.Timeout | undefined
  private running = false

  constructor (host: Host, gate: RefusedPeers, options: PeerKeeperOptions) {
    this.host = host
    this.gate = gate
    this.options = options
  }

  start (): void {
    this.timer = setInterval(() => { void this.tick() }, this.options.intervalMs ?? 2_000)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  private async tick (): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      const connected = new Set(this.host.getPeers().map(peer => peer.toString()))
      if (connected.size >= this.options.targetPeers) return
      const now = Date.now()
      const candidates: PeerId[] = []
      const known = await this.host.peerStore.all()
      // Backoff state only for peers the peer store still knows: the map stays as bounded as the store.
      const knownIds = new Set(known.map(peer => peer.id.toString()))
      for (const id of this.nextAttempt.keys()) if (!knownIds.has(id)) this.nextAttempt.delete(id)
      for (const peer of known) {
        const id = peer.id.toString()
        if (connected.has(id) || peer.addresses.length === 0 || this.gate.isBlocked(id)) continue
        if ((this.nextAttempt.get(id)?.at ?? 0) > now) continue
        candidates.push(peer.id)
      }
      await Promise.all(candidates.slice(0, this.options.targetPeers - connected.size).map(async peer => this.dial(peer)))
    } finally {
      this.running = false
    }
  }

  private async dial (peer: PeerId): Promise<void> {
    const id = peer.toString()
    try {
      await this.host.dial(peer, { signal: AbortSignal.timeout(5_000) })
      this.nextAttempt.delete(id)
    } catch {
      const failures = (this.nextAttempt.get(id)?.failures ?? 0) + 1
      const backoff = Math.min(this.options.maxBackoffMs ?? 30_000, 1_000 * 2 ** (failures - 1))
      this.nextAttempt.set(id, { at: Date.now() + backoff, failures })
    }
  }
}
