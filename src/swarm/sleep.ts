/**
 * Waits `ms` milliseconds (none when negative). An abort ends the wait early and resolves, not rejects:
 * the callers (a scenario's timeline, a launcher's sampling loop) check the signal themselves and wind
 * down, rather than unwinding through an error.
 */
export function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal?.aborted === true) { resolve(); return }
    const timer = setTimeout(resolve, Math.max(0, ms))
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}
