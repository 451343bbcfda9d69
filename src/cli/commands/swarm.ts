import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { parsePartition, type Partition } from '../../data/partition.js'
import type { BuiltinDataset } from '../../data/spec.js'
import { MurmurError } from '../../errors.js'
import { BACKEND_NAMES, type BackendName } from '../../learning/backend-names.js'
import { DEFAULT_EXCHANGE, DEFAULT_SEED, EXCHANGE_MODES, OPTIMIZERS, type OptimizerName } from '../../learning/manifest.js'
import { CODEC_NAMES_HELP, formatCodec, parseCodec } from '../../learning/weight-codec.js'
import { DEFAULT_MERGE_RULE, formatMergeRule, MERGE_RULES_HELP, parseMergeRule } from '../../learning/merge.js'
import { MODEL_NAMES, type ModelSpec } from '../../learning/models.js'
import { MANIFEST_LIMITS } from '../../learning/manifest-bounds.js'
import { parseApiAddress, type ApiAddress } from '../../node/api.js'
import { formatLocalAlgorithm, LOCAL_ALGORITHMS_HELP, parseLocalAlgorithm } from '../../learning/local-algorithm.js'
import { readSwarmKey } from '../../p2p/swarm-key.js'
import { DEVICE_PROFILES, parseProfiles, type ProfileShare } from '../../swarm/profiles.js'
import { durationMs, planScenario, readScenarioFile, type ScenarioFile } from '../../swarm/scenario.js'
import { createProgressPrinter, summaryTable } from '../progress.js'
import { addPrivacyFlags, privacyFromFlags, withDpSgdTrainingDefaults, type PrivacyFlags } from '../privacy-flags.js'
import { duration, integer, oneOf, parsedWith, positiveNumber, withFlag } from '../parsers.js'

interface SwarmFlags extends PrivacyFlags {
  nodes: number
  dataset: BuiltinDataset
  model: string
  partition: Partition
  duration: number
  seed: number
  out?: string
  backend?: BackendName
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
  swarmKey?: string
  verbose: boolean
  modelFile?: string
  dashboard?: ApiAddress
}

/** A --model-file checked against a built-in dataset's shape. */
async function modelFromFile (file: string, dataset: BuiltinDataset): Promise<ModelSpec> {
  const [{ modelSpecFromFile }, { loadTrainTestSplit }] = await Promise.all([import('../../learning/model-files.js'), import('../../data/spec.js')])
  const { train } = await loadTrainTestSplit(dataset)
  return modelSpecFromFile(file, train)
}

