import { describe, it, expect } from 'vitest'
import { isMurmurError } from '../src/errors.js'
import { dutyCycleIdleMs } from '../src/core/duty-cycle.js'
import { assignProfiles, parseProfiles } from '../src/swarm/profiles.js'

describe('device profiles', () => {
  it('parses named and numeric profiles with their shares', () => {
    expect(parseProfiles('fast:0.5,slow:0.5')).toEqual([
      { name: 'fast', maxCpu: 1, share: 0.5 },
      { name: 'slow', maxCpu: 0.2, share: 0.5 }
    ])
    expect(parseProfiles('0.3:1')).toEqual([{ name: '0.3', maxCpu: 0.3, share: 1 }])
  })

  it('refuses malformed mixes with a message that shows the accepted form', () => {
    for (const text of ['fast', 'turbo:1', 'fast:0.5', 'fast:0.5,slow:0.7', 'fast:x', '1.5:1', 'fast:0.5:1']) {
      let caught: unknown
      try { parseProfiles(text) } catch (error) { caught = error }
      expect(isMurmurError(caught, 'ERR_INVALID_ARGUMENT'), text).toBe(true)
      expect((caught as Error).message).toContain('NAME:SHARE')
    }
  })

  it('deals profiles to nodes in proportion to their shares', () => {
    const dealt = assignProfiles(parseProfiles('fast:0.5,medium:0.25,slow:0.25'), 8).map(profile => profile.name)
    expect(dealt).toEqual(['fast', 'fast', 'fast', 'fast', 'medium', 'medium', 'slow', 'slow'])
    const odd = assignProfiles(parseProfiles('fast:0.5,slow:0.5'), 5)
    expect(odd).toHaveLength(5)
    expect(odd.filter(profile => profile.name === 'slow').length).toBeGreaterThanOrEqual(2)
  })
})

describe('the duty cycle of --max-cpu', () => {
  it('idles so that training takes the given share of the time', () => {
    expect(dutyCycleIdleMs(100, 1)).toBe(0)
    expect(dutyCycleIdleMs(100, 0.5)).toBeCloseTo(100)
    expect(dutyCycleIdleMs(100, 0.25)).toBeCloseTo(300)
    const share = 100 / (100 + dutyCycleIdleMs(100, 0.2))
    expect(share).toBeCloseTo(0.2)
  })
})
