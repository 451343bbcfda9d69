import { systemClock } from './clock.js'
export interface CheckpointScheduleInit {
  /** time between two checkpoints */
  readonly intervalMs: number
  /** wait before the first retry of a failed write; it doubles with every further failure (default 1 s) */
  readonly retryMs?: number
  /** longest wait between retries (default 5 min) */
  readonly maxRetryMs?: number
  readonly now?: () => number
}

const DEFAULT_RETRY_MS = 1_000
const DEFAULT_MAX_RETRY_MS = 300_000

/**
 * When a node writes its next checkpoint. A write that fails (a full disk, a failing one) does not
 * stop the node: it goes on training on what it has, and the write is retried with exponential
 * backoff until one succeeds; the last good checkpoint stays in the store meanwhile.
 */
export class CheckpointSchedule {
  private readonly intervalMs: number
  private readonly retryMs: number
  private readonly maxRetryMs: number
  private readonly now: () => number
  private next: number
  /** failed writes since the last one that succeeded */
  failures = 0

  constructor (init: CheckpointScheduleInit) {
    this.intervalMs = init.intervalMs
    this.retryMs = init.retryMs ?? DEFAULT_RETRY_MS
    this.maxRetryMs = init.maxRetryMs ?? DEFAULT_MAX_RETRY_MS
    this.now = init.now ?? systemClock.now
    this.next = this.now() + this.intervalMs
  }

  due (): boolean {
    return this.now() >= this.next
  }

  /** Wait after the given number of consecutive failures. */
  retryDelayMs (failures: number): number {
    return Math.min(this.maxRetryMs, this.retryMs * 2 ** Math.max(0, failures - 1))
  }

  /**
   * Runs one write and plans the next. Returns what the operator should be told (a failure, or the
   * first success after failures), or null when there is nothing to say.
   */
  async attempt (write: () => Promise<void>): Promise<string | null> {
    try {
      await write()
    } catch (error) {
      this.failures++
      const delay = this.retryDelayMs(this.failures)
      this.next = this.now() + delay
      const reason = error instanceof Error ? error.message : String(error)
      return `checkpoint write failed (${this.failures} in a row): ${reason}; the node keeps running on its last good checkpoint and retries in ${(delay / 1000).toFixed(1)} s`
    }
    const recovered = this.failures
    this.failures = 0
    this.next = this.now() + this.intervalMs
    return recovered === 0 ? null : `checkpoint written again after ${recovered} failed attempt${recovered === 1 ? '' : 's'}`
  }
}
