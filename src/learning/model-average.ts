import { MurmurError } from '../errors.js'
import { sameShapes, type Tensor, type Weights } from './weights.js'

/**
 * An exponential moving average of a node's merged models over its rounds: the model the node stands
 * for (serves, checkpoints, is scored on). Under label skew each round's merge still leans towards
 * whichever peers' models were fresh, and swings from round to round; averaging the iterates (Polyak &
 * Juditsky, "Acceleration of Stochastic Approximation by Averaging", SIAM J. Control Optim. 1992, in
 * its exponential form) smooths the swings out. With `decay` d, a round's model counts (1 − d) and
 * fades by d a round: d = 0.8 averages over about the last five rounds.
 */
/** what a node's served model forgets a round (model-average.ts): about the last five rounds count */
export const DEFAULT_MODEL_AVERAGE_DECAY = 0.8
/**
 * The longest round the decay is meant for: a round that took longer counts as that many rounds of
 * this length (averageRounds), so that the average spans about five rounds of up to 7.5 s (every
 * process node measured; the same pace at which the peer window starts counting rounds instead of
 * seconds, peer-window.ts) and less than a minute of longer ones. The swarm moves on by time as well
 * as by rounds: a phone merging every 2 minutes served an average 8 minutes behind its merged model,
 * 2.1 points below serving the merged model itself on 1,000 phones (docs/simulations.md, "Phones").
 */
export const MODEL_AVERAGE_ROUND_MS = 7_500

/** How many rounds of MODEL_AVERAGE_ROUND_MS a round of `roundMs` counts as in the average: at least one. */
export function averageRounds (roundMs: number): number {
  return Number.isFinite(roundMs) && roundMs > MODEL_AVERAGE_ROUND_MS ? roundMs / MODEL_AVERAGE_ROUND_MS : 1
}

export class ModelAverage {
  private average: Weights | null = null

  constructor (readonly decay: number) {
    if (!(decay >= 0 && decay < 1)) throw new MurmurError('ERR_INVALID_ARGUMENT', `a model average's decay must lie in [0, 1), got ${decay}`)
  }

  /**
   * Adds a round's model and returns the average (fresh arrays); the first model is taken as it is.
   * `rounds` (≥ 1, default 1): how many rounds this one counts as; the past fades by decay^rounds.
   */
  add (weights: Weights, rounds = 1): Weights {
    const average = this.average
    if (average === null || !sameShapes(average, weights)) {
      this.average = copyOf(weights)
      return copyOf(weights)
    }
    const decay = rounds > 1 ? Math.pow(this.decay, rounds) : this.decay
    // In place: the average is this object's own (callers get copies), one model less of garbage a round.
    for (const [index, tensor] of average.entries()) {
      const values = tensor.values
      const now = (weights[index] as Tensor).values
      for (let i = 0; i < values.length; i++) values[i] = decay * (values[i] as number) + (1 - decay) * (now[i] as number)
    }
    return copyOf(average)
  }

  /** Starts over from this model (a node that adopts the swarm's model drops its own past). */
  reset (weights: Weights): Weights {
    this.average = null
    return this.add(weights)
  }
}

function copyOf (weights: Weights): Weights {
  return weights.map(tensor => ({ shape: [...tensor.shape], values: Float32Array.from(tensor.values) }))
}
