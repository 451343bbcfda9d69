import type { Clock } from '../core/clock.js'
import { EventQueue, type ScheduledAction } from './event-queue.js'

/** The date virtual time 0 stands for in timestamps (messages, checkpoints): fixed, so runs replay byte for byte. */
export const VIRTUAL_EPOCH_MS = Date.UTC(2026, 0, 1)

/** A timer handle of virtual time. */
export interface VirtualTimer {
  readonly at: number
}

/**
 * Virtual time for a discrete-event simulation: a clock that stands still while code runs and jumps
 * to the next scheduled action when everything due has settled. Timers and sleeps are scheduled
 * actions; asynchronous code (promise continuations) runs to completion between two actions, so a
 * node core awaiting its ports behaves as it would on a real clock, only without waiting.
 */
export class VirtualTime {
  private readonly queue = new EventQueue()
  private current = 0
  /** actions run so far (the progress bar's events per second) */
  actionsRun = 0

  /** virtual milliseconds since the start */
  now (): number {
    return this.current
  }

  /** Runs `action` `delayMs` from now (at once-ordered after what is already due now when 0). */
  schedule (delayMs: number, action: () => void): VirtualTimer {
    return this.queue.push(this.current + Math.max(0, delayMs), action)
  }

  /** Runs `action` at virtual time `at` (now if `at` is in the past). */
  scheduleAt (at: number, action: () => void): VirtualTimer {
    return this.queue.push(Math.max(this.current, at), action)
  }

  cancel (timer: VirtualTimer | undefined | null): void {
    if (timer != null) (timer as ScheduledAction).cancelled = true
  }

  /** A promise resolved `delayMs` of virtual time from now, or when `signal` aborts. */
  sleep (delayMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise(resolve => {
      if (signal?.aborted === true) { resolve(); return }
      const onAbort = (): void => { this.cancel(timer); resolve() }
      const timer = this.schedule(delayMs, () => { signal?.removeEventListener('abort', onAbort); resolve() })
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /**
   * Runs scheduled actions in time order until virtual time `end` (inclusive) or until nothing is
   * left, letting every action's promise continuations settle before the next. `onAdvance` is called
   * after each action (the runner's progress bar). `until` ends the run early when it returns true.
   * The clock ends at `end`, or where `until` or the signal stopped it.
   */
  async runUntil (end: number, options: { signal?: AbortSignal; onAdvance?: (now: number) => void | Promise<void>; until?: () => boolean } = {}): Promise<void> {
    await settle()
    for (;;) {
      if (options.signal?.aborted === true || options.until?.() === true) return
      const next = this.queue.peekTime()
      if (next === undefined || next > end) break
      const action = this.queue.pop() as ScheduledAction
      this.current = action.at
      action.run()
      this.actionsRun++
      await settle()
      await options.onAdvance?.(this.current)
    }
    this.current = Math.max(this.current, end)
  }

  /** Lets `ms` of virtual time pass, running every action due meanwhile (in-process tests). */
  async advance (ms: number): Promise<void> {
    await this.runUntil(this.current + ms)
  }

  /**
   * Runs actions in order until `condition` holds; throws when it still does not after `limitMs` of
   * virtual time, or when nothing is left to run (in-process tests wait on events, not on sleeps).
   */
  async until (condition: () => boolean, limitMs: number, what = 'the condition'): Promise<void> {
    const deadline = this.current + limitMs
    await this.runUntil(deadline, { until: condition })
    if (condition()) return
    if (this.queue.peekTime() === undefined) throw new Error(`nothing left to run before ${what}`)
    throw new Error(`${what} did not happen within ${limitMs / 1000} virtual seconds`)
  }

  /**
   * This virtual time as the node core's clock port: whole milliseconds from VIRTUAL_EPOCH_MS, as
   * Date.now gives them (transfer and step times make the virtual time itself fractional).
   */
  clock (): Clock {
    return {
      now: () => VIRTUAL_EPOCH_MS + Math.floor(this.current),
      schedule: (ms, callback) => {
        const timer = this.schedule(ms, callback)
        return () => { this.cancel(timer) }
      }
    }
  }

  /** actions still scheduled (cancelled ones included until they come up) */
  get pending (): number {
    return this.queue.size
  }
}

/** Resolves once every promise continuation queued so far has run (setImmediate runs after the microtask queue empties). */
export function settle (): Promise<void> {
  return new Promise(resolve => { setImmediate(resolve) })
}
