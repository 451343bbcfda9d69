import { parseLocalAlgorithm } from './local-algorithm.js'

/**
 * The local algorithms of src/learning/local-algorithm.ts (dsgd, FedProx, quasi-global momentum,
 * SCAFFOLD-style drift correction)
 * working in place on flat parameter arrays: the same updates, without the fresh arrays per step
 * that the Weights version allocates (thousands of simulated nodes take millions of steps).
 * test/simulator-trainer.test.ts checks both versions agree.
 */
export interface FlatLocalAlgorithm {
  beginRound (start: Float32Array, steps: number): void
  afterStep (parameters: Float32Array): void
}

class PlainSteps implements FlatLocalAlgorithm {
  beginRound (): void {}
  afterStep (): void {}
}

/** w ← w − γ·(w − anchor), γ = min(1, learningRate·MU) */
class ProximalTerm implements FlatLocalAlgorithm {
  private anchor: Float32Array | null = null
  private readonly pull: number

  constructor (mu: number, learningRate: number) {
    this.pull = Math.min(1, learningRate * mu)
  }

  beginRound (start: Float32Array): void {
    if (this.anchor === null) this.anchor = Float32Array.from(start)
    else this.anchor.set(start)
  }

  afterStep (parameters: Float32Array): void {
    const anchor = this.anchor
    if (anchor === null) return
    const pull = this.pull
    for (let i = 0; i < parameters.length; i++) parameters[i] = (parameters[i] as number) - pull * ((parameters[i] as number) - (anchor[i] as number))
  }
}

/** m ← β·m + (1 − β)·(x_t − x_{t−1}) / τ at each round; every step adds β·m */
class QuasiGlobalMomentum implements FlatLocalAlgorithm {
  private previousStart: Float32Array | null = null
  private previousSteps = 0
  private momentum: Float32Array | null = null

  constructor (private readonly beta: number) {}

  beginRound (start: Float32Array, steps: number): void {
    const previous = this.previousStart
    if (previous !== null && this.previousSteps > 0) {
      const momentum = this.momentum ?? new Float32Array(start.length)
      const scale = (1 - this.beta) / this.previousSteps
      for (let i = 0; i < start.length; i++) momentum[i] = this.beta * (momentum[i] as number) + scale * ((start[i] as number) - (previous[i] as number))
      this.momentum = momentum
    }
    if (previous === null) this.previousStart = Float32Array.from(start)
    else previous.set(start)
    this.previousSteps = steps
  }

  afterStep (parameters: Float32Array): void {
    const momentum = this.momentum
    if (momentum === null) return
    const beta = this.beta
    for (let i = 0; i < parameters.length; i++) parameters[i] = (parameters[i] as number) + beta * (momentum[i] as number)
  }
}

/**
 * SCAFFOLD-style drift correction (DriftCorrection in local-algorithm.ts, Karimireddy et al. 2020):
 * every step adds c − cᵢ, the swarm's displacement per step minus the node's own, both averaged over
 * rounds with weight BETA on the past.
 */
class FlatDriftCorrection implements FlatLocalAlgorithm {
  private previousStart: Float32Array | null = null
  private previousSteps = 0
  private last: Float32Array | null = null
  private own: Float32Array | null = null
  private swarm: Float32Array | null = null
  private correction: Float32Array | null = null

  constructor (private readonly beta: number) {}

  beginRound (start: Float32Array, steps: number): void {
    const previous = this.previousStart
    const last = this.last
    if (previous !== null && last !== null && this.previousSteps > 0) {
      const perStep = 1 / this.previousSteps
      const correction = this.correction
      const fresh = this.own === null
      const own = this.own ?? new Float32Array(start.length)
      const swarm = this.swarm ?? new Float32Array(start.length)
      const keep = fresh ? 0 : this.beta
      for (let i = 0; i < start.length; i++) {
        const ownNow = perStep * ((last[i] as number) - (previous[i] as number)) - (correction === null ? 0 : correction[i] as number)
        const swarmNow = perStep * ((start[i] as number) - (previous[i] as number))
        own[i] = keep * (own[i] as number) + (1 - keep) * ownNow
        swarm[i] = keep * (swarm[i] as number) + (1 - keep) * swarmNow
      }
      this.own = own
      this.swarm = swarm
      const next = correction ?? new Float32Array(start.length)
      for (let i = 0; i < start.length; i++) next[i] = (swarm[i] as number) - (own[i] as number)
      this.correction = next
    }
    if (previous === null) this.previousStart = Float32Array.from(start)
    else previous.set(start)
    this.previousSteps = steps
    this.last = null
  }

  afterStep (parameters: Float32Array): void {
    const correction = this.correction
    if (correction !== null) {
      for (let i = 0; i < parameters.length; i++) parameters[i] = (parameters[i] as number) + (correction[i] as number)
    }
    if (this.last === null) this.last = Float32Array.from(parameters)
    else this.last.set(parameters)
  }
}

export function createFlatLocalAlgorithm (text: string, learningRate: number): FlatLocalAlgorithm {
  const spec = parseLocalAlgorithm(text)
  switch (spec.kind) {
    case 'dsgd': return new PlainSteps()
    case 'fedprox': return new ProximalTerm(spec.mu, learningRate)
    case 'qgm': return new QuasiGlobalMomentum(spec.beta)
    case 'scaffold': return new FlatDriftCorrection(spec.beta)
  }
}
