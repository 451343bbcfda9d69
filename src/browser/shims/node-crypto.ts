/**
 * What the browser bundle gives modules that import node:crypto for hashing only (the manifest's
 * swarm id): createHash('sha256') on @noble/hashes. The bundler maps node:crypto here (scripts/build-web.mjs).
 */
import { sha256 } from '@noble/hashes/sha2'

class Sha256 {
  private readonly parts: Uint8Array[] = []

  update (data: string | Uint8Array): this {
    this.parts.push(typeof data === 'string' ? new TextEncoder().encode(data) : data)
    return this
  }

  digest (encoding?: 'hex'): string | Uint8Array {
    const total = this.parts.reduce((sum, part) => sum + part.byteLength, 0)
    const all = new Uint8Array(total)
    let offset = 0
    for (const part of this.parts) {
      all.set(part, offset)
      offset += part.byteLength
    }
    const hash = sha256(all)
    if (encoding === 'hex') return Array.from(hash, byte => byte.toString(16).padStart(2, '0')).join('')
    return hash
  }
}

export function createHash (algorithm: string): Sha256 {
  if (algorithm !== 'sha256') throw new Error(`the browser build hashes with sha256 only, not ${algorithm}`)
  return new Sha256()
}
