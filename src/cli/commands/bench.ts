import Table from 'cli-table3'
import { Command, InvalidArgumentError, Option } from 'commander'
import { BACKEND_NAMES, type BackendName } from '../../learning/backend-names.js'
import { isMeasurement, TRAIN_BENCH_DEFAULTS, type TrainBenchResult } from '../../learning/benchmark-results.js'
import { MODEL_NAMES, type ModelName } from '../../learning/models.js'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CODEC_NAMES_HELP, formatCodec, parseCodec } from '../../learning/weight-codec.js'
import { DEFAULT_DISSEMINATION_CASES, type DisseminationCase } from '../../swarm/dissemination-cases.js'
import { duration, integer, parsedWith, positiveNumber } from '../parsers.js'
import { formatPartition, parsePartition } from '../../data/partition.js'
import { BUILTIN_DATASETS, isBuiltinDataset, type BuiltinDataset } from '../../data/builtin-datasets.js'
import { formatLocalAlgorithm, LOCAL_ALGORITHMS_HELP, parseLocalAlgorithm } from '../../learning/local-algorithm.js'
import { formatMergeRule, MERGE_RULES_HELP, parseMergeRule } from '../../learning/merge.js'
import { DEFAULT_SKEW_ALGORITHMS, DEFAULT_SKEW_PARTITIONS, DEFAULT_SKEW_SETUPS, SKEW_ENGINES, skewCases, skewRows, type SkewEngine, type SkewResult } from '../../swarm/skew-bench.js'
import { inSimulationHeap } from '../heap-tuning.js'

interface TrainFlags {
  json: boolean
  models: ModelName[]
  backends?: BackendName[]
  repetitions: number
  steps: number
  warmup: number
  warmupSeconds: number
  batchSize: number
  seconds: number
  dp: boolean
}

/** A comma-separated list drawn from a fixed set, e.g. --models mlp,cnn; repeats are dropped. */
function listOf<T extends string> (allowed: readonly T[]): (value: string) => T[] {
  return value => {
    const items = value.split(',').map(item => item.trim())
    const unknown = items.filter(item => !(allowed as readonly string[]).includes(item))
    if (items.length === 0 || unknown.length > 0) {
      throw new InvalidArgumentError(`Expected a comma-separated list of: ${allowed.join(', ')}${unknown.length > 0 ? ` (unknown: ${unknown.map(item => JSON.stringify(item)).join(', ')})` : ''}.`)
    }
    return [...new Set(items as T[])]
  }
}

const rate = (samplesPerSecond: number): string => samplesPerSecond >= 100 ? samplesPerSecond.toFixed(0) : samplesPerSecond.toPrecision(3)

/**
 * Each result as a table row, with its speed relative to the cpu backend on the same model, and a
 * DP-SGD row's relative to plain training of the same model on the same backend.
 */
export function benchTable (results: readonly TrainBenchResult[]): string {
  const withDp = results.some(result => result.dpSgd === true)
  const table = new Table({ head: ['model', 'backend', 'samples/s (median)', 'min – max', 'samples/rep', 'vs cpu', ...(withDp ? ['vs no DP'] : [])], style: { head: [], border: [] } })
  const ratio = (result: TrainBenchResult, other: TrainBenchResult | undefined, digits: number): string =>
    other !== undefined && isMeasurement(other) ? `${(result.samplesPerSecond / other.samplesPerSecond).toFixed(digits)}×` : '-'
  for (const result of results) {
    const model = result.dpSgd === true ? `${result.model} DP-SGD` : result.model
    if (!isMeasurement(result)) {
      table.push([model, result.backend, { colSpan: withDp ? 5 : 4, content: `cannot train: ${result.error}` }])
      continue
    }
    const cpu = results.find(other => other.model === result.model && other.backend === 'cpu' && other.dpSgd === result.dpSgd)
    const plain = result.dpSgd === true ? results.find(other => other.model === result.model && other.backend === result.backend && other.dpSgd !== true) : undefined
    table.push([model, result.backend, rate(result.samplesPerSecond),
      `${rate(result.minSamplesPerSecond)} – ${rate(result.maxSamplesPerSecond)}`, result.samplesPerRepetition, ratio(result, cpu, 1),
      ...(withDp ? [result.dpSgd === true ? ratio(result, plain, 2) : '-'] : [])])
  }
  return table.toString()
}

