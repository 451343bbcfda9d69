import { readFile } from 'node:fs/promises'
import { MurmurError } from '../errors.js'
import { median } from '../statistics.js'

/**
 * A simulated node's compute speed: the virtual time one local step (one batch, with its share of the
 * merges and exchanges around it) takes on a device that trains all the time. Slower profiles train
 * less of the time (--profiles), as in `murmur swarm`.
 *
 * Calibrated from a real run: `murmur swarm --out DIR` writes DIR/summary.json, and a node there
 * took `step` steps in `durationSeconds`; the median over the nodes that trained the whole run at
 * full speed is the step time of that swarm on that machine (its nodes sharing its cores). The same
 * summary gives the share of pushes that did not deliver a model there (pushLossFromSummary).
 */

/**
 * Step times of nodes in an 8-node `murmur swarm` on the 2-core machine murmur is developed on: the
 * default when no calibration is given. mlp: measured (docs/simulations.md, "Fidelity"); logistic:
 * estimated from a 2-node run (3.4 ms a step) with four times as many nodes sharing the cores.
 */
export const DEFAULT_STEP_MS: Readonly<Record<string, number>> = { logistic: 15, mlp: 60 }

/** The default step time of a model: the table's, or the mlp's for a model not in it. */
export function defaultStepMs (model: string): number {
  return DEFAULT_STEP_MS[model] ?? DEFAULT_STEP_MS.mlp as number
}

interface SummaryNode { alive?: unknown; role?: unknown; maxCpu?: unknown; restarts?: unknown; step?: unknown; exchanges?: unknown; updatesReceived?: unknown; fanout?: unknown }

/** What a simulation takes from a real run. */
export interface Calibration {
  /** virtual milliseconds a local step takes (stepMsFromSummary) */
  readonly stepMs: number
  /** share of pushes that did not deliver a model there (pushLossFromSummary); null when the summary does not say */
  readonly pushLoss: number | null
}

/**
 * The share of the real run's pushes that did not deliver a model: 1 − arrived / slots, where a
 * node's slots are its fanout × its exchanges but the last (whose pushes are still in flight when it
 * stops), and a push arrived when a receiver counted it (`updatesReceived`), over every node. A node's
 * fanout is its own line's (a skewed node pushes to more peers, skew-adaptation.ts), else the
 * manifest's (summaries written before nodes reported theirs), and at most the number of other nodes. On a
 * host running more node processes than it has cores, starved nodes answer late (pushes time out,
 * `sendsFailed`), find the previous push to a peer still in flight (`sendsDropped`) and know fewer
 * swarm peers to push to (docs/simulations.md, "Fidelity"). The simulator's network has no CPU to
 * starve, so the calibration carries the loss over as lost pushes. Null in broadcast mode, or for a
 * summary without exchanges.
 */
export function pushLossFromSummary (summary: unknown): number | null {
  const record = typeof summary === 'object' && summary !== null ? summary as { exchange?: { mode?: unknown; fanout?: unknown }; nodes?: unknown } : {}
  const { exchange, nodes } = record
  if (!Array.isArray(nodes) || exchange?.mode !== 'push' || typeof exchange.fanout !== 'number') return null
  let slots = 0
  let arrived = 0
  for (const node of nodes as SummaryNode[]) {
    if (typeof node.exchanges !== 'number' || typeof node.updatesReceived !== 'number') return null
    // A node pushes to at most its fanout of the other nodes.
    const fanout = Math.min(typeof node.fanout === 'number' ? node.fanout : exchange.fanout, nodes.length - 1)
    slots += fanout * Math.max(0, node.exchanges - 1)
    arrived += node.updatesReceived
  }
  return slots === 0 ? null : Math.max(0, 1 - arrived / slots)
}

/** The median step time of the full-speed nodes of a swarm summary; refuses a summary it cannot use. */
export function stepMsFromSummary (summary: unknown, source: string): number {
  const fail = (problem: string): never => { throw new MurmurError('ERR_INVALID_ARGUMENT', `calibration ${source}: ${problem}; give the summary.json of a murmur swarm run (murmur swarm --out DIR)`) }
  const record = typeof summary === 'object' && summary !== null ? summary as { durationSeconds?: unknown; nodes?: unknown } : fail('not a JSON object')
  const seconds = record.durationSeconds
  if (typeof seconds !== 'number' || !(seconds > 0)) fail('no positive durationSeconds')
  if (!Array.isArray(record.nodes)) fail('no nodes list')
  const times = (record.nodes as SummaryNode[])
    .filter(node => node.alive !== false && node.role !== 'attacker' && (node.maxCpu ?? 1) === 1 && (node.restarts ?? 0) === 0 && typeof node.step === 'number' && node.step > 0)
    .map(node => (seconds as number) * 1000 / (node.step as number))
  if (times.length === 0) fail('no node trained the whole run at full speed')
  return median(times)
}

/** Reads a real run's summary.json: its step time and push loss. */
export async function readCalibration (file: string): Promise<Calibration> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `cannot read calibration ${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `calibration ${file} is not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  return { stepMs: stepMsFromSummary(parsed, file), pushLoss: pushLossFromSummary(parsed) }
}
