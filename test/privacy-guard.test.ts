import { describe, it, expect } from 'vitest'
import { createManifest } from '../src/learning/manifest.js'
import { distance, type Weights } from '../src/learning/weights.js'
import { PrivacyGuard } from '../src/core/privacy-guard.js'

const start: Weights = [{ shape: [1000], values: new Float32Array(1000) }]
const trained: Weights = [{ shape: [1000], values: new Float32Array(1000).fill(1) }]   // a change of norm √1000 ≈ 31.6

describe('a node\'s differential privacy', () => {
  it('releases the start plus a clipped, noised change, and counts each release', () => {
    const guard = new PrivacyGuard({ level: 'node', clip: 1, noiseMultiplier: 0.01, delta: 1e-5 })
    const released = guard.release(start, trained)
    // The change is clipped to norm 1; the noise adds about 0.01 × √1000 ≈ 0.32.
    expect(distance(released, start)).toBeGreaterThan(0.8)
    expect(distance(released, start)).toBeLessThan(1.6)
    expect(guard.status().releases).toBe(1)
    const first = guard.spent()
    // The same change released twice differs by the noise alone: two independent draws of standard
    // deviation 0.01 per coordinate, ‖difference‖ ≈ 0.01 × √2000 ≈ 0.45. Without noise it would be 0.
    const again = guard.release(start, trained)
    expect(distance(again, released)).toBeGreaterThan(0.3)
    expect(distance(again, released)).toBeLessThan(0.6)
    expect(guard.spent()).toBeGreaterThan(first)
  })

  it('with a budget, says when another release would exceed it', () => {
    const manifest = createManifest({ model: 'logistic', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }, privacy: { clip: 1, epsilon: 2, delta: 1e-5, releases: 5 } })
    const settings = manifest.privacy
    if (settings?.level !== 'node') throw new Error('expected node-level privacy settings in the manifest')
    expect(settings.epsilonBudget).toBe(2)
    const guard = new PrivacyGuard(settings)
    let releases = 0
    while (!guard.exhausted() && releases < 100) {
      guard.release(start, trained)
      releases++
    }
    expect(releases).toBe(5)
    expect(guard.spent()).toBeLessThanOrEqual(2)
    expect(guard.status().exhausted).toBe(true)
  })
})
