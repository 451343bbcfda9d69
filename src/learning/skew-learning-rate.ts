import { skewShare } from '../data/label-skew.js'

/**
 * How large a step a trainer takes on label-skewed records: the manifest's learning rate, up to
 * SKEWED_LEARNING_RATE_FACTOR times it for strongly skewed labels (in proportion to skewShare in
 * between), the manifest's rate for balanced ones. It is decided from the trainer's own records, a
 * fact no peer can change (as the exchange adapts: core/skew-adaptation.ts); a model trained on
 * pooled data (the centralized baseline) has balanced labels and keeps the manifest's rate.
 *
 * Why larger steps. A skewed node's steps do not stay its own: after every round it averages them
 * with the models of up to seven peers (core/skew-adaptation.ts), so the swarm's model moves by the
 * mean of many nodes' steps, whose noise is lower than one node's (the reasoning behind scaling the
 * learning rate with the batch: Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in
 * 1 Hour", 2017), while the peers' models it averages with are a round or more old, which holds the
 * merged model back. On label-skewed MNIST the swarm learned more slowly per step than the
 * centralized model; twice the rate on strongly skewed nodes brought it within the goal
 * (docs/simulations.md, section 6, "Step size under skew"). Only the optimizer's step grows:
 * quasi-global momentum's correction (local-algorithm.ts) is a displacement the swarm's model already
 * made, and scaling it would make the momentum grow without bound (heavy ball with β·factor ≥ 1).
 * FedProx's proximal step (learningRate·MU) follows the rate, as the term is part of the loss.
 */

/** the most a strongly skewed node multiplies the manifest's learning rate by */
export const SKEWED_LEARNING_RATE_FACTOR = 2

/** The learning rate of a trainer whose records carry these label counts; the manifest's when they are unknown. */
export function skewLearningRate (learningRate: number, counts: readonly number[] | undefined): number {
  return learningRate * (1 + (SKEWED_LEARNING_RATE_FACTOR - 1) * skewShare(counts))
}