/** A scenario's swarm defaults, checked with the same parsers as the flags they stand for. */
function scenarioDefaults (file: ScenarioFile, source: string): Partial<SwarmFlags> {
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
    nodes: value('nodes', swarm.nodes, integer(1, 256)),
    dataset: value('dataset', swarm.dataset, oneOf(['mnist', 'fashion-mnist'] as const)),
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

export function swarmCommand (): Command {
  const command = new Command('swarm')
  return addPrivacyFlags(command)
    .description('run a local swarm: N nodes, each its own process on 127.0.0.1, learning together for a while, optionally through a scenario (crashes, late joins, partitions); then every node\'s test accuracy against a centralized baseline')
    .addOption(new Option('--nodes <n>', 'number of nodes').argParser(integer(1, 256)).default(8))
    .addOption(new Option('--dataset <name>', 'built-in dataset').choices(['mnist', 'fashion-mnist']).default('mnist'))
    .addOption(new Option('--model <name>', 'model architecture').choices(MODEL_NAMES).default('mlp'))
    .addOption(new Option('--model-file <file>', 'a TF.js LayersModel (model.json) as the architecture instead of --model (see murmur manifest --model-file)').conflicts('model'))
    .addOption(new Option('--partition <kind>', 'how the data is split: iid, dirichlet:ALPHA (non-IID labels) or shards:K (K label-sorted shards each)').argParser(parsedWith(parsePartition)).default(parsePartition('iid'), 'iid'))
    .addOption(new Option('--duration <time>', 'how long the nodes train, e.g. 60s or 2m').argParser(duration).default(60_000, '60s'))
    .addOption(new Option('--seed <n>', 'seed of the initial weights, the data partition and random scenario events').argParser(integer(0, 0xffffffff)).default(DEFAULT_SEED))
    .addOption(new Option('--scenario <file>', 'scenario file (see simulations/): its swarm settings are defaults that flags override'))
    .addOption(new Option('--local-steps <n>', 'local batches between two exchanges (manifest default if not given)').argParser(integer(1, 1_000_000)))
    .addOption(new Option('--algorithm <name>', `what local steps do for skewed data: ${LOCAL_ALGORITHMS_HELP} (manifest default if not given)`).argParser(parsedWith(text => formatLocalAlgorithm(parseLocalAlgorithm(text)))))
    .addOption(new Option('--batch-size <n>', 'samples per batch (manifest default if not given; DP-SGD: the expected batch size)').argParser(integer(1, MANIFEST_LIMITS.batchSize)))
    .addOption(new Option('--learning-rate <rate>', 'learning rate (manifest default if not given)').argParser(positiveNumber))
    .addOption(new Option('--optimizer <name>', 'local optimizer (manifest default if not given)').choices(OPTIMIZERS))
    .addOption(new Option('--backend <name>', 'TF.js backend for every node; default: the fastest that loads').choices(BACKEND_NAMES))
    .addOption(new Option('--profiles <mix>', `mix of device speeds, e.g. fast:0.5,slow:0.5 (profiles: ${Object.entries(DEVICE_PROFILES).map(([name, share]) => `${name} trains ${share * 100} % of the time`).join(', ')}; a number is a custom share)`).argParser(parsedWith(parseProfiles)))
    .addOption(new Option('--codec <codec>', `how model values travel: ${CODEC_NAMES_HELP} (default fp32)`).argParser(parsedWith(text => formatCodec(parseCodec(text)))))
    .addOption(new Option('--merge <rule>', `how nodes merge the models they receive: ${MERGE_RULES_HELP} (default ${DEFAULT_MERGE_RULE}; mean only among trusted peers)`).argParser(parsedWith(text => formatMergeRule(parseMergeRule(text)))))
    .addOption(new Option('--fanout <n>', `peers a node pushes its model to after each round (default ${DEFAULT_EXCHANGE.fanout})`).argParser(integer(1, 1024)))
    .addOption(new Option('--exchange <mode>', 'push: models to sampled peers over direct streams (default); broadcast: whole models on gossipsub to everyone').choices(EXCHANGE_MODES))
    .option('--swarm-key <file>', 'make the swarm private: every node gets this key (murmur keygen)')
    .option('--no-warm-join', 'nodes without a checkpoint start from the initial weights instead of fetching the model from a peer')
    .option('--out <dir>', 'keep the run in DIR: summary.json, report.html, manifest.json and each node\'s state')
    .option('--verbose', 'show what the nodes print on stderr', false)
    .addOption(new Option('--dashboard <host:port>', 'serve a live page of the whole swarm there while it runs (e.g. 127.0.0.1:8080; port 0 picks a free one)').argParser(parsedWith(parseApiAddress)))
    .action(async (given: SwarmFlags) => {
      let flags = given
      let scenario
      let scenarioSet: Partial<SwarmFlags> = {}
      if (given.scenario !== undefined) {
        const source = given.scenario
        const file = await withFlag('--scenario', readScenarioFile(source))
        const defaults = await withFlag('--scenario', Promise.resolve().then(() => scenarioDefaults(file, source)))
        // A flag typed on the command line wins over the scenario, which wins over the built-in default.
        const typed = Object.fromEntries(Object.entries(given).filter(([key]) => command.getOptionValueSource(key) === 'cli'))
        flags = { ...given, ...defaults, ...typed }
        scenarioSet = defaults
        scenario = await withFlag('--scenario', Promise.resolve().then(() => planScenario(file, flags.nodes, flags.seed, source)))
      }
      if (flags.swarmKey !== undefined) await withFlag('--swarm-key', readSwarmKey(flags.swarmKey))
      const privacy = privacyFromFlags(flags)
      if (privacy?.level === 'record' && flags.modelFile === undefined) {
        flags = withDpSgdTrainingDefaults(flags, key => command.getOptionValueSource(key) !== 'cli' && scenarioSet[key] === undefined)
        process.stderr.write(`record-level DP-SGD: model ${flags.model}, ${flags.optimizer ?? 'manifest optimizer'} at ${flags.learningRate ?? 'the manifest learning rate'}, batch ${flags.batchSize ?? 'manifest'}, ${flags.localSteps ?? 'manifest'} local steps (DP-SGD defaults where no flag chose; docs/privacy.md)\n`)
      }
      // Loaded here, not at the top: the launcher brings TF.js, which `murmur start` processes need not load.
      const { runSwarm } = await import('../../swarm/launcher.js')
      const model = flags.modelFile === undefined ? flags.model : await withFlag('--model-file', modelFromFile(flags.modelFile, flags.dataset))
      const printer = createProgressPrinter(process.stdout.isTTY)
      const abort = new AbortController()
      // First Ctrl-C: stop the nodes properly (final checkpoints) and still report. Second: exit now
      // (the launcher kills its node processes as it exits).
      const onSignal = (): void => {
        if (abort.signal.aborted) {
          process.stderr.write('interrupted again: stopping the nodes without final checkpoints\n')
          process.exit(130)
        }
        process.stderr.write('interrupted: stopping the nodes (Ctrl-C again to stop at once)\n')
        abort.abort()
      }
      process.on('SIGINT', onSignal)
      const dashboard = flags.dashboard === undefined ? null : await (await import('../../swarm/swarm-dashboard.js')).startSwarmDashboard(flags.dashboard, `murmur swarm · ${flags.nodes} nodes · ${typeof model === 'string' ? model : model.name}`)
      if (dashboard !== null) process.stderr.write(`dashboard: ${dashboard.url}\n`)
      try {
        const summary = await runSwarm({
          nodes: flags.nodes,
          dataset: flags.dataset,
          model,
          partition: flags.partition,
          durationMs: flags.duration,
          seed: flags.seed,
          signal: abort.signal,
          warmJoin: flags.warmJoin,
          onProgress: progress => { dashboard?.update(progress); printer.update(progress) },
          onEvent: event => { printer.event(`${event.t.toFixed(1)} s: ${event.kind}${event.nodes === undefined ? '' : ` node ${event.nodes.join(', ')}`}${event.groups === undefined ? '' : ` into ${event.groups.map(group => `[${group.join(' ')}]`).join(' ')}`}`) },
          ...(scenario === undefined ? {} : { scenario }),
          ...(flags.verbose ? { onNodeLog: (index: number, line: string) => { process.stderr.write(`[node ${index}] ${line}\n`) } } : {}),
          ...(flags.localSteps === undefined && flags.algorithm === undefined && flags.batchSize === undefined && flags.learningRate === undefined && flags.optimizer === undefined
            ? {}
            : { training: { ...(flags.localSteps === undefined ? {} : { localSteps: flags.localSteps }), ...(flags.algorithm === undefined ? {} : { algorithm: flags.algorithm }), ...(flags.batchSize === undefined ? {} : { batchSize: flags.batchSize }), ...(flags.learningRate === undefined ? {} : { learningRate: flags.learningRate }), ...(flags.optimizer === undefined ? {} : { optimizer: flags.optimizer }) } }),
          ...(flags.codec === undefined ? {} : { codec: flags.codec }),
          ...(privacy === undefined ? {} : { privacy }),
          ...(flags.merge === undefined ? {} : { mergeRule: flags.merge }),
          ...(flags.swarmKey === undefined ? {} : { swarmKeyFile: flags.swarmKey }),
          ...(flags.fanout === undefined && flags.exchange === undefined ? {} : { exchange: { ...(flags.fanout === undefined ? {} : { fanout: flags.fanout }), ...(flags.exchange === undefined ? {} : { mode: flags.exchange }) } }),
          ...(flags.out === undefined ? {} : { out: flags.out }),
          ...(flags.backend === undefined ? {} : { backend: flags.backend }),
          ...(flags.profiles === undefined ? {} : { profiles: flags.profiles })
        })
        printer.done()
        process.stdout.write(summaryTable(summary) + '\n')
        if (flags.out !== undefined) {
          const out = resolve(flags.out)
          process.stdout.write(`summary: ${join(out, 'summary.json')}\nreport:  ${join(out, 'report.html')}\n`)
        }
      } finally {
        await dashboard?.close()
        process.removeListener('SIGINT', onSignal)
      }
    })
}
