import { MurmurError } from '../errors.js'
import { sameShapes, type Tensor, type Weights } from './weights.js'

/**
 * What a node does during its local steps besides following its optimizer, to stay useful to a
 * swarm whose nodes hold different data (label skew). Every algorithm here works with the exchange
 * murmur already has (one model per message): nothing extra is sent, so nodes running different
 * algorithms still understand each other.
 *
 * - dsgd: nothing: local steps, then the merge (decentralized SGD with local steps; Lian et al.,
 *   "Can Decentralized Algorithms Outperform Centralized Algorithms?", NeurIPS 2017).
 * - fedprox:MU (MU > 0): a proximal term (MU/2)·‖w − anchor‖² towards the model the round started
 *   from (the merged model, the node's estimate of the swarm's model), so local steps on a skewed
 *   shard cannot drift far from it (Li et al., "Federated Optimization in Heterogeneous Networks",
 *   MLSys 2020). Applied after each optimizer step as its own gradient step, w ← w − γ·(w − anchor)
 *   with γ = min(1, learningRate·MU): exact for SGD, decoupled from Adam's scaling (as AdamW decouples
 *   weight decay) otherwise.
 * - qgm:BETA (0 < BETA < 1): quasi-global momentum (Lin, Karimireddy, Stich & Jaggi, "Quasi-Global
 *   Momentum: Accelerating Decentralized Deep Learning on Heterogeneous Data", ICML 2021). The
 *   momentum buffer is not built from local gradients, which point at the own shard, but from how the
 *   node's merged model moved between two rounds, which reflects the whole swarm:
 *   m ← BETA·m + (1 − BETA)·(x_t − x_{t−1}) / τ, τ the steps of the previous round, and every local
 *   step adds BETA·m. With SGD this is the paper's heavy-ball update d = g + BETA·m̂ (m here is the
 *   paper's −η·m̂, a displacement per step); with Adam it is applied after Adam's step.
 */
export type LocalAlgorithmSpec =
  | { readonly kind: 'dsgd' }
  | { readonly kind: 'fedprox'; readonly mu: number }
  | { readonly kind: 'qgm'; readonly beta: number }
  | { readonly kind: 'scaffold'; readonly beta: number }

export const LOCAL_ALGORITHM_KINDS = ['dsgd', 'fedprox', 'qgm', 'scaffold'] as const

/** The accepted spellings, for error messages and --help. */
export const LOCAL_ALGORITHMS_HELP = 'dsgd, fedprox:MU (MU > 0), qgm:BETA (0 < BETA < 1), scaffold:BETA (0 ≤ BETA < 1)'

const NUMBER = '((?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?)'
const FEDPROX_NAME = new RegExp(`^fedprox:${NUMBER}$`)
const QGM_NAME = new RegExp(`^qgm:${NUMBER}$`)
const SCAFFOLD_NAME = new RegExp(`^scaffold:${NUMBER}$`)

function validMu (mu: unknown): mu is number {
  return typeof mu === 'number' && Number.isFinite(mu) && mu > 0
}

function validBeta (beta: unknown): beta is number {
  return typeof beta === 'number' && beta > 0 && beta < 1
}

function specOf (text: string): LocalAlgorithmSpec | undefined {
  if (text === 'dsgd') return { kind: 'dsgd' }
  const prox = FEDPROX_NAME.exec(text)
  if (prox !== null) {
    const mu = Number(prox[1])
    return validMu(mu) ? { kind: 'fedprox', mu } : undefined
  }
  const qgm = QGM_NAME.exec(text)
  if (qgm !== null) {
    const beta = Number(qgm[1])
    return validBeta(beta) ? { kind: 'qgm', beta } : undefined
  }
  const scaffold = SCAFFOLD_NAME.exec(text)
  if (scaffold !== null) {
    const beta = Number(scaffold[1])
    return beta >= 0 && beta < 1 ? { kind: 'scaffold', beta } : undefined
  }
  return undefined
}

/** 'dsgd', 'fedprox:0.01', 'qgm:0.9'; anything else is ERR_INVALID_ARGUMENT. */
export function parseLocalAlgorithm (text: string): LocalAlgorithmSpec {
  const spec = specOf(text)
  if (spec === undefined) throw new MurmurError('ERR_INVALID_ARGUMENT', `unknown training algorithm ${JSON.stringify(text)}; expected one of: ${LOCAL_ALGORITHMS_HELP}`)
  return spec
}

