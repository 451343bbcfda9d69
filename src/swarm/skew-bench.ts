import { formatPartition, parsePartition } from '../data/partition.js'
import type { BuiltinDataset } from '../data/spec.js'
import { MurmurError } from '../errors.js'
import { DEFAULT_TRAINING } from '../learning/manifest.js'
import type { SimulationOptions } from '../simulator/simulation.js'
import { median } from '../statistics.js'
import type { SwarmSummary } from './summary.js'

/** the figures of a run that the benchmark reads: a swarm's summary and a simulation's have them all */
type SkewSummary = Pick<SwarmSummary, 'mergeRule' | 'durationSeconds' | 'accuracy' | 'centralized' | 'bytesSentPerNode' | 'nodes'>

/** One swarm of the skew benchmark: which data and model, how the data is split, which algorithm. */
export interface SkewCase {
  readonly dataset: BuiltinDataset
  readonly model: string
  /** a partition as `--partition` takes it: iid, dirichlet:ALPHA, shards:K */
  readonly partition: string
  /** a training algorithm as `--algorithm` takes it (local-algorithm.ts) */
  readonly algorithm: string
}

/**
 * What runs a case: `swarm` starts real node processes (`murmur swarm`), `simulate` runs the same
 * node cores in one process in virtual time (`murmur simulate`, docs/simulations.md section 7): the
 * whole table in minutes, without TF.js; it simulates dense models only (no `cnn`).
 */
export type SkewEngine = 'swarm' | 'simulate'
export const SKEW_ENGINES: readonly SkewEngine[] = ['swarm', 'simulate']

export interface SkewResult extends SkewCase {
  /** what ran the case: real node processes or the in-process simulator */
  readonly engine: SkewEngine
  readonly nodes: number
  readonly mergeRule: string
  readonly durationSeconds: number
  /** mean and lowest test accuracy of the nodes' final models */
  readonly meanAccuracy: number
  readonly minAccuracy: number
  /** the same model trained on the pooled data of all nodes for as many samples as a node processed */
  readonly centralizedAccuracy: number
  readonly bytesSentPerNode: number
  readonly samplesPerNode: number
  /** which run of the case this is (0 for the first; --repeats) and the seed it ran with: the bench's seed + repeat */
  readonly repeat: number
  readonly seed: number
}

/** The data and model pairs the issue asks for: MNIST with the MLP, Fashion-MNIST with the MLP and the CNN. */
export const DEFAULT_SKEW_SETUPS: ReadonlyArray<{ readonly dataset: BuiltinDataset; readonly model: string }> = [
  { dataset: 'mnist', model: 'mlp' },
  { dataset: 'fashion-mnist', model: 'mlp' },
  { dataset: 'fashion-mnist', model: 'cnn' }
]

export const DEFAULT_SKEW_PARTITIONS: readonly string[] = ['iid', 'dirichlet:0.5', 'dirichlet:0.1', 'shards:2']

/** the manifest's default first, then the algorithms built for non-IID data */
export const DEFAULT_SKEW_ALGORITHMS: readonly string[] = [DEFAULT_TRAINING.algorithm, 'dsgd', 'fedprox:0.1', 'scaffold:0.5', 'qgm:0.9']
  .filter((algorithm, index, all) => all.indexOf(algorithm) === index)

export interface SkewCaseChoice {
  /** dataset:model pairs, e.g. fashion-mnist:cnn (default DEFAULT_SKEW_SETUPS) */
  readonly setups?: ReadonlyArray<{ readonly dataset: BuiltinDataset; readonly model: string }>
  readonly partitions?: readonly string[]
  readonly algorithms?: readonly string[]
}

/** Every combination of the chosen setups, partitions and algorithms, in that nesting order. */
export function skewCases (choice: SkewCaseChoice = {}): SkewCase[] {
  const cases: SkewCase[] = []
  for (const { dataset, model } of choice.setups ?? DEFAULT_SKEW_SETUPS) {
    for (const partition of choice.partitions ?? DEFAULT_SKEW_PARTITIONS) {
      for (const algorithm of choice.algorithms ?? DEFAULT_SKEW_ALGORITHMS) {
        cases.push({ dataset, model, partition: formatPartition(parsePartition(partition)), algorithm })
      }
    }
  }
  return cases
}

export interface SkewBenchOptions {
  readonly cases: readonly SkewCase[]
  /** nodes per swarm (default 8) */
  readonly nodes?: number
  readonly durationMs: number
  /** the seed of a case's first run (default 42); its repeat r runs with seed + r */
  readonly seed?: number
  /**
   * runs of each case (default 1). Two runs of one case end a point or two apart (how many steps each
   * node took, and when, depends on the machine), and so do the centralized models; the table
   * (skewRows) gives the medians. Each run has its own seed: another data split, other initial weights.
   */
  readonly repeats?: number
  /** the merge rule of every swarm (default: the manifest's) */
  readonly mergeRule?: string
  readonly localSteps?: number
  /** peers a node pushes its model to after each round (default: the manifest's) */
  readonly fanout?: number
  /** real node processes (default) or the simulator */
  readonly engine?: SkewEngine
  readonly onResult?: (result: SkewResult) => void
  readonly onProgress?: (line: string) => void
  readonly signal?: AbortSignal
}

