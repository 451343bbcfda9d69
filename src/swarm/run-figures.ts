import type { BuiltinDataset } from '../data/spec.js'
import { createManifest, type ExchangeSettings, type Manifest, type PrivacyOptions, type TrainingSettings } from '../learning/manifest.js'
import type { ModelSpec } from '../learning/models.js'
import { consensusDistance, type Weights } from '../learning/weights.js'
import type { Checkpoint } from '../core/node-state.js'
import type { LateJoin, NodeSummary, TimelinePoint } from './summary.js'

/**
 * Figures of a finished run that `murmur swarm`, `murmur testbed` and `murmur simulate` compute the
 * same way, from their nodes' final states and timelines (no TF.js, no processes here).
 */

/** What a run (`murmur swarm`, `simulate`, `testbed`) is told about the manifest its nodes share. */
export interface RunManifestOptions {
  readonly dataset: BuiltinDataset
  readonly model: string | ModelSpec
  readonly seed: number
  readonly training?: Partial<TrainingSettings>
  readonly exchange?: Partial<ExchangeSettings>
  readonly codec?: string
  readonly mergeRule?: string
  readonly privacy?: PrivacyOptions
}

/** The manifest of a run: the built-in dataset's shape, and only the settings the run was given. */
export function runManifest (options: RunManifestOptions, shape: { readonly inputShape: readonly number[]; readonly classes: number }): Manifest {
  return createManifest({
    model: options.model,
    dataset: { name: options.dataset, inputShape: shape.inputShape, classes: shape.classes },
    seed: options.seed,
    ...(options.training === undefined ? {} : { training: options.training }),
    ...(options.exchange === undefined ? {} : { exchange: options.exchange }),
    ...(options.codec === undefined ? {} : { codec: options.codec }),
    ...(options.mergeRule === undefined ? {} : { mergeRule: options.mergeRule }),
    ...(options.privacy === undefined ? {} : { privacy: options.privacy })
  })
}

export function round (value: number, digits = 1): number {
  return Math.round(value * 10 ** digits) / 10 ** digits
}

export function summarise (values: number[]): { mean: number; min: number; max: number } {
  if (values.length === 0) return { mean: 0, min: 0, max: 0 }
  let sum = 0
  let min = Infinity
  let max = -Infinity
  // A loop, not Math.min(...values): a simulation scores more nodes than a call may take arguments.
  for (const value of values) {
    sum += value
    if (value < min) min = value
    if (value > max) max = value
  }
  return { mean: sum / values.length, min, max }
}

/**
 * How long each late joiner took to catch up: from its join to the first timeline point where its
 * accuracy is within one point of the mean of the other nodes.
 */
export function lateJoins (nodes: ReadonlyArray<{ readonly index: number; readonly joinedAtMs: number | null }>, timeline: readonly TimelinePoint[]): LateJoin[] {
  return nodes.filter(n => n.joinedAtMs !== null).map(n => {
    const joinedAt = (n.joinedAtMs ?? 0) / 1000
    const key = String(n.index)
    const caughtUp = timeline.find(point => {
      if (point.t < joinedAt || point.nodeAccuracy === undefined) return false
      const own = point.nodeAccuracy[key]
      const others = Object.entries(point.nodeAccuracy).filter(([k, v]) => k !== key && v !== null).map(([, v]) => v as number)
      return own !== undefined && own !== null && others.length > 0 && own >= others.reduce((a, b) => a + b, 0) / others.length - 0.01
    })
    return { node: n.index, joinedAt: round(joinedAt), catchUpSeconds: caughtUp === undefined ? null : round(Math.max(0, caughtUp.t - joinedAt)) }
  })
}

/**
 * The end of a run, scored: accuracy over the counted nodes (alive at the end, and honest in a
 * simulation with attackers), consensus over their models, the timeline's last point, and the samples
 * a counted node processed on average (what the centralized baseline trains on).
 */
export function finalScoring (counted: readonly NodeSummary[], models: readonly Weights[], seconds: number): { scores: ReturnType<typeof summarise>; consensus: number | null; point: TimelinePoint; meanSamples: number } {
  const accuracies = counted.map(n => n.accuracy).filter((a): a is number => a !== null)
  const scores = summarise(accuracies)
  const consensus = consensusDistance(models)
  return {
    scores,
    consensus,
    point: {
      t: round(seconds),
      meanAccuracy: accuracies.length > 0 ? scores.mean : null,
      minAccuracy: accuracies.length > 0 ? scores.min : null,
      consensusDistance: consensus,
      liveNodes: models.length,
      nodeAccuracy: Object.fromEntries(counted.map(n => [String(n.index), n.accuracy]))
    },
    meanSamples: Math.round(counted.reduce((total, n) => total + n.samplesProcessed, 0) / Math.max(counted.length, 1))
  }
}

/** What a node's final checkpoint says of its progress and traffic, for its line in the summary (zeros without one). */
export function checkpointFigures (state: Checkpoint | null): Pick<NodeSummary, 'samplesProcessed' | 'step' | 'exchanges' | 'updatesReceived' | 'updatesAccepted' | 'updatesRejected' | 'rejectedByReason' | 'bytesSent' | 'bytesReceived' | 'restarts' | 'sendsDropped' | 'sendsFailed'> {
  return {
    samplesProcessed: state?.samplesProcessed ?? 0,
    step: state?.step ?? 0,
    exchanges: state?.counters.exchanges ?? 0,
    updatesReceived: state?.counters.updatesReceived ?? 0,
    updatesAccepted: state?.counters.updatesAccepted ?? 0,
    updatesRejected: state?.counters.updatesRejected ?? 0,
    rejectedByReason: state?.counters.rejectedByReason ?? {},
    bytesSent: state?.counters.bytesSent ?? 0,
    bytesReceived: state?.counters.bytesReceived ?? 0,
    restarts: state?.counters.restarts ?? 0,
    sendsDropped: state?.counters.sendsDropped ?? 0,
    sendsFailed: state?.counters.sendsFailed ?? 0
  }
}