/** The text parseLocalAlgorithm reads back as the same algorithm: 'fedprox:0.01'. */
export function formatLocalAlgorithm (spec: LocalAlgorithmSpec): string {
  switch (spec.kind) {
    case 'dsgd': return 'dsgd'
    case 'fedprox': return `fedprox:${String(spec.mu)}`
    case 'qgm': return `qgm:${String(spec.beta)}`
    case 'scaffold': return `scaffold:${String(spec.beta)}`
  }
}

/** Hooks the local trainer calls around its optimizer's steps. */
export interface LocalAlgorithm {
  readonly name: string
  /** whether afterStep changes anything (dsgd does not, so the trainer need not read the weights) */
  readonly perStep: boolean
  /** at the start of a round of `steps` local steps, with the weights it starts from (the merged model) */
  beginRound (start: Weights, steps: number): void
  /** after each optimizer step: the corrected weights (fresh arrays; the argument is left alone) */
  afterStep (weights: Weights): Weights
}

export interface LocalAlgorithmInit {
  /** the manifest's learning rate: FedProx's step on its proximal term */
  readonly learningRate: number
}

export function createLocalAlgorithm (text: string, init: LocalAlgorithmInit): LocalAlgorithm {
  const spec = parseLocalAlgorithm(text)
  switch (spec.kind) {
    case 'dsgd': return new PlainSteps()
    case 'fedprox': return new ProximalTerm(spec.mu, init.learningRate)
    case 'qgm': return new QuasiGlobalMomentum(spec.beta)
    case 'scaffold': return new DriftCorrection(spec.beta)
  }
}

function copyOf (weights: Weights): Weights {
  return weights.map(tensor => ({ shape: [...tensor.shape], values: Float32Array.from(tensor.values) }))
}

/** a + scale·(b − c), tensor by tensor, in fresh arrays. */
function addScaledDifference (a: Weights, scale: number, b: Weights, c: Weights): Weights {
  return a.map((tensor, index) => {
    const x = tensor.values
    const y = (b[index] as Tensor).values
    const z = (c[index] as Tensor).values
    const values = new Float32Array(x.length)
    for (let i = 0; i < x.length; i++) values[i] = (x[i] as number) + scale * ((y[i] as number) - (z[i] as number))
    return { shape: [...tensor.shape], values }
  })
}

function assertShapes (expected: Weights, actual: Weights): void {
  if (!sameShapes(expected, actual)) throw new MurmurError('ERR_INVALID_ARGUMENT', 'weights of different architectures cannot be combined')
}

class PlainSteps implements LocalAlgorithm {
  readonly name = 'dsgd'
  readonly perStep = false
  beginRound (): void {}
  afterStep (weights: Weights): Weights {
    return copyOf(weights)
  }
}

/** FedProx's proximal term as a gradient step of its own: w ← w − γ·(w − anchor). */
export class ProximalTerm implements LocalAlgorithm {
  readonly name: string
  readonly perStep = true
  /** the share of the distance to the anchor removed after each step */
  readonly pull: number
  private anchor: Weights | null = null

  constructor (readonly mu: number, learningRate: number) {
    this.name = formatLocalAlgorithm({ kind: 'fedprox', mu })
    this.pull = Math.min(1, learningRate * mu)
  }

  beginRound (start: Weights): void {
    this.anchor = copyOf(start)
  }

  afterStep (weights: Weights): Weights {
    const anchor = this.anchor
    if (anchor === null) return copyOf(weights)
    assertShapes(anchor, weights)
    return addScaledDifference(weights, -this.pull, weights, anchor)
  }
}

/** Quasi-global momentum: heavy ball on the movement of the merged model between rounds. */
export class QuasiGlobalMomentum implements LocalAlgorithm {
  readonly name: string
  readonly perStep = true
  private previousStart: Weights | null = null
  private previousSteps = 0
  /** displacement per step, an exponential average over rounds */
  private momentum: Weights | null = null

  constructor (readonly beta: number) {
    this.name = formatLocalAlgorithm({ kind: 'qgm', beta })
  }

  beginRound (start: Weights, steps: number): void {
    const previous = this.previousStart
    if (previous !== null && this.previousSteps > 0) {
      assertShapes(previous, start)
      const zero = start.map(tensor => ({ shape: [...tensor.shape], values: new Float32Array(tensor.values.length) }))
      // m ← β·m + (1 − β)·(x_t − x_{t−1}) / τ
      const decayed = this.momentum === null ? zero : addScaledDifference(zero, this.beta, this.momentum, zero)
      this.momentum = addScaledDifference(decayed, (1 - this.beta) / this.previousSteps, start, previous)
    }
    this.previousStart = copyOf(start)
    this.previousSteps = steps
  }

