import { createHash } from 'node:crypto'

/** A seed for a node's own random choices and data order: differs between nodes, stable across restarts. */
export function seedFromPeerId (peerId: string): number {
  return createHash('sha256').update(peerId).digest().readUInt32LE(0)
}
