import { describe, expect, it } from 'vitest'
import { EventQueue } from '../src/simulator/event-queue.js'
import { VirtualTime } from '../src/simulator/virtual-time.js'
import { LinkModel } from '../src/simulator/links.js'
import { parseBitsPerSecond, parseDistribution, parseMilliseconds } from '../src/simulator/distribution.js'
import { errorOf } from './helpers.js'

describe('event queue', () => {
  it('takes actions in time order, and actions due at the same time in the order they were scheduled', () => {
    const queue = new EventQueue()
    const order: string[] = []
    const times = [5, 1, 5, 3, 1, 5, 0]
    times.forEach((at, i) => queue.push(at, () => { order.push(`${at}:${i}`) }))
    const cancelled = queue.push(2, () => { order.push('cancelled') })
    cancelled.cancelled = true
    for (let action = queue.pop(); action !== undefined; action = queue.pop()) action.run()
    expect(order).toEqual(['0:6', '1:1', '1:4', '3:3', '5:0', '5:2', '5:5'])
  })

  it('keeps the order on ties among many actions (a heap alone would not)', () => {
    const queue = new EventQueue()
    for (let i = 0; i < 1000; i++) queue.push(i % 7, () => {})
    const taken: Array<[number, number]> = []
    for (let action = queue.pop(); action !== undefined; action = queue.pop()) taken.push([action.at, action.sequence])
    const sorted = [...taken].sort((a, b) => a[0] - b[0] || a[1] - b[1])
    expect(taken).toEqual(sorted)
  })
})

describe('virtual time', () => {
  it('runs sleeps in virtual time and lets promise chains settle between actions', async () => {
    const time = new VirtualTime()
    const seen: Array<[string, number]> = []
    const worker = async (name: string, pause: number): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        await time.sleep(pause)
        await Promise.resolve()
        seen.push([name, time.now()])
      }
    }
    const done = Promise.all([worker('a', 1000), worker('b', 1500)])
    await time.runUntil(10_000)
    await done
    // At 3000 both wake: b's sleep was scheduled first (at 1500, a's at 2000), so b goes first.
    expect(seen).toEqual([['a', 1000], ['b', 1500], ['a', 2000], ['b', 3000], ['a', 3000], ['b', 4500]])
    expect(time.now()).toBe(10_000)
  })

  it('stops a sleep when its signal aborts, and never runs past the end', async () => {
    const time = new VirtualTime()
    const controller = new AbortController()
    let woke = -1
    const sleeping = time.sleep(60_000, controller.signal).then(() => { woke = time.now() })
    time.schedule(2_000, () => { controller.abort() })
    let late = false
    time.schedule(20_000, () => { late = true })
    await time.runUntil(5_000)
    await sleeping
    expect(woke).toBe(2_000)
    expect(late).toBe(false)
    expect(time.now()).toBe(5_000)
  })

  it('gives the core a clock whose timers can be cancelled', async () => {
    const time = new VirtualTime()
    const clock = time.clock()
    const start = clock.now()
    let fired = 0
    const cancel = clock.schedule(100, () => { fired++ })
    clock.schedule(200, () => { fired += 10 })
    cancel()
    await time.runUntil(1_000)
    expect(fired).toBe(10)
    expect(clock.now() - start).toBe(1_000)
    // Whole milliseconds, as Date.now gives (messages carry them as integers).
    time.schedule(0.25, () => {})
    await time.runUntil(1_000.75)
    expect(clock.now() - start).toBe(1_000)
  })
})

describe('links', () => {
  it('takes latency + bytes / bandwidth, and queues what one node sends on its uplink', () => {
    const links = new LinkModel({ latency: { kind: 'fixed', value: 20 }, bandwidth: { kind: 'fixed', value: 8_000_000 }, seed: 1 })
    // 100 kB at 8 Mbit/s is 100 ms on the wire.
    const first = links.send(1, 2, 100_000, 0)
    expect(first).toEqual({ startsAt: 0, arrivesAt: 120 })
    // The uplink is busy until 100 ms: the second message waits for it.
    const second = links.send(1, 3, 100_000, 50)
    expect(second).toEqual({ startsAt: 100, arrivesAt: 220 })
    // Another node's uplink is free.
    expect(links.send(2, 1, 100_000, 50)).toEqual({ startsAt: 50, arrivesAt: 170 })
    links.reset(1)
    expect(links.send(1, 2, 0, 60).startsAt).toBe(60)
  })

  it('draws each link once, the same both ways and whatever the order links are first used in', () => {
    const init = { latency: parseDistribution('lognormal:30ms:0.8', parseMilliseconds, 'latency'), bandwidth: parseDistribution('uniform:1mbit:100mbit', parseBitsPerSecond, 'bandwidth'), seed: 9 }
    const a = new LinkModel(init)
    const b = new LinkModel(init)
    const forward = [a.link(1, 2), a.link(3, 4), a.link(2, 5)]
    const backward = [b.link(5, 2), b.link(4, 3), b.link(2, 1)].reverse()
    expect(forward).toEqual(backward)
    const rates = Array.from({ length: 200 }, (_, i) => a.link(10, 11 + i).bitsPerSecond)
    expect(Math.min(...rates)).toBeGreaterThanOrEqual(1e6)
    expect(Math.max(...rates)).toBeLessThanOrEqual(100e6)
    expect(new Set(rates).size).toBeGreaterThan(150)
  })

  it('reads distributions and refuses malformed ones', () => {
    expect(parseDistribution('20ms', parseMilliseconds, 'latency')).toEqual({ kind: 'fixed', value: 20 })
    expect(parseDistribution('uniform:10ms:0.1s', parseMilliseconds, 'latency')).toEqual({ kind: 'uniform', low: 10, high: 100 })
    expect(parseDistribution('lognormal:10mbit:0.5', parseBitsPerSecond, 'bandwidth')).toEqual({ kind: 'lognormal', median: 10e6, sigma: 0.5 })
    for (const bad of ['uniform:50ms:10ms', 'uniform:10ms', 'lognormal:0ms:1', 'lognormal:10ms:-1', 'gaussian:1:2', '10 parsecs', '']) {
      expect(String(errorOf(() => parseDistribution(bad, parseMilliseconds, 'latency')))).toMatch(/invalid latency/)
    }
    expect(String(errorOf(() => parseDistribution('10mb', parseBitsPerSecond, 'bandwidth')))).toMatch(/invalid bandwidth/)
  })
})
