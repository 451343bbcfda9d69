import { sha256 } from '@noble/hashes/sha2'

/** A seed for a node's own random choices and data order: differs between nodes, stable across restarts. */
export function seedFromPeerId (peerId: string): number {
  // The first four bytes of its SHA-256, little-endian (the same in a process and a browser node).
  const hash = sha256(new TextEncoder().encode(peerId))
  return new DataView(hash.buffer, hash.byteOffset, 4).getUint32(0, true)
}
