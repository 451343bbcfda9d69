import type { NodeStatus } from '../node/status.js'

/** What a run saw of one node while it ran, for its line in the summary (null: never seen). */
export interface ObservedFigures {
  /** largest resident memory of the node's process */
  readonly peakRssBytes: number | null
  /** differential privacy: the ε the node had spent when last seen */
  readonly privacyEpsilon: number | null
  /** 99th percentile event-loop delay of the node's main thread, when last seen */
  readonly eventLoopLagP99Ms: number | null
  /** peers the node pushed its model to after each round (the manifest's fanout adapted to its labels' skew), when last seen; null in broadcast mode */
  readonly fanout: number | null
}

/**
 * What a launcher (`murmur swarm`, `murmur testbed`) learns from its nodes' `GET /status` while they
 * run: the figures a node's final checkpoint does not keep.
 */
export class NodeObservations {
  private readonly peakRss = new Map<number, number>()
  private readonly epsilon = new Map<number, number>()
  private readonly lagP99 = new Map<number, number>()
  private readonly fanout = new Map<number, number>()

  observe (index: number, status: NodeStatus): void {
    this.peakRss.set(index, Math.max(this.peakRss.get(index) ?? 0, status.memory.rssBytes))
    if (status.privacy !== undefined) this.epsilon.set(index, status.privacy.epsilon)
    this.lagP99.set(index, status.eventLoop.lagP99Ms)
    if (status.exchange.mode === 'push') this.fanout.set(index, status.exchange.fanout)
  }

  of (index: number): ObservedFigures {
    return {
      peakRssBytes: this.peakRss.get(index) ?? null,
      privacyEpsilon: this.epsilon.get(index) ?? null,
      eventLoopLagP99Ms: this.lagP99.get(index) ?? null,
      fanout: this.fanout.get(index) ?? null
    }
  }
}
