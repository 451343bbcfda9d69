import type { Clock } from '../../src/core/clock.js'

interface Timer { readonly at: number; readonly sequence: number; readonly callback: () => void; cancelled: boolean }

/** Lets every promise continuation that is ready run (a macrotask comes after all microtasks). */
export function settle (): Promise<void> {
  return new Promise(resolve => { setImmediate(resolve) })
}

/**
 * A fake clock for in-process tests: time stands still while code runs and jumps to the next timer
 * once everything ready has settled, so a minute of a node's life takes milliseconds. Timers due at
 * the same time fire in the order they were set.
 */
export class VirtualClock implements Clock {
  private time: number
  private sequence = 0
  private readonly timers: Timer[] = []

  constructor (start = Date.UTC(2026, 0, 1)) {
    this.time = start
  }

  readonly now = (): number => this.time

  readonly schedule = (ms: number, callback: () => void): (() => void) => {
    const timer: Timer = { at: this.time + Math.max(0, ms), sequence: this.sequence++, callback, cancelled: false }
    // Binary search for the insertion point: timers stay sorted by (at, sequence).
    let low = 0
    let high = this.timers.length
    while (low < high) {
      const middle = (low + high) >> 1
      const other = this.timers[middle] as Timer
      if (other.at < timer.at || (other.at === timer.at && other.sequence < timer.sequence)) low = middle + 1
      else high = middle
    }
    this.timers.splice(low, 0, timer)
    return () => { timer.cancelled = true }
  }

  /** Fires timers in order until `condition` holds; throws when `limitMs` of virtual time pass first. */
  async until (condition: () => boolean, limitMs: number, what = 'the condition'): Promise<void> {
    const deadline = this.time + limitMs
    await settle()
    while (!condition()) {
      const next = this.timers.shift()
      if (next === undefined) throw new Error(`nothing left to run before ${what}`)
      if (next.at > deadline) throw new Error(`${what} did not happen within ${limitMs / 1000} virtual seconds`)
      if (next.cancelled) continue
      this.time = next.at
      next.callback()
      await settle()
    }
  }

  /** Lets `ms` of virtual time pass, firing every timer due meanwhile. */
  async advance (ms: number): Promise<void> {
    const end = this.time + ms
    await settle()
    for (;;) {
      const next = this.timers[0]
      if (next === undefined || next.at > end) break
      this.timers.shift()
      if (next.cancelled) continue
      this.time = next.at
      next.callback()
      await settle()
    }
    this.time = end
  }
}
