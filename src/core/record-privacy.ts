import type { DpSgdPlan } from '../learning/dp-sgd-plan.js'
import { gaussianRdp, RdpAccountant, type AccountantState } from '../learning/privacy.js'

export interface RecordPrivacyStatus {
  readonly level: 'record'
  /** ε spent so far for this node's training records at `delta`, over all its runs */
  readonly epsilon: number
  readonly delta: number
  readonly noiseMultiplier: number
  /** L2 bound on each record's gradient */
  readonly clip: number
  /** q: the probability that a record joins a step's batch */
  readonly samplingRate: number
  /** DP-SGD steps accounted (each releases one noisy gradient), over all runs */
  readonly releases: number
  readonly epsilonBudget: number | null
  /** steps the noise was calibrated for (null with a fixed noise multiplier) */
  readonly horizonSteps: number | null
  /** the budget is spent: the node no longer trains, but still merges and shares */
  readonly exhausted: boolean
}

/** Guards against rounding: a budget met to 1e-9 relative is met. */
const BUDGET_SLACK = 1 + 1e-9

/**
 * A node's record-level privacy budget: an RDP accountant composing one Poisson-subsampled Gaussian
 * mechanism per DP-SGD step (Mironov, Talwar, Zhang 2019), how many more steps the budget allows,
 * and the ledger that carries the spent budget across restarts.
 *
 * The ledger is written ahead: a saved ledger covers the steps taken plus a reserve, and the node
 * saves a new one (a checkpoint) before it takes a step the last one does not cover. A node that
 * crashes therefore restarts having spent at most its reserve more than it did, never less; a clean
 * stop saves a ledger without reserve.
 */
export class RecordPrivacy {
  private readonly plan: DpSgdPlan
  private readonly accountant: RdpAccountant
  /** RDP of one step at each of the accountant's orders: the same mechanism every step */
  private readonly perStep: number[]
  /** steps the last saved ledger covers beyond those taken */
  private reserveLeft = 0

  /** `saved`: the ledger of an earlier run of this node (its checkpoint), to go on from. */
  constructor (plan: DpSgdPlan, saved?: AccountantState) {
    this.plan = plan
    this.accountant = saved === undefined ? new RdpAccountant() : RdpAccountant.restore(saved)
    this.perStep = this.accountant.orders.map(order => gaussianRdp(plan.noiseMultiplier, order, plan.samplingRate))
  }

  /** ε spent after `extra` more steps */
  private epsilonAfter (extra: number): number {
    if (this.accountant.releases + extra === 0) return 0
    const after = RdpAccountant.restore(this.accountant.snapshot()).composeRdp(this.perStep, extra)
    return after.epsilon(this.plan.delta).epsilon
  }

  spent (): number {
    return this.epsilonAfter(0)
  }

  /** The most steps, up to `wanted`, that keep the spent ε within the budget. */
  affordableSteps (wanted: number): number {
    const budget = this.plan.epsilonBudget
    if (budget === null || wanted <= 0) return Math.max(0, wanted)
    const limit = budget * BUDGET_SLACK
    if (this.epsilonAfter(wanted) <= limit) return wanted
    // ε grows with every step: binary search for the last step within the budget.
    let low = 0
    let high = wanted
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2)
      if (this.epsilonAfter(middle) <= limit) low = middle
      else high = middle
    }
    return low
  }

  /**
   * DP-SGD steps accounted over all the node's runs: where its learning-rate schedule stands. After
   * a crash it includes the reserve the last ledger held, so the schedule never goes back.
   */
  stepsTaken (): number {
    return this.accountant.releases
  }

  exhausted (): boolean {
    return this.affordableSteps(1) === 0
  }

  /** Whether the last saved ledger already covers `steps` more steps. */
  covers (steps: number): boolean {
    return steps <= this.reserveLeft
  }

  /** Accounts steps that were taken. */
  spend (steps: number): void {
    this.accountant.composeRdp(this.perStep, steps)
    this.reserveLeft = Math.max(0, this.reserveLeft - steps)
  }

  /**
   * The ledger to save now: the steps taken plus a reserve of up to `reserve` more (no more than the
   * budget allows), which later steps may use until the next save.
   */
  ledger (reserve: number): AccountantState {
    const covered = this.affordableSteps(Math.max(0, Math.floor(reserve)))
    this.reserveLeft = covered
    const ledger = RdpAccountant.restore(this.accountant.snapshot()).composeRdp(this.perStep, covered)
    return ledger.snapshot()
  }

  status (): RecordPrivacyStatus {
    return {
      level: 'record',
      epsilon: this.spent(),
      delta: this.plan.delta,
      noiseMultiplier: this.plan.noiseMultiplier,
      clip: this.plan.clip,
      samplingRate: this.plan.samplingRate,
      releases: this.accountant.releases,
      epsilonBudget: this.plan.epsilonBudget,
      horizonSteps: this.plan.horizonSteps,
      exhausted: this.exhausted()
    }
  }
}
