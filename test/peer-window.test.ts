import { describe, expect, it } from 'vitest'
import { PeerWindow, stalenessWeight, WINDOW_ROUNDS } from '../src/core/peer-window.js'

interface Model { readonly step: number; readonly tag: string }

function clock (): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000
  return { now: () => t, advance: ms => { t += ms } }
}

describe('PeerWindow', () => {
  it('holds the latest model of each peer, not every model that arrived', () => {
    const window = new PeerWindow<Model>({ now: clock().now })
    window.set('a', { step: 1, tag: 'a1' })
    window.set('b', { step: 1, tag: 'b1' })
    window.set('a', { step: 2, tag: 'a2' })
    expect(window.current().map(entry => entry.value.tag)).toEqual(['b1', 'a2'])
    // Read again: the window is not emptied by a round, unlike an inbox.
    expect(window.current()).toHaveLength(2)
  })

  it('ignores a model older than the one held of that peer (out-of-order delivery)', () => {
    const window = new PeerWindow<Model>({ now: clock().now })
    expect(window.set('a', { step: 5, tag: 'new' })).toBe(true)
    expect(window.set('a', { step: 4, tag: 'old' })).toBe(false)
    expect(window.current().map(entry => entry.value.tag)).toEqual(['new'])
  })

  it('is bounded by peer count: storing one peer too many drops the least recently stored', () => {
    const window = new PeerWindow<Model>({ maxPeers: 3, now: clock().now })
    for (const peer of ['a', 'b', 'c']) window.set(peer, { step: 1, tag: peer })
    window.set('a', { step: 2, tag: 'a' })
    window.set('d', { step: 1, tag: 'd' })
    expect(window.size).toBe(3)
    expect(window.current().map(entry => entry.peer).sort()).toEqual(['a', 'c', 'd'])
    for (let i = 0; i < 1000; i++) window.set(`peer-${i}`, { step: 1, tag: '' })
    expect(window.size).toBe(3)
  })

  it('expires entries by age and weights the rest by staleness', () => {
    const time = clock()
    const window = new PeerWindow<Model>({ maxAgeMs: 30_000, halfLifeMs: 10_000, now: time.now })
    window.set('old', { step: 1, tag: 'old' })
    time.advance(10_000)
    window.set('fresh', { step: 1, tag: 'fresh' })
    const weights = Object.fromEntries(window.current().map(entry => [entry.peer, entry.weight]))
    expect(weights.fresh).toBe(1)
    expect(weights.old).toBeCloseTo(0.5, 12)
    time.advance(20_001)
    expect(window.current().map(entry => entry.peer)).toEqual(['fresh'])
    expect(window.size).toBe(1)
    time.advance(10_000)
    expect(window.current()).toEqual([])
  })

  it('lets a peer that restarted with a lower step in once its old entry has expired', () => {
    const time = clock()
    const window = new PeerWindow<Model>({ maxAgeMs: 5_000, now: time.now })
    window.set('a', { step: 100, tag: 'before' })
    time.advance(5_001)
    expect(window.set('a', { step: 3, tag: 'after' })).toBe(true)
    expect(window.current().map(entry => entry.value.tag)).toEqual(['after'])
  })

  it('counts staleness in the node\'s own rounds when they are slow: a phone keeps a model for WINDOW_ROUNDS rounds', () => {
    const time = clock()
    const fast = new PeerWindow<Model>({ now: time.now })
    const slow = new PeerWindow<Model>({ now: time.now })
    fast.pace(1_000)
    // Rounds of 2 minutes (8 steps of 16 s): what a merge 100 s after a model arrived still sees.
    slow.pace(128_000)
    for (const window of [fast, slow]) window.set('a', { step: 1, tag: 'a1' })
    time.advance(100_000)
    // Control: at a fast node's pace, the default 30 s applies and the model is gone.
    expect(fast.current()).toHaveLength(0)
    const [entry] = slow.current()
    expect(entry?.value.tag).toBe('a1')
    expect(slow.maxAgeMs).toBe(WINDOW_ROUNDS * 128_000)
    // The half-life stretches with it: 100 s is less than one half-life of a 512 s window.
    expect(entry?.weight).toBeGreaterThan(0.5)
    time.advance(WINDOW_ROUNDS * 128_000)
    expect(slow.current()).toHaveLength(0)
  })

  it('forgets a peer on request (disconnect)', () => {
    const window = new PeerWindow<Model>({ now: clock().now })
    window.set('a', { step: 1, tag: 'a' })
    window.delete('a')
    expect(window.current()).toEqual([])
  })

  it('halves the weight every half-life', () => {
    expect(stalenessWeight(0, 1000)).toBe(1)
    expect(stalenessWeight(1000, 1000)).toBeCloseTo(0.5, 12)
    expect(stalenessWeight(3000, 1000)).toBeCloseTo(0.125, 12)
    expect(stalenessWeight(-5, 1000)).toBe(1)
  })

  it('refuses bounds that would not bound anything', () => {
    expect(() => new PeerWindow({ maxPeers: 0 })).toThrow(RangeError)
    expect(() => new PeerWindow({ maxAgeMs: 0 })).toThrow(RangeError)
    expect(() => new PeerWindow({ halfLifeMs: Number.NaN })).toThrow(RangeError)
  })
})
