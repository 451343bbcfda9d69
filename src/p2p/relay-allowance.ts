import type { Connection } from '@libp2p/interface'

/**
 * Share of a relayed connection's data limit a node spends on its own transfers: the rest is left to
 * everything else that crosses the same connection (identify, stream framing, what the peer sends), so a model
 * never runs the relay's limit out and takes the connection down with it.
 */
export const RELAY_DATA_SHARE = 0.5

/** How a transfer of some size may go to a peer now. */
export type TransferPath =
  | { readonly kind: 'direct'; readonly connection: Connection }
  | { readonly kind: 'relayed'; readonly connection: Connection }
  /** only relayed connections, on which it does not fit; or none at all */
  | { readonly kind: 'none'; readonly reason: 'too-large-for-relay' | 'not-connected' }

/**
 * Chooses the connection a transfer goes over: any direct connection; otherwise a relayed one if the
 * transfer fits in what is left of that connection's data limit (relays cap relayed connections,
 * by default at 128 KiB and 2 minutes: circuit relay v2). Counts what it sends over each relayed
 * connection; the owner calls forget() when a connection closes.
 */
export class RelayAllowance {
  private readonly sent = new Map<string, number>()

  choose (connections: readonly Connection[], bytes: number): TransferPath {
    const open = connections.filter(connection => connection.status === 'open')
    const direct = open.find(connection => connection.limits === undefined)
    if (direct !== undefined) return { kind: 'direct', connection: direct }
    for (const connection of open) {
      if (this.fits(connection, bytes)) return { kind: 'relayed', connection }
    }
    return { kind: 'none', reason: open.length === 0 ? 'not-connected' : 'too-large-for-relay' }
  }

  /** Records bytes sent over a relayed connection. */
  spend (connection: Connection, bytes: number): void {
    this.sent.set(connection.id, (this.sent.get(connection.id) ?? 0) + bytes)
  }

  /** Forgets a closed connection. */
  forget (connectionId: string): void {
    this.sent.delete(connectionId)
  }

  private fits (connection: Connection, bytes: number): boolean {
    const limit = connection.limits?.bytes
    // A relay that limits only the duration: a model fits if it is sent soon, which a push is.
    if (limit === undefined) return true
    return (this.sent.get(connection.id) ?? 0) + bytes <= Number(limit) * RELAY_DATA_SHARE
  }
}