function trainCommand (): Command {
  return new Command('train')
    .description('measure training speed (samples per second, median of timed repetitions after a warm-up) of each model on each TF.js backend, on the built-in MNIST data')
    .option('--json', 'print one JSON line per model and backend (docs/schemas/train-bench.schema.json)', false)
    .addOption(new Option('--models <list>', `models to train, comma-separated: ${MODEL_NAMES.join(', ')}`).argParser(listOf(MODEL_NAMES)).default(['mlp', 'cnn'], 'mlp,cnn'))
    .addOption(new Option('--backends <list>', `backends to try, comma-separated: ${BACKEND_NAMES.join(', ')} (default: every one that loads here)`).argParser(listOf(BACKEND_NAMES)))
    .addOption(new Option('--repetitions <n>', 'timed repetitions per model and backend').argParser(integer(1, 1000)).default(TRAIN_BENCH_DEFAULTS.repetitions))
    .addOption(new Option('--steps <n>', 'most training steps in one repetition').argParser(integer(1, 100_000)).default(TRAIN_BENCH_DEFAULTS.stepsPerRepetition))
    .addOption(new Option('--warmup <n>', 'untimed steps before the repetitions').argParser(integer(1, 100_000)).default(TRAIN_BENCH_DEFAULTS.warmupSteps))
    .addOption(new Option('--warmup-seconds <s>', 'keep warming up until this much time has passed').argParser(positiveNumber).default(TRAIN_BENCH_DEFAULTS.warmupSeconds))
    .addOption(new Option('--batch-size <n>', 'samples per step').argParser(integer(1, 65_536)).default(TRAIN_BENCH_DEFAULTS.batchSize))
    .addOption(new Option('--seconds <s>', 'a repetition takes fewer steps when they would run longer than this (slow backends)').argParser(positiveNumber).default(TRAIN_BENCH_DEFAULTS.secondsPerRepetition))
    .option('--dp', 'also measure record-level DP-SGD (clip 1, noise 1, Poisson sampling) beside plain training, and their ratio', false)
    .action(async (flags: TrainFlags) => {
      const { benchmarkTraining } = await import('../../learning/benchmark.js')
      const results = await benchmarkTraining({
        models: flags.models,
        ...(flags.backends === undefined ? {} : { backends: flags.backends }),
        batchSize: flags.batchSize,
        repetitions: flags.repetitions,
        warmupSteps: flags.warmup,
        warmupSeconds: flags.warmupSeconds,
        stepsPerRepetition: flags.steps,
        secondsPerRepetition: flags.seconds,
        dpSgd: flags.dp,
        onResult: result => {
          if (flags.json) process.stdout.write(JSON.stringify(result) + '\n')
          else process.stderr.write(`${result.model}${result.dpSgd === true ? ' DP-SGD' : ''} on ${result.backend}: ${isMeasurement(result) ? `${rate(result.samplesPerSecond)} samples/s` : 'cannot train'}\n`)
        }
      })
      if (!flags.json) process.stdout.write(benchTable(results) + '\n')
    })
}

interface DisseminationFlags {
  json: boolean
  nodes?: number[]
  codecs?: string[]
  duration: number
  target: number
}

function dissemination (flags: DisseminationFlags): DisseminationCase[] {
  if (flags.nodes === undefined && flags.codecs === undefined) return [...DEFAULT_DISSEMINATION_CASES]
  const cases: DisseminationCase[] = []
  for (const nodes of flags.nodes ?? [8]) {
    for (const codec of flags.codecs ?? ['fp32']) cases.push({ nodes, mode: 'push', codec })
    cases.push({ nodes, mode: 'broadcast', codec: 'fp32' })
  }
  return cases
}

function gossipCommand (): Command {
  return new Command('gossip')
    .description('run local swarms (MLP on MNIST) with push or broadcast dissemination, at several sizes and codecs: bytes per node per exchange, time to a target accuracy, final accuracy')
    .option('--json', 'print one JSON line per swarm', false)
    .addOption(new Option('--nodes <list>', 'swarm sizes, comma-separated (each runs push with every codec, and broadcast with fp32); default: 8, 16, 32 push and 8, 32 broadcast, codecs at 8').argParser(value => value.split(',').map(item => integer(2, 256)(item.trim()))))
    .addOption(new Option('--codecs <list>', `codecs, comma-separated (${CODEC_NAMES_HELP})`).argParser(value => value.split(',').map(item => parsedWith(text => formatCodec(parseCodec(text)))(item.trim()))))
    .addOption(new Option('--duration <time>', 'training time of each swarm').argParser(duration).default(60_000, '60s'))
    .addOption(new Option('--target <accuracy>', 'accuracy (0–1) whose time to reach is reported').argParser(positiveNumber).default(0.92))
    .action(async (flags: DisseminationFlags) => {
      const { benchmarkDissemination } = await import('../../swarm/dissemination-bench.js')
      const results = await benchmarkDissemination({
        cases: dissemination(flags),
        durationMs: flags.duration,
        targetAccuracy: flags.target,
        onProgress: line => { process.stderr.write(`${line}\n`) },
        onResult: result => { if (flags.json) process.stdout.write(JSON.stringify(result) + '\n') }
      })
      if (flags.json) return
      const table = new Table({ head: ['nodes', 'exchange', 'codec', 'fanout', 'kB / node / exchange', `s to ${(flags.target * 100).toFixed(0)} %`, 'final accuracy', 'centralized', 'samples / node'], style: { head: [], border: [] } })
      for (const result of results) {
        table.push([result.nodes, result.mode, result.codec, result.mode === 'push' ? result.fanout : '-', (result.bytesPerExchange / 1e3).toFixed(0),
          result.secondsToTarget ?? 'not reached', `${(result.finalAccuracy * 100).toFixed(1)} %`, `${(result.centralizedAccuracy * 100).toFixed(1)} %`, result.samplesPerNode])
      }
      process.stdout.write(table.toString() + '\n')
    })
}

