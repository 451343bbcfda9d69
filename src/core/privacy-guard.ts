import type { NodePrivacySettings } from '../learning/manifest.js'
import { clipAndNoise, RdpAccountant, secureNormal } from '../learning/privacy.js'
import { add, subtract, type Weights } from '../learning/weights.js'

export interface PrivacyStatus {
  level: 'node'
  epsilon: number
  delta: number
  noiseMultiplier: number
  clip: number
  releases: number
  epsilonBudget: number | null
  /** the budget is spent: the node trains on but no longer shares */
  exhausted: boolean
}

/**
 * A node's differential privacy: every release (shared model) is the round's start plus its clipped,
 * noised change, and the accountant adds one Gaussian mechanism per release. Noise comes from the
 * system's secure generator: seeded noise could be replayed and subtracted.
 */
export class PrivacyGuard {
  private readonly accountant = new RdpAccountant()
  private readonly random: { normal: () => number }

  /** `random`: the noise source; the default is the system's secure generator (only a simulation should pass a seeded one) */
  constructor (private readonly settings: NodePrivacySettings, random?: { normal: () => number }) {
    this.random = random ?? secureNormal()
  }

  /** The model to share (and keep) after a round that went from `start` to `trained`. */
  release (start: Weights, trained: Weights): Weights {
    const { weights } = clipAndNoise(subtract(trained, start), { clip: this.settings.clip, noiseMultiplier: this.settings.noiseMultiplier, random: this.random })
    this.accountant.compose(this.settings.noiseMultiplier, 1)
    return add(start, weights)
  }

  spent (): number {
    return this.accountant.releases === 0 ? 0 : this.accountant.epsilon(this.settings.delta).epsilon
  }

  /** True once another release would exceed the budget. */
  exhausted (): boolean {
    const budget = this.settings.epsilonBudget
    if (budget === undefined) return false
    const next = new RdpAccountant().compose(this.settings.noiseMultiplier, this.accountant.releases + 1)
    return next.epsilon(this.settings.delta).epsilon > budget * (1 + 1e-9)
  }

  status (): PrivacyStatus {
    return {
      level: 'node',
      epsilon: this.spent(),
      delta: this.settings.delta,
      noiseMultiplier: this.settings.noiseMultiplier,
      clip: this.settings.clip,
      releases: this.accountant.releases,
      epsilonBudget: this.settings.epsilonBudget ?? null,
      exhausted: this.exhausted()
    }
  }
}
