import type { SwarmSummary } from '../swarm/summary.js'

/** What `murmur swarm` and `murmur simulate` both summarise (a simulation has no wall time or process RSS per node). */
export type SummaryFigures = Omit<SwarmSummary, 'wallSeconds' | 'peakRssBytesPerNode'>

export const percent = (value: number | null | undefined): string => value === null || value === undefined ? '-' : `${(value * 100).toFixed(1)}%`
export const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`

/** `test accuracy` over the scored nodes, with an optional note on which nodes those are. */
export function accuracyLine (summary: SummaryFigures, note?: string): string {
  const { mean, min, max } = summary.accuracy
  return `test accuracy     mean ${percent(mean)}  min ${percent(min)}  max ${percent(max)}${note === undefined ? '' : `  (${note})`}`
}

/**
 * The centralized baseline, late joins and the scenario. Under record-level DP-SGD the baseline takes
 * the nodes' clipped steps without their noise (centralized-baseline.ts), which the line says, so a
 * reader does not take the gap for the cost of clipping alone.
 */
export function learningLines (summary: SummaryFigures): string[] {
  const clipped = summary.privacy?.level === 'record' ? '; DP-SGD steps clipped as the nodes clip them, without noise' : ''
  return [
    `centralized       ${percent(summary.centralized.accuracy)}  (same model on the pooled data, ${summary.centralized.samplesProcessed} samples: as many as a node processed on average${clipped})`,
    ...summary.lateJoins.map(join => `late join         node ${join.node} joined at ${join.joinedAt} s, ${join.catchUpSeconds === null ? 'did not catch up with the others' : `caught up with the others' mean accuracy ${join.catchUpSeconds} s later`}`),
    ...(summary.scenario === null ? [] : [`scenario          ${summary.scenario}: ${summary.events.length} events`])
  ]
}

function privacyLine (privacy: NonNullable<SummaryFigures['privacy']>): string {
  const horizon = privacy.expectedSteps !== undefined ? ` for the ${privacy.expectedSteps} steps a node was expected to take` : ''
  const noise = privacy.noiseMultiplier === undefined ? `noise calibrated by each node${horizon}` : `noise ${privacy.noiseMultiplier.toFixed(3)} × clip ${privacy.clip}`
  return privacy.level === 'record'
    ? `privacy           record-level DP-SGD: largest ε spent by a node ${privacy.epsilonSpent.toFixed(2)} at δ = ${privacy.delta}${privacy.epsilonBudget === undefined ? '' : ` (budget ${privacy.epsilonBudget})`}; ${noise}`
    : `privacy           node-level per exchange: largest ε spent by a node ${privacy.epsilonSpent.toFixed(2)} at δ = ${privacy.delta}; ${noise}`
}

/** Consensus, traffic and, when the manifest asks for it, privacy. */
export function exchangeLines (summary: SummaryFigures): string[] {
  const { exchange } = summary
  return [
    `consensus         mean distance to the average model ${summary.consensusDistance.toFixed(4)}`,
    `bytes sent        ${megabytes(summary.bytesSentPerNode)} per node on average, ${(summary.bytesPerExchange / 1e3).toFixed(0)} kB per exchange (${exchange.mode}${exchange.mode === 'push' ? `, fanout ${exchange.fanout}` : ''}, codec ${summary.codec})`,
    ...(summary.privacy === undefined ? [] : [privacyLine(summary.privacy)])
  ]
}
