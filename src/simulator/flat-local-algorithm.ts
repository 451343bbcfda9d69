import { parseLocalAlgorithm } from '../learning/local-algorithm.js'

/**
 * The local algorithms of src/learning/local-algorithm.ts (dsgd, FedProx, quasi-global momentum)
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

export function createFlatLocalAlgorithm (text: string, learningRate: number): FlatLocalAlgorithm {
  const spec = parseLocalAlgorithm(text)
  switch (spec.kind) {
    case 'dsgd': return new PlainSteps()
    case 'fedprox': return new ProximalTerm(spec.mu, learningRate)
    case 'qgm': return new QuasiGlobalMomentum(spec.beta)
  }
}
