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
   * the gossip cycle Δ: a round every 2 minutes. A round a minute mixes better: on 1,000 phones, with
   * the core's catch-up of returning phones and its served average over time, the gap to centralized
   * is 10.8 points at 2 minutes and 5.4 at 1 minute (docs/simulations.md, "Phones coming back").
   * But rounds are what a simulation pays for: 10,000 simulated phones already take 22 minutes at 2
   * minutes, beyond the 15 that issue #11 allows (docs/simulations.md, "Scale")
   */
  gossipPeriodMs: 120_000,
  /** local steps per round */
  localSteps: 4,
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
