import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** V8's collector, as `--expose-gc` exposes it. */
type CollectGarbage = (options?: { type?: 'major' | 'minor' }) => void

let collector: CollectGarbage | undefined

/**
 * V8's garbage collector as a function, without starting Node with --expose-gc: the flag is turned
 * on just long enough to make one context that has `gc` (as jest-leak-detector does), so the
 * program's own global scope never gets it.
 */
function garbageCollector (): CollectGarbage {
  if (collector === undefined) {
    const exposed = (globalThis as { gc?: CollectGarbage }).gc
    if (exposed !== undefined) {
      collector = exposed
    } else {
      setFlagsFromString('--expose-gc')
      try {
        collector = runInNewContext('gc') as CollectGarbage
      } finally {
        setFlagsFromString('--no-expose-gc')
      }
    }
  }
  return collector
}

/** A full collection now, and its ArrayBuffers freed (e.g. after a start-up that loaded data and kept a little of it). */
export function collectGarbage (): void {
  garbageCollector()({ type: 'major' })
}

export interface MemoryReclaimerInit {
  /** how often the ArrayBuffer memory is looked at, in ms (default 1,000) */
  readonly intervalMs?: number
  /** growth of ArrayBuffer memory since the last collection that makes the next one, in bytes (default 16 MiB) */
  readonly growthBytes?: number
}

export const DEFAULT_RECLAIM_INTERVAL_MS = 1_000
export const DEFAULT_RECLAIM_GROWTH_BYTES = 16 * 2 ** 20

/**
 * Frees dead ArrayBuffers sooner than V8 does by itself. A node allocates one buffer the size of its
 * model for every update it receives, decodes, merges or sends, and for every weight copy between
 * its threads; the buffers' memory is outside the JavaScript heap, and V8 runs a full collection for
 * it only after 64 MiB more of it than at the last one, so a node under network load held about that
 * much of dead models (measured: docs/architecture.md, "Memory of a node process"). This runs a
 * full collection once the ArrayBuffer memory has grown by `growthBytes` since the last one: an idle
 * node never collects, a busy one every second or few (a few ms each on a node's small heap).
 */
export class MemoryReclaimer {
  private readonly intervalMs: number
  private readonly growthBytes: number
  private timer: ReturnType<typeof setInterval> | null = null
  private afterLast = 0
  /** collections this reclaimer ran */
  collections = 0

  constructor (init: MemoryReclaimerInit = {}) {
    this.intervalMs = init.intervalMs ?? DEFAULT_RECLAIM_INTERVAL_MS
    this.growthBytes = init.growthBytes ?? DEFAULT_RECLAIM_GROWTH_BYTES
  }

  start (): void {
    if (this.timer !== null) return
    this.afterLast = getHeapStatistics().external_memory
    this.timer = setInterval(() => { this.check() }, this.intervalMs)
    // A timer of its own must not keep a process (or a worker) alive.
    this.timer.unref()
  }

  stop (): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }

  /** Collects now if the ArrayBuffer memory has grown enough since the last collection. */
  check (): boolean {
    const now = getHeapStatistics().external_memory
    // V8's own collections lower it too: growth counts from the lowest point since the last collection.
    this.afterLast = Math.min(this.afterLast, now)
    if (now - this.afterLast < this.growthBytes) return false
    this.collect()
    return true
  }

  /** A full collection now (after start-up, which leaves the data it loaded as garbage). */
  collect (): void {
    collectGarbage()
    this.collections++
    this.afterLast = getHeapStatistics().external_memory
  }
}
