/**
 * The gossip cycle Δ of gossip learning (Ormándi, Hegedűs & Jelasity, "Gossip learning with linear
 * models on fully distributed data", Concurrency and Computation 2013; Hegedűs, Danner & Jelasity,
 * "Decentralized learning works", JPDC 2021): a node shares its model once per period, whatever its
 * compute speed. A device that trains a round faster than that (a phone training a small model takes
 * milliseconds a step) idles the rest of the period rather than take more local steps on its few
 * records between merges (which pulls its model towards its own records: client drift) or send more
 * often (which costs its owner traffic and battery).
 */

/** How long to idle after a round that took `elapsedMs` so that rounds start `periodMs` apart (0: back to back). */
export function gossipIdleMs (elapsedMs: number, periodMs: number): number {
  return Math.max(0, periodMs - elapsedMs)
}

/**
 * How long a node's first round waits for, instead of a whole period: a fraction of it drawn from the
 * node's own random stream. Nodes that start together (a swarm launched at once, phones coming back
 * on the same minute) would otherwise run their rounds in step: every push arrives just after its
 * receiver merged and waits a whole period to count. A staggered start spreads the rounds over the
 * period, and a node that comes back merges what it hears (its catch-up, node-core.ts) sooner.
 */
export function firstRoundPeriodMs (periodMs: number, random: () => number): number {
  return periodMs * random()
}