function crashCommand (): Command {
  return new Command('crash')
    .description('kill one node with SIGKILL at random moments, restart it, and check every checkpoint and restart')
    .addOption(new Option('--cycles <n>', 'kill/restart cycles').argParser(integer(1, 100_000)).default(50))
    .option('--dir <dir>', 'where the node keeps its state (a temporary folder by default)')
    .action(async (flags: { cycles: number; dir?: string }) => {
      const { benchmarkCrashes } = await import('../../swarm/crash-bench.js')
      const directory = flags.dir ?? await mkdtemp(join(tmpdir(), 'murmur-crash-'))
      const result = await benchmarkCrashes({
        cycles: flags.cycles,
        directory,
        onCycle: cycle => { process.stderr.write(`cycle ${cycle.cycle}: killed after ${cycle.killedAfterMs} ms, checkpoint step ${cycle.checkpointStep ?? '-'}${cycle.problems.length > 0 ? `, problems: ${cycle.problems.join('; ')}` : ''}${cycle.restartedHealthy ? '' : ', UNHEALTHY restart'}\n`) }
      })
      process.stdout.write(`${result.cycles} SIGKILL cycles: ${result.corruptedCheckpoints} corrupted checkpoints, ${result.unhealthyRestarts} unhealthy restarts, last checkpoint at step ${result.finalCheckpointStep ?? '-'}\n`)
      if (result.corruptedCheckpoints > 0 || result.unhealthyRestarts > 0) process.exitCode = 1
    })
}

interface SkewFlags {
  json: boolean
  setups?: Array<{ dataset: BuiltinDataset; model: string }>
  partitions?: string[]
  algorithms?: string[]
  nodes: number
  duration: number
  seed: number
  repeats: number
  merge?: string
  localSteps?: number
  fanout?: number
  engine: SkewEngine
}

/** A comma-separated list, each item checked by one of murmur's parsers. */
function itemsOf<T> (parse: (text: string) => T): (value: string) => T[] {
  return value => value.split(',').map(item => parsedWith(parse)(item.trim()))
}

/** dataset:model, e.g. fashion-mnist:cnn */
function setupOf (text: string): { dataset: BuiltinDataset; model: string } {
  const [dataset, model, ...rest] = text.split(':')
  if (rest.length > 0 || !isBuiltinDataset(dataset) || !(MODEL_NAMES as readonly string[]).includes(model ?? '')) {
    throw new InvalidArgumentError(`Expected DATASET:MODEL with DATASET one of ${BUILTIN_DATASETS.join(', ')} and MODEL one of ${MODEL_NAMES.join(', ')}, e.g. fashion-mnist:cnn.`)
  }
  return { dataset, model: model as string }
}

