import { MurmurError } from '../errors.js'
import { weightedAverage, type Weights } from './weights.js'

/** A model and how many training samples stand behind it. */
export interface Contribution {
  readonly weights: Weights
  readonly samples: number
}

/**
 * How a node combines its own model with those it heard from peers (Flower's Strategy, reduced to the
 * one decision a serverless node makes). Later rules (trimmed mean, median) implement the same shape.
 */
export interface MergeRule {
  readonly name: string
  merge (own: Contribution, received: readonly Contribution[]): Weights
}

export const MERGE_RULE_NAMES = ['mean'] as const
export type MergeRuleName = typeof MERGE_RULE_NAMES[number]

/** Average weighted by samples seen, so a fresh or slow node moves the swarm less than a seasoned one. */
export class WeightedMean implements MergeRule {
  readonly name = 'mean'

  merge (own: Contribution, received: readonly Contribution[]): Weights {
    const all = [own, ...received]
    // A node that has seen no samples yet still counts a little, so that a swarm of new nodes can average.
    return weightedAverage(all.map(c => c.weights), all.map(c => Math.max(c.samples, 1)))
  }
}

export function createMergeRule (name: string): MergeRule {
  switch (name) {
    case 'mean':
      return new WeightedMean()
    default:
      throw new MurmurError('ERR_INVALID_ARGUMENT', `unknown merge rule "${name}": choose one of ${MERGE_RULE_NAMES.join(', ')}`)
  }
}
