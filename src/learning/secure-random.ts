/*
 * Randomness for differential privacy, drawn in bulk from the platform's cryptographic generator
 * (Web Crypto, in Node and browsers alike). DP noise and DP sampling must be unpredictable to whoever
 * sees the results: a seeded generator, whose seed an observer might know or guess (murmur derives
 * data-order seeds from peer ids), would let the noise be replayed and subtracted.
 */

/** crypto.getRandomValues fills at most 65,536 bytes per call */
const WORDS_PER_CALL = 16_384

/** A source of uniform [0, 1) numbers with 53 random bits each, refilled from Web Crypto in bulk. */
export class SecureUniform {
  private readonly words = new Uint32Array(WORDS_PER_CALL)
  private next = WORDS_PER_CALL

  /** A uniform number in [0, 1) with 53 random bits. */
  uniform (): number {
    if (this.next + 2 > this.words.length) {
      globalThis.crypto.getRandomValues(this.words)
      this.next = 0
    }
    const high = (this.words[this.next++] as number) >>> 5
    const low = (this.words[this.next++] as number) >>> 6
    return (high * 67108864 + low) / 9007199254740992
  }

  /**
   * Adds N(0, stddev²) to every entry of `target` (Box–Muller on 53-bit uniforms, so the tails reach
   * beyond 8 standard deviations).
   */
  addGaussian (target: Float32Array, stddev: number): void {
    for (let i = 0; i < target.length; i += 2) {
      const radius = stddev * Math.sqrt(-2 * Math.log(1 - this.uniform()))
      const angle = 2 * Math.PI * this.uniform()
      target[i] = (target[i] as number) + radius * Math.cos(angle)
      if (i + 1 < target.length) target[i + 1] = (target[i + 1] as number) + radius * Math.sin(angle)
    }
  }

  /**
   * Poisson sampling: each of `count` items independently with probability `rate`, in increasing
   * order. Walks geometric gaps, so the cost follows the sample's size rather than `count`.
   */
  poissonSample (count: number, rate: number): number[] {
    const chosen: number[] = []
    if (rate >= 1) return Array.from({ length: count }, (_, i) => i)
    const logKeep = Math.log1p(-rate)
    let index = -1
    for (;;) {
      // The gap to the next chosen item is geometric: P(gap = k) = (1 − q)^(k−1)·q.
      index += 1 + Math.floor(Math.log(1 - this.uniform()) / logKeep)
      if (index >= count) return chosen
      chosen.push(index)
    }
  }
}
