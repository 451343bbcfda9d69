import { systemClock } from './clock.js'
/**
 * Which peers this node refuses: blocked by the operator or a simulation (a network partition),
 * graylisted for a while by the intake (they kept sending what the node refuses), or not on an
 * explicit membership list. The core decides; a transport consults the same gate to refuse
 * connections (src/p2p/peer-gate.ts turns it into libp2p's connection gater).
 */
export class PeerGate {
  private blocked = new Set<string>()
  /** peers refused for a while: id → until (ms on the gate's clock) */
  private readonly graylisted = new Map<string, number>()
  /** when set, the only peers allowed (an operator's explicit membership list) */
  private readonly allowed: ReadonlySet<string> | null

  /** `now`: the clock graylisting expires on (default systemClock.now) */
  constructor (allowed?: readonly string[], private readonly now: () => number = systemClock.now) {
    this.allowed = allowed === undefined ? null : new Set(allowed)
  }

  isBlocked (peer: { toString: () => string } | string): boolean {
    const id = peer.toString()
    const until = this.graylisted.get(id)
    if (until !== undefined && until <= this.now()) this.graylisted.delete(id)
    return this.blocked.has(id) || this.graylisted.has(id) || (this.allowed !== null && !this.allowed.has(id))
  }

  /** Refuses a misbehaving peer for `ms`. */
  graylist (peer: string, ms: number): void {
    // Expired entries go first, so the map holds only peers refused now.
    const now = this.now()
    for (const [id, until] of this.graylisted) if (until <= now) this.graylisted.delete(id)
    this.graylisted.set(peer, now + ms)
  }

  graylistedPeers (): string[] {
    return [...this.graylisted.keys()].filter(peer => this.isBlocked(peer))
  }

  blockedPeers (): string[] {
    return [...this.blocked]
  }

  /** Replaces the set of blocked peers. */
  set (peers: readonly string[]): void {
    this.blocked = new Set(peers)
  }
}
