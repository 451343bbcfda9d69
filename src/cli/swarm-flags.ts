import { type Command, Option } from 'commander'
import { parsePartition, type Partition } from '../data/partition.js'
import { BUILTIN_DATASETS, type BuiltinDataset } from '../data/builtin-datasets.js'
import { MurmurError } from '../errors.js'
import { DEFAULT_CODEC, DEFAULT_EXCHANGE, DEFAULT_SEED, EXCHANGE_MODES, OPTIMIZERS, type ExchangeSettings, type OptimizerName, type TrainingSettings } from '../learning/manifest.js'
import { CODEC_NAMES_HELP, formatCodec, parseCodec } from '../learning/weight-codec.js'
import { DEFAULT_MERGE_RULE, formatMergeRule, MERGE_RULES_HELP, parseMergeRule } from '../learning/merge.js'
import { MODEL_NAMES, type ModelSpec } from '../learning/models.js'
import { MANIFEST_LIMITS } from '../learning/manifest-bounds.js'
import { formatLocalAlgorithm, LOCAL_ALGORITHMS_HELP, parseLocalAlgorithm } from '../learning/local-algorithm.js'
import { DEVICE_PROFILES, parseProfiles, type ProfileShare } from '../swarm/profiles.js'
import { durationMs, planScenario, readScenarioFile, type Scenario, type ScenarioFile } from '../swarm/scenario.js'
import { addPrivacyFlags, type PrivacyFlags } from './privacy-flags.js'
import { duration, integer, oneOf, parsedWith, positiveNumber, withFlag } from './parsers.js'

/**
 * The flags `murmur swarm` and `murmur simulate` share: what the swarm learns, how its nodes exchange,
 * how long it runs and what happens to it (a scenario). Defined once here so the two commands cannot
 * drift apart.
 */
export interface SwarmFlags extends PrivacyFlags {
  nodes: number
  dataset: BuiltinDataset
  model: string
  partition: Partition
  duration: number
  seed: number
  out?: string
  profiles?: ProfileShare[]
  localSteps?: number
  algorithm?: string
  batchSize?: number
  learningRate?: number
  optimizer?: OptimizerName
  scenario?: string
  codec?: string
  merge?: string
  fanout?: number
  exchange?: 'push' | 'broadcast'
  warmJoin: boolean
  modelFile?: string
}

export interface SwarmFlagOptions {
  /** most nodes the command runs (256 processes for swarm; far more simulated) */
  readonly maxNodes: number
  /** what --duration measures, for its help text */
  readonly durationHelp: string
}

/** Adds the shared flags to a command. */
export function addSwarmFlags (command: Command, options: SwarmFlagOptions): Command {
  return addPrivacyFlags(command)
    .addOption(new Option('--nodes <n>', `number of nodes, 1 to ${options.maxNodes}`).argParser(integer(1, options.maxNodes)).default(8))
    .addOption(new Option('--dataset <name>', 'built-in dataset').choices(BUILTIN_DATASETS).default('mnist'))
    .addOption(new Option('--model <name>', 'model architecture').choices(MODEL_NAMES).default('mlp'))
    .addOption(new Option('--model-file <file>', 'a TF.js LayersModel (model.json) as the architecture instead of --model (see murmur manifest --model-file)').conflicts('model'))
    .addOption(new Option('--partition <kind>', 'how the data is split: iid, dirichlet:ALPHA (non-IID labels) or shards:K (K label-sorted shards each)').argParser(parsedWith(parsePartition)).default(parsePartition('iid'), 'iid'))
    .addOption(new Option('--duration <time>', options.durationHelp).argParser(duration).default(60_000, '60s'))
    .addOption(new Option('--seed <n>', 'seed of the initial weights, the data partition and random scenario events').argParser(integer(0, 0xffffffff)).default(DEFAULT_SEED))
    .addOption(new Option('--scenario <file>', 'scenario file (see simulations/): its swarm settings are defaults that flags override'))
    .addOption(new Option('--local-steps <n>', 'local batches between two exchanges (manifest default if not given)').argParser(integer(1, 1_000_000)))
    .addOption(new Option('--algorithm <name>', `what local steps do for skewed data: ${LOCAL_ALGORITHMS_HELP} (manifest default if not given)`).argParser(parsedWith(text => formatLocalAlgorithm(parseLocalAlgorithm(text)))))
    .addOption(new Option('--batch-size <n>', 'samples per batch (manifest default if not given; DP-SGD: the expected batch size)').argParser(integer(1, MANIFEST_LIMITS.batchSize)))
    .addOption(new Option('--learning-rate <rate>', 'learning rate (manifest default if not given)').argParser(positiveNumber))
    .addOption(new Option('--optimizer <name>', 'local optimizer (manifest default if not given)').choices(OPTIMIZERS))
    .addOption(new Option('--profiles <mix>', `mix of device speeds, e.g. fast:0.5,slow:0.5 (profiles: ${Object.entries(DEVICE_PROFILES).map(([name, share]) => `${name} trains ${share * 100} % of the time`).join(', ')}; a number is a custom share)`).argParser(parsedWith(parseProfiles)))
    .addOption(new Option('--codec <codec>', `how model values travel: ${CODEC_NAMES_HELP} (default ${DEFAULT_CODEC})`).argParser(parsedWith(text => formatCodec(parseCodec(text)))))
    .addOption(new Option('--merge <rule>', `how nodes merge the models they receive: ${MERGE_RULES_HELP} (default ${DEFAULT_MERGE_RULE}; mean only among trusted peers)`).argParser(parsedWith(text => formatMergeRule(parseMergeRule(text)))))
    .addOption(new Option('--fanout <n>', `peers a node pushes its model to after each round (default ${DEFAULT_EXCHANGE.fanout}; up to 7/3 as many on a node whose labels are skewed)`).argParser(integer(1, 1024)))
    .addOption(new Option('--exchange <mode>', 'push: models to sampled peers over direct streams (default); broadcast: whole models on gossipsub to everyone').choices(EXCHANGE_MODES))
    .option('--no-warm-join', 'nodes without a checkpoint start from the initial weights instead of fetching the model from a peer')
    .option('--out <dir>', 'keep the run in DIR: summary.json, report.html, manifest.json and each node\'s state')
}

