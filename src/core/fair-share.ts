import { systemClock } from './clock.js'
import { BoundedMap } from './bounded-map.js'

export interface FairShareLimits {
  /** what one source may take in a burst, at most */
  readonly burst: number
  /** what one source may take per second on average, at most */
  readonly perSecond: number
  /** what all sources together may take per second: each active source gets an equal share of it */
  readonly nodePerSecond: number
  /** what all sources together may take in a burst, shared the same way */
  readonly nodeBurst: number
  /** a source counts as active for this long after its last request */
  readonly activeWindowMs: number
  /** sources remembered; the least recently seen is forgotten beyond that */
  readonly maxSources: number
}

interface Bucket { tokens: number; at: number; seen: number }

/**
 * Token buckets per source (a peer id) whose rates shrink as more sources are active, so that the
 * node as a whole never does more than `nodePerSecond` of the work (plus bursts) however many peers
 * ask, while a quiet peer still finds tokens in its own bucket: many busy peers cannot starve it.
 * A source's bucket is kept across reconnects (bounded by `maxSources`, least recently seen first
 * out), so a peer gains nothing by reconnecting.
 */
export class FairShareBudget {
  private readonly buckets: BoundedMap<string, Bucket>
  private active = 1
  private countedAt = -Infinity

  constructor (readonly limits: FairShareLimits, private readonly now: () => number = systemClock.now) {
    this.buckets = new BoundedMap(limits.maxSources)
  }

  /** Takes one token for `source`; false means it is over its share now. */
  admit (source: string): boolean {
    const now = this.now()
    let bucket = this.buckets.get(source)
    const fresh = bucket === undefined
    if (bucket === undefined) {
      bucket = { tokens: 0, at: now, seen: now }
      this.buckets.set(source, bucket)
    }
    const active = this.activeSources(now, fresh)
    const rate = Math.min(this.limits.perSecond, this.limits.nodePerSecond / active)
    const burst = Math.max(1, Math.min(this.limits.burst, this.limits.nodeBurst / active))
    if (fresh) bucket.tokens = burst
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.at) / 1000 * rate)
    bucket.at = now
    bucket.seen = now
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  /** sources that asked within the active window (recounted at most every 250 ms; a new source counts at once) */
  private activeSources (now: number, fresh: boolean): number {
    if (now - this.countedAt >= 250) {
      let active = 0
      for (const bucket of this.buckets.values()) if (now - bucket.seen <= this.limits.activeWindowMs) active++
      this.active = Math.max(1, active)
      this.countedAt = now
    } else if (fresh) {
      this.active++
    }
    return this.active
  }

  /** sources with state kept */
  get size (): number {
    return this.buckets.size
  }
}