  afterStep (weights: Weights): Weights {
    const momentum = this.momentum
    if (momentum === null) return copyOf(weights)
    assertShapes(momentum, weights)
    return weights.map((tensor, index) => {
      const x = tensor.values
      const m = (momentum[index] as Tensor).values
      const values = new Float32Array(x.length)
      for (let i = 0; i < x.length; i++) values[i] = (x[i] as number) + this.beta * (m[i] as number)
      return { shape: [...tensor.shape], values }
    })
  }

  /** the current momentum (displacement per step), for tests and diagnostics */
  get buffer (): Weights | null {
    return this.momentum === null ? null : copyOf(this.momentum)
  }
}

/**
 * SCAFFOLD's control variates (Karimireddy et al., "SCAFFOLD: Stochastic Controlled Averaging for
 * Federated Learning", ICML 2020), estimated from what a node already sees instead of being sent:
 * every local step adds c − cᵢ, the swarm's displacement per step minus the node's own.
 * - cᵢ (the own direction, SCAFFOLD's option II): how the node's local steps moved it in the last
 *   round without the correction, (y − x_{t−1}) / τ − (c − cᵢ), y the model after its last step;
 * - c (the swarm's direction): how the node's merged model moved between two round starts,
 *   (x_t − x_{t−1}) / τ, which averages every peer's local steps (as QGM reads its momentum there).
 * Both are exponential averages over rounds with weight BETA on the past (0: the last round only),
 * which damps the noise of one round's estimate.
 */
export class DriftCorrection implements LocalAlgorithm {
  readonly name: string
  readonly perStep = true
  private previousStart: Weights | null = null
  private previousSteps = 0
  /** the weights after the last step of the round under way: y */
  private last: Weights | null = null
  private own: Weights | null = null
  private swarm: Weights | null = null
  /** c − cᵢ, added to every local step of this round */
  private correction: Weights | null = null

  constructor (readonly beta: number) {
    this.name = formatLocalAlgorithm({ kind: 'scaffold', beta })
  }

  beginRound (start: Weights, steps: number): void {
    const previous = this.previousStart
    const last = this.last
    if (previous !== null && last !== null && this.previousSteps > 0) {
      assertShapes(previous, start)
      const zero = start.map(tensor => ({ shape: [...tensor.shape], values: new Float32Array(tensor.values.length) }))
      const perStep = 1 / this.previousSteps
      // the own direction: the round's displacement per step, without the correction it carried
      let ownNow = addScaledDifference(zero, perStep, last, previous)
      if (this.correction !== null) ownNow = addScaledDifference(ownNow, -1, this.correction, zero)
      const swarmNow = addScaledDifference(zero, perStep, start, previous)
      this.own = this.own === null ? ownNow : blend(this.own, ownNow, this.beta)
      this.swarm = this.swarm === null ? swarmNow : blend(this.swarm, swarmNow, this.beta)
      this.correction = addScaledDifference(zero, 1, this.swarm, this.own)
    }
    this.previousStart = copyOf(start)
    this.previousSteps = steps
    this.last = null
  }

  afterStep (weights: Weights): Weights {
    const correction = this.correction
    if (correction !== null) assertShapes(correction, weights)
    const corrected = weights.map((tensor, index) => {
      const values = Float32Array.from(tensor.values)
      if (correction !== null) {
        const c = (correction[index] as Tensor).values
        for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) + (c[i] as number)
      }
      return { shape: [...tensor.shape], values }
    })
    this.last = corrected
    return corrected
  }

  /** the current correction c − cᵢ, for tests and diagnostics */
  get buffer (): Weights | null {
    return this.correction === null ? null : copyOf(this.correction)
  }
}

/** β·past + (1 − β)·now, in fresh arrays. */
function blend (past: Weights, now: Weights, beta: number): Weights {
  return past.map((tensor, index) => {
    const p = tensor.values
    const n = (now[index] as Tensor).values
    const values = new Float32Array(p.length)
    for (let i = 0; i < p.length; i++) values[i] = beta * (p[i] as number) + (1 - beta) * (n[i] as number)
    return { shape: [...tensor.shape], values }
  })
}