const percent = (value: number): string => `${(value * 100).toFixed(1)}`
const points = (value: number): string => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)}`

/**
 * One row per case: mean and lowest node accuracy against the centralized model, bytes sent per node;
 * with several runs of a case (--repeats) the medians over them, and the range of the mean's gap.
 */
export function skewTable (results: readonly SkewResult[]): string {
  const table = new Table({ head: ['engine', 'dataset', 'model', 'partition', 'algorithm', 'merge', 'runs', 'mean %', 'min %', 'central %', 'mean − central', 'min − central', 'MB / node', 'samples / node'], style: { head: [], border: [] } })
  for (const row of skewRows(results)) {
    const range = row.runs > 1 ? ` (${points(row.meanGapRange[0])} to ${points(row.meanGapRange[1])})` : ''
    table.push([row.engine, row.dataset, row.model, row.partition, row.algorithm, row.mergeRule, row.runs, percent(row.meanAccuracy), percent(row.minAccuracy), percent(row.centralizedAccuracy),
      points(row.meanGap) + range, points(row.minGap), (row.bytesSentPerNode / 1e6).toFixed(1), Math.round(row.samplesPerNode)])
  }
  return table.toString()
}

function skewCommand (): Command {
  return new Command('skew')
    .description('run local swarms on skewed data (label partitions) with each training algorithm: mean and lowest node accuracy against a centralized model trained on as many samples, bytes sent per node; choose a subset to run it piecewise')
    .option('--json', 'print one JSON line per swarm', false)
    .addOption(new Option('--setups <list>', `dataset:model pairs, comma-separated (default ${DEFAULT_SKEW_SETUPS.map(setup => `${setup.dataset}:${setup.model}`).join(',')})`).argParser(value => value.split(',').map(item => setupOf(item.trim()))))
    .addOption(new Option('--partitions <list>', `partitions, comma-separated (default ${DEFAULT_SKEW_PARTITIONS.join(',')})`).argParser(itemsOf(text => formatPartition(parsePartition(text)))))
    .addOption(new Option('--algorithms <list>', `training algorithms, comma-separated: ${LOCAL_ALGORITHMS_HELP} (default ${DEFAULT_SKEW_ALGORITHMS.join(',')})`).argParser(itemsOf(text => formatLocalAlgorithm(parseLocalAlgorithm(text)))))
    .addOption(new Option('--nodes <n>', 'nodes per swarm').argParser(integer(2, 256)).default(8))
    .addOption(new Option('--duration <time>', 'training time of each swarm').argParser(duration).default(120_000, '120s'))
    .addOption(new Option('--seed <n>', 'seed of every case\'s first run (its run r has seed + r)').argParser(integer(0, 0xffffffff)).default(42))
    .addOption(new Option('--repeats <n>', 'runs of each case, each with its own seed; the table gives their medians (runs of one case end a point or two apart)').argParser(integer(1, 100)).default(1))
    .addOption(new Option('--merge <rule>', `merge rule of every swarm: ${MERGE_RULES_HELP} (default: the manifest's)`).argParser(parsedWith(text => formatMergeRule(parseMergeRule(text)))))
    .addOption(new Option('--local-steps <n>', 'local batches between two exchanges (default: the manifest\'s)').argParser(integer(1, 1_000_000)))
    .addOption(new Option('--fanout <n>', 'peers a node pushes its model to after each round (default: the manifest\'s)').argParser(integer(1, 1024)))
    .addOption(new Option('--engine <engine>', 'swarm: real node processes; simulate: the same node cores in one process in virtual time (murmur simulate\'s defaults; dense models only, no cnn)').choices(SKEW_ENGINES).default('swarm'))
    .action(async (flags: SkewFlags) => {
      const { benchmarkSkew } = await import('../../swarm/skew-bench.js')
      const cases = skewCases({
        ...(flags.setups === undefined ? {} : { setups: flags.setups }),
        ...(flags.partitions === undefined ? {} : { partitions: flags.partitions }),
        ...(flags.algorithms === undefined ? {} : { algorithms: flags.algorithms })
      })
      // The simulated engine runs every node in this process, set up for it (heap-tuning.ts).
      if (flags.engine === 'simulate' && !await inSimulationHeap()) return
      const results = await benchmarkSkew({
        cases,
        nodes: flags.nodes,
        durationMs: flags.duration,
        seed: flags.seed,
        repeats: flags.repeats,
        ...(flags.merge === undefined ? {} : { mergeRule: flags.merge }),
        ...(flags.localSteps === undefined ? {} : { localSteps: flags.localSteps }),
        ...(flags.fanout === undefined ? {} : { fanout: flags.fanout }),
        engine: flags.engine,
        onProgress: line => { process.stderr.write(`${line}\n`) },
        onResult: result => {
          if (flags.json) process.stdout.write(JSON.stringify(result) + '\n')
          else process.stderr.write(`  mean ${percent(result.meanAccuracy)} %, min ${percent(result.minAccuracy)} %, centralized ${percent(result.centralizedAccuracy)} %\n`)
        }
      })
      if (!flags.json) process.stdout.write(skewTable(results) + '\n')
    })
}

export function benchCommand (): Command {
  const bench = new Command('bench').description('benchmarks of this machine: training speed, dissemination, learning on skewed data, crash safety')
  // `npm run bench` with no subcommand runs the dissemination benchmark.
  bench.addCommand(gossipCommand().showHelpAfterError('(add --help for usage)').exitOverride(), { isDefault: true })
  for (const command of [trainCommand(), skewCommand(), crashCommand()]) bench.addCommand(command.showHelpAfterError('(add --help for usage)').exitOverride())
  return bench
}
