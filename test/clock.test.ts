import { describe, expect, it, vi } from 'vitest'
import { withTimeout } from '../src/core/clock.js'
import { VirtualTime } from '../src/simulator/virtual-time.js'

/** An action that settles only when its signal aborts, with the abort's reason. */
function untilAborted (signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => { reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason))) }, { once: true })
  })
}

describe('withTimeout', () => {
  it('aborts the action after the time on the clock, with a TimeoutError', async () => {
    const time = new VirtualTime()
    const outcome = withTimeout(time.clock(), 5_000, new AbortController().signal, untilAborted).catch((error: unknown) => error)
    await time.advance(4_999)
    let settled = false
    void outcome.then(() => { settled = true })
    await time.advance(0)
    expect(settled).toBe(false)
    await time.advance(1)
    expect(await outcome).toMatchObject({ name: 'TimeoutError' })
  })

  it('aborts the action when the outer signal aborts, with its reason, and when it was aborted before', async () => {
    const time = new VirtualTime()
    const outer = new AbortController()
    const outcome = withTimeout(time.clock(), 5_000, outer.signal, untilAborted).catch((error: unknown) => error)
    const reason = new Error('node stopping')
    outer.abort(reason)
    expect(await outcome).toBe(reason)
    const again = await withTimeout(time.clock(), 5_000, outer.signal, async signal => signal.aborted)
    expect(again).toBe(true)
  })

  it('leaves nothing behind once the action settles: no listener on the outer signal, no timer', async () => {
    const time = new VirtualTime()
    const outer = new AbortController()
    const added = vi.spyOn(outer.signal, 'addEventListener')
    const removed = vi.spyOn(outer.signal, 'removeEventListener')
    for (let i = 0; i < 3; i++) expect(await withTimeout(time.clock(), 5_000, outer.signal, async () => i)).toBe(i)
    expect(added.mock.calls.length).toBe(3)
    expect(removed.mock.calls.map(call => call[1])).toEqual(added.mock.calls.map(call => call[1]))
    // The timers were cancelled: letting their time pass runs nothing.
    const before = time.actionsRun
    await time.advance(10_000)
    expect(time.actionsRun).toBe(before)
  })
})
