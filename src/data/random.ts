import { MurmurError } from '../errors.js'

/**
 * A seeded pseudo-random source. Everything in murmur that must agree across nodes (partitions,
 * holdouts, shuffles) draws from one of these, never from Math.random.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number
  /** Uniform integer in [0, maxExclusive). */
  integer(maxExclusive: number): number
  /** Standard normal (mean 0, variance 1). */
  normal(): number
  /** Gamma(shape, scale 1); shape > 0. */
  gamma(shape: number): number
  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[]
}

const TWO_TO_32 = 4294967296

function assertSeed (seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `a random seed must be a non-negative integer, got ${String(seed)}`)
  }
}

/** splitmix32: spreads nearby seeds (0, 1, 2…) into unrelated 32-bit states. */
function splitmix32 (state: number): () => number {
  let s = state | 0
  return () => {
    s = (s + 0x9e3779b9) | 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
}

/**
 * A new seed derived from a seed and some salts (e.g. a part number), so separate uses of one seed
 * draw independent streams instead of replaying the same numbers.
 */
export function deriveSeed (seed: number, ...salts: number[]): number {
  assertSeed(seed)
  let hash = splitmix32(seed % TWO_TO_32)() ^ splitmix32(Math.floor(seed / TWO_TO_32) ^ 0x5bd1e995)()
  for (const salt of salts) hash = splitmix32(hash ^ Math.imul(salt | 0, 0x27d4eb2d))()
  return hash >>> 0
}

/** sfc32 (Chris Doty-Humphrey's small fast counting generator): fast, 128-bit state, passes PractRand. */
export function createRandom (seed: number): Random {
  assertSeed(seed)
  const low = splitmix32(seed % TWO_TO_32)
  const high = splitmix32(Math.floor(seed / TWO_TO_32) ^ 0x5bd1e995)
  let a = low()
  let b = low()
  let c = low() ^ high()
  let d = 1

  function next (): number {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / TWO_TO_32
  }
  // The first outputs still echo the seeding; discard them.
  for (let i = 0; i < 12; i++) next()

  function integer (maxExclusive: number): number {
    if (!Number.isSafeInteger(maxExclusive) || maxExclusive <= 0) {
      throw new MurmurError('ERR_INVALID_ARGUMENT', `random.integer needs a positive integer bound, got ${String(maxExclusive)}`)
    }
    return Math.floor(next() * maxExclusive)
  }

  // Box–Muller; 1 - next() lies in (0, 1] so the logarithm is finite.
  function normal (): number {
    const radius = Math.sqrt(-2 * Math.log(1 - next()))
    return radius * Math.cos(2 * Math.PI * next())
  }

  // Marsaglia & Tsang (2000); shapes below 1 are boosted to shape + 1 and scaled back by U^(1/shape).
  function gamma (shape: number): number {
    if (!Number.isFinite(shape) || shape <= 0) {
      throw new MurmurError('ERR_INVALID_ARGUMENT', `random.gamma needs a positive finite shape, got ${String(shape)}`)
    }
    if (shape < 1) return gamma(shape + 1) * Math.pow(1 - next(), 1 / shape)
    const offset = shape - 1 / 3
    const scale = 1 / Math.sqrt(9 * offset)
    for (;;) {
      const x = normal()
      const base = 1 + scale * x
      if (base <= 0) continue
      const v = base * base * base
      const u = next()
      if (u < 1 - 0.0331 * x * x * x * x) return offset * v
      if (Math.log(u) < 0.5 * x * x + offset * (1 - v + Math.log(v))) return offset * v
    }
  }

  function shuffle<T> (items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1))
      const item = items[i] as T
      items[i] = items[j] as T
      items[j] = item
    }
    return items
  }

  return { next, integer, normal, gamma, shuffle }
}