/** A scenario's swarm defaults, checked with the same parsers as the flags they stand for. */
function scenarioDefaults (file: ScenarioFile, source: string, maxNodes: number): Partial<SwarmFlags> {
  const swarm = file.swarm ?? {}
  const value = <T>(flag: string, raw: string | number | undefined, parse: (text: string) => T): T | undefined => {
    if (raw === undefined) return undefined
    try {
      return parse(String(raw))
    } catch (error) {
      throw new MurmurError('ERR_INVALID_ARGUMENT', `scenario ${source}: swarm.${flag} ${JSON.stringify(raw)} is invalid: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  const defaults: Partial<SwarmFlags> = {
    nodes: value('nodes', swarm.nodes, integer(1, maxNodes)),
    dataset: value('dataset', swarm.dataset, oneOf(BUILTIN_DATASETS)),
    model: value('model', swarm.model, oneOf(MODEL_NAMES)),
    partition: value('partition', swarm.partition, parsedWith(parsePartition)),
    duration: swarm.duration === undefined ? undefined : durationMs(swarm.duration, source, 'swarm.duration'),
    seed: value('seed', swarm.seed, integer(0, 0xffffffff)),
    profiles: value('profiles', swarm.profiles, parsedWith(parseProfiles)),
    localSteps: value('localSteps', swarm.localSteps, integer(1, 1_000_000)),
    algorithm: value('algorithm', swarm.algorithm, text => formatLocalAlgorithm(parseLocalAlgorithm(text))),
    codec: value('codec', swarm.codec, text => formatCodec(parseCodec(text))),
    merge: value('merge', swarm.merge, text => formatMergeRule(parseMergeRule(text))),
    fanout: value('fanout', swarm.fanout, integer(1, 1024)),
    exchange: value('exchange', swarm.exchange, oneOf(EXCHANGE_MODES))
  }
  return Object.fromEntries(Object.entries(defaults).filter(([, v]) => v !== undefined))
}

/**
 * The flags in force and the planned scenario: a flag typed on the command line wins over the
 * scenario's swarm settings, which win over the built-in defaults.
 */
export async function resolveSwarmFlags<T extends SwarmFlags> (command: Command, given: T, maxNodes: number): Promise<{ flags: T; scenario?: Scenario; scenarioSettings: Partial<SwarmFlags> }> {
  if (given.scenario === undefined) return { flags: given, scenarioSettings: {} }
  const source = given.scenario
  const file = await withFlag('--scenario', readScenarioFile(source))
  const defaults = await withFlag('--scenario', Promise.resolve().then(() => scenarioDefaults(file, source, maxNodes)))
  const typed = Object.fromEntries(Object.entries(given).filter(([key]) => command.getOptionValueSource(key) === 'cli'))
  const flags = { ...given, ...defaults, ...typed }
  const scenario = await withFlag('--scenario', Promise.resolve().then(() => planScenario(file, flags.nodes, flags.seed, source)))
  return { flags, scenario, scenarioSettings: defaults }
}

/** The training settings the flags override in the manifest; undefined when none. */
export function trainingFromFlags (flags: SwarmFlags): Partial<TrainingSettings> | undefined {
  if (flags.localSteps === undefined && flags.algorithm === undefined && flags.batchSize === undefined && flags.learningRate === undefined && flags.optimizer === undefined) return undefined
  return {
    ...(flags.localSteps === undefined ? {} : { localSteps: flags.localSteps }),
    ...(flags.algorithm === undefined ? {} : { algorithm: flags.algorithm }),
    ...(flags.batchSize === undefined ? {} : { batchSize: flags.batchSize }),
    ...(flags.learningRate === undefined ? {} : { learningRate: flags.learningRate }),
    ...(flags.optimizer === undefined ? {} : { optimizer: flags.optimizer })
  }
}

/** The exchange settings the flags override in the manifest; undefined when none. */
export function exchangeFromFlags (flags: SwarmFlags): Partial<ExchangeSettings> | undefined {
  if (flags.fanout === undefined && flags.exchange === undefined) return undefined
  return { ...(flags.fanout === undefined ? {} : { fanout: flags.fanout }), ...(flags.exchange === undefined ? {} : { mode: flags.exchange }) }
}

/** A --model-file checked against a built-in dataset's shape. */
export async function modelFromFile (file: string, dataset: BuiltinDataset): Promise<ModelSpec> {
  const [{ modelSpecFromFile }, { loadTrainTestSplit }] = await Promise.all([import('../learning/model-files.js'), import('../data/spec.js')])
  const { train } = await loadTrainTestSplit(dataset)
  return modelSpecFromFile(file, train)
}

/** The model the flags ask for: a built-in name, or the architecture in --model-file. */
export async function modelFromFlags (flags: SwarmFlags): Promise<string | ModelSpec> {
  return flags.modelFile === undefined ? flags.model : await withFlag('--model-file', modelFromFile(flags.modelFile, flags.dataset))
}
