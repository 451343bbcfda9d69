/**
 * What `murmur simulate --availability smartphone` runs with unless flags (or a scenario) say
 * otherwise: phones as gossip learning studies them (Hegedűs, Danner & Jelasity, "Decentralized
 * learning works: an empirical comparison of gossip learning and federated learning", JPDC 2021,
 * with smartphone availability traces). A phone trains a small model fast (a step of `logistic` on a
 * batch takes milliseconds: the model's default step time stands) but shares on a fixed gossip cycle
 * (gossip-period.ts), not back to back, and takes few local steps per round: on its handful of
 * records, many steps between merges pull its model towards those records (client drift), while a
 * merge every round keeps it near the swarm's. docs/simulations.md ("Scale") gives the measurements
 * behind these values.
 */
export const SMARTPHONE_DEFAULTS = {
  /**
   * the gossip cycle Δ: a round a minute. Mixing is what a phone's accuracy follows: a session lasts
   * 300 s on average, so at 2 minutes it holds two or three merges. On 1,000 phones the gap to the
   * centralized model is 2.3 points at Δ 60 s with one step a round against 10.8 at Δ 120 s with four
   * (docs/simulations.md, "Phones: one step a minute")
   */
  gossipPeriodMs: 60_000,
  /**
   * one local step per round, as gossip learning updates a model once per cycle (Ormándi, Hegedűs &
   * Jelasity 2013): on 7 records, more steps between merges pull the model towards them (client
   * drift). At Δ 60 s, 2 and 4 steps end 3.7 and 5.4 points below their centralized models, a little
   * higher in accuracy (81.2 % and 81.8 % against 79.7 %) for 2 and 4 times the samples; a round
   * costs the simulation less with one
   */
  localSteps: 1,
  /**
   * the SGD step size of a phone: twice the manifest's 0.2. With one step a round, a phone's model
   * moves once a minute, and the swarm was still learning at the end of the hour. On 1,000 phones
   * (Δ 60 s, one step) 0.2, 0.3 and 0.4 end 2.3, 1.9 and 1.7 points below their centralized models
   * (trained at the same rate), at 79.7 %, 81.0 % and 81.5 % (docs/simulations.md, "Phones: one step a
   * minute"). Only for SGD without DP-SGD: Adam's scale is another, and DP-SGD has its own defaults
   */
  sgdLearningRate: 0.4,
  /**
   * plain local SGD: the manifest's default (quasi-global momentum, for label skew) carries each
   * round's drift on a handful of records into the next rounds
   */
  algorithm: 'dsgd',
  /**
   * a phone writes its state every 5 minutes, and always when it goes offline (a clean stop): what a
   * restart resumes is the latter, and fewer writes spare a phone's flash and battery (and the
   * simulation two model encodings a round)
   */
  checkpointIntervalMs: 300_000,
  /** connections a phone keeps (a phone on a mobile network keeps few; the simulated network's default is 32) */
  targetPeers: 8
} as const