/** Runs one local swarm per case and scores its nodes against a centralized model on as many samples. */
export async function benchmarkSkew (options: SkewBenchOptions): Promise<SkewResult[]> {
  const engine = options.engine ?? 'swarm'
  if (engine === 'simulate') {
    const unsimulated = options.cases.find(benchCase => benchCase.model === 'cnn')
    if (unsimulated !== undefined) throw new MurmurError('ERR_INVALID_ARGUMENT', `the simulator trains dense models only, not ${unsimulated.model}: run ${unsimulated.dataset}:${unsimulated.model} with the swarm engine`)
  }
  const results: SkewResult[] = []
  const nodes = options.nodes ?? 8
  const repeats = options.repeats ?? 1
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new MurmurError('ERR_INVALID_ARGUMENT', `repeats must be a whole number ≥ 1, got ${repeats}`)
  const runs = options.cases.flatMap(benchCase => Array.from({ length: repeats }, (_, repeat) => ({ benchCase, repeat })))
  for (const [index, { benchCase, repeat }] of runs.entries()) {
    if (options.signal?.aborted === true) break
    const seed = (options.seed ?? 42) + repeat
    options.onProgress?.(`[${index + 1}/${runs.length}] ${benchCase.dataset} ${benchCase.model}, ${benchCase.partition}, ${benchCase.algorithm} (${engine}${repeats > 1 ? `, seed ${seed}` : ''})…`)
    const settings = {
      dataset: benchCase.dataset,
      model: benchCase.model,
      partition: parsePartition(benchCase.partition),
      durationMs: options.durationMs,
      seed,
      training: { algorithm: benchCase.algorithm, ...(options.localSteps === undefined ? {} : { localSteps: options.localSteps }) },
      ...(options.mergeRule === undefined ? {} : { mergeRule: options.mergeRule }),
      ...(options.fanout === undefined ? {} : { exchange: { fanout: options.fanout } }),
      ...(options.signal === undefined ? {} : { signal: options.signal })
    }
    const summary = engine === 'swarm' ? await runRealSwarm(nodes, settings) : await runSimulatedSwarm(nodes, settings)
    const result: SkewResult = {
      ...benchCase,
      engine,
      nodes,
      mergeRule: summary.mergeRule,
      durationSeconds: summary.durationSeconds,
      meanAccuracy: summary.accuracy.mean,
      minAccuracy: summary.accuracy.min,
      centralizedAccuracy: summary.centralized.accuracy,
      bytesSentPerNode: summary.bytesSentPerNode,
      samplesPerNode: Math.round(summary.nodes.reduce((total, node) => total + node.samplesProcessed, 0) / Math.max(summary.nodes.length, 1)),
      repeat,
      seed
    }
    results.push(result)
    options.onResult?.(result)
  }
  return results
}

/** One case of the table: the medians over its runs. */
export interface SkewRow extends SkewCase {
  readonly engine: SkewEngine
  readonly mergeRule: string
  readonly runs: number
  readonly meanAccuracy: number
  readonly minAccuracy: number
  readonly centralizedAccuracy: number
  /** medians over the runs of each run's own gaps (mean − central, min − central), and the range of the first */
  readonly meanGap: number
  readonly minGap: number
  readonly meanGapRange: readonly [number, number]
  readonly bytesSentPerNode: number
  readonly samplesPerNode: number
}

/** The runs of each case (engine, data, model, partition, algorithm, merge rule) as one row of medians, in the order the cases first ran. */
export function skewRows (results: readonly SkewResult[]): SkewRow[] {
  const groups = new Map<string, SkewResult[]>()
  for (const result of results) {
    const key = [result.engine, result.dataset, result.model, result.partition, result.algorithm, result.mergeRule].join('\u0000')
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [result])
    else group.push(result)
  }
  return [...groups.values()].map(group => {
    const first = group[0] as SkewResult
    const of = (pick: (result: SkewResult) => number): number => median(group.map(pick))
    const gaps = group.map(result => result.meanAccuracy - result.centralizedAccuracy)
    return {
      dataset: first.dataset,
      model: first.model,
      partition: first.partition,
      algorithm: first.algorithm,
      engine: first.engine,
      mergeRule: first.mergeRule,
      runs: group.length,
      meanAccuracy: of(result => result.meanAccuracy),
      minAccuracy: of(result => result.minAccuracy),
      centralizedAccuracy: of(result => result.centralizedAccuracy),
      meanGap: median(gaps),
      minGap: of(result => result.minAccuracy - result.centralizedAccuracy),
      meanGapRange: [Math.min(...gaps), Math.max(...gaps)],
      bytesSentPerNode: of(result => result.bytesSentPerNode),
      samplesPerNode: of(result => result.samplesPerNode)
    }
  })
}

/** what a case sets of a run, the same for either engine */
type CaseSettings = Pick<SimulationOptions, 'dataset' | 'model' | 'partition' | 'durationMs' | 'seed' | 'training' | 'mergeRule' | 'exchange' | 'signal'>

async function runRealSwarm (nodes: number, settings: CaseSettings): Promise<SkewSummary> {
  // Loaded here, not at the top: the CLI imports this file for its defaults, and the launcher loads
  // TF.js, which a `murmur start` process must not load on its main thread.
  const { runSwarm } = await import('./launcher.js')
  return await runSwarm({ nodes, ...settings })
}

/**
 * The simulator's defaults (docs/simulations.md section 7): its default network, and the step time
 * of the model in an 8-node swarm on the development machine.
 */
async function runSimulatedSwarm (nodes: number, settings: CaseSettings): Promise<SkewSummary> {
  const [{ runSimulation }, { defaultStepMs }, { DEFAULT_SIMULATED_NETWORK }] = await Promise.all([import('../simulator/simulation.js'), import('../simulator/calibration.js'), import('../simulator/network-defaults.js')])
  const { summary } = await runSimulation({
    nodes,
    ...settings,
    stepMs: defaultStepMs(settings.model as string),
    network: DEFAULT_SIMULATED_NETWORK
  })
  return summary
}
