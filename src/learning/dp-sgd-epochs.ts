/**
 * How many passes over its records a node's DP-SGD budget is spread over when nobody says
 * (`--dp-epochs`): fewer for a smaller ε. A budget spread thinly over many steps needs so much noise
 * per step that the model learns nothing (8 nodes of ~900 MNIST records, ε = 1 over 60 epochs: 27.7 %),
 * while a large ε is wasted on few steps. Measured in docs/privacy.md ("Choosing the horizon"): about
 * 7.5 epochs per unit of ε, between 5 and 60, was within a point of the best horizon at ε = 1, 2, 4, 8.
 */
export const EPOCHS_PER_EPSILON = 7.5
export const MIN_RECORD_EPOCHS = 5
export const MAX_RECORD_EPOCHS = 60

/** The default horizon, in epochs, for a record-level budget of ε = `epsilon`. */
export function recordEpochsFor (epsilon: number): number {
  return Math.min(MAX_RECORD_EPOCHS, Math.max(MIN_RECORD_EPOCHS, Math.round(EPOCHS_PER_EPSILON * epsilon)))
}
