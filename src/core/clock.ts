/**
 * Time as the core sees it. A process node runs on the system clock; a simulator or a test runs the
 * same core on a virtual clock (src/simulator/virtual-time.ts) where a minute passes in microseconds. The core
 * never calls setTimeout or Date.now itself: every pause and every timestamp goes through a Clock.
 */
export interface Clock {
  /** milliseconds since the Unix epoch (virtual in a simulation) */
  now: () => number
  /** Calls `callback` once after `ms`; returns a function that cancels it. */
  schedule: (ms: number, callback: () => void) => () => void
}

/** The real clock, for process and browser nodes: the one place the core's folder reads real time. */
export const systemClock: Clock = {
  // eslint-disable-next-line no-restricted-properties -- this is the injected clock's real implementation
  now: () => Date.now(),
  schedule: (ms, callback) => {
    // eslint-disable-next-line no-restricted-globals -- this is the injected clock's real implementation
    const timer = setTimeout(callback, ms)
    return () => { clearTimeout(timer) }
  }
}

/** Waits `ms` on `clock`, or less when `signal` aborts first (never rejects): the pauses of a node's loops. */
export function idle (clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal.aborted) { resolve(); return }
    const cancel = clock.schedule(ms, done)
    function done (): void {
      cancel()
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

/**
 * Runs `action` with a signal that aborts when `signal` does or after `ms` on `clock`
 * (AbortSignal.timeout runs on real time only); the timer is cleared when the action settles.
 */
export async function withTimeout<T> (clock: Clock, ms: number, signal: AbortSignal, action: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  // Linked by hand, not with AbortSignal.any, whose bookkeeping (a weak reference from the source to
  // every composite signal) is paid on every push: millions in a simulation of thousands of nodes.
  const forward = (): void => { controller.abort(signal.reason) }
  if (signal.aborted) forward()
  else signal.addEventListener('abort', forward, { once: true })
  const cancel = clock.schedule(ms, () => { controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')) })
  try {
    return await action(controller.signal)
  } finally {
    cancel()
    signal.removeEventListener('abort', forward)
  }
}

/** ISO 8601 text of the clock's time. */
export function isoTime (clock: Clock): string {
  return new Date(clock.now()).toISOString()
}
