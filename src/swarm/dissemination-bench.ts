import { parsePartition } from '../data/partition.js'
import { runSwarm } from './launcher.js'
import type { SwarmSummary } from './summary.js'

export { DEFAULT_DISSEMINATION_CASES, type DisseminationCase } from './dissemination-cases.js'
import type { DisseminationCase } from './dissemination-cases.js'

export interface DisseminationResult extends DisseminationCase {
  readonly fanout: number
  readonly durationSeconds: number
  /** model payload bytes a node sent per exchange, on average */
  readonly bytesPerExchange: number
  readonly bytesSentPerNode: number
  /** seconds until the swarm's mean accuracy first reached the target (timeline resolution), or null */
  readonly secondsToTarget: number | null
  readonly targetAccuracy: number
  readonly finalAccuracy: number
  readonly centralizedAccuracy: number
  readonly samplesPerNode: number
  /** mean accuracy over time, to judge other targets afterwards */
  readonly timeline: ReadonlyArray<{ readonly t: number; readonly meanAccuracy: number | null }>
}

export interface DisseminationBenchOptions {
  readonly cases: readonly DisseminationCase[]
  readonly durationMs: number
  readonly targetAccuracy: number
  readonly seed?: number
  readonly onResult?: (result: DisseminationResult) => void
  readonly onProgress?: (line: string) => void
  readonly signal?: AbortSignal
}

function secondsToTarget (summary: SwarmSummary, target: number): number | null {
  return summary.timeline.find(point => point.meanAccuracy !== null && point.meanAccuracy >= target)?.t ?? null
}

/** Runs one local swarm per case (MLP on MNIST, IID) and measures what dissemination costs and buys. */
export async function benchmarkDissemination (options: DisseminationBenchOptions): Promise<DisseminationResult[]> {
  const results: DisseminationResult[] = []
  for (const benchCase of options.cases) {
    if (options.signal?.aborted === true) break
    options.onProgress?.(`${benchCase.nodes} nodes, ${benchCase.mode}, ${benchCase.codec}…`)
    const summary = await runSwarm({
      nodes: benchCase.nodes,
      dataset: 'mnist',
      model: 'mlp',
      partition: parsePartition('iid'),
      durationMs: options.durationMs,
      seed: options.seed ?? 42,
      codec: benchCase.codec,
      exchange: { mode: benchCase.mode, ...(benchCase.fanout === undefined ? {} : { fanout: benchCase.fanout }) },
      timelineIntervalMs: 2_000,
      ...(options.signal === undefined ? {} : { signal: options.signal })
    })
    const result: DisseminationResult = {
      ...benchCase,
      fanout: summary.exchange.fanout,
      durationSeconds: summary.durationSeconds,
      bytesPerExchange: summary.bytesPerExchange,
      bytesSentPerNode: summary.bytesSentPerNode,
      secondsToTarget: secondsToTarget(summary, options.targetAccuracy),
      targetAccuracy: options.targetAccuracy,
      finalAccuracy: summary.accuracy.mean,
      centralizedAccuracy: summary.centralized.accuracy,
      timeline: summary.timeline.map(point => ({ t: point.t, meanAccuracy: point.meanAccuracy })),
      samplesPerNode: Math.round(summary.nodes.reduce((total, node) => total + node.samplesProcessed, 0) / Math.max(summary.nodes.length, 1))
    }
    results.push(result)
    options.onResult?.(result)
  }
  return results
}
