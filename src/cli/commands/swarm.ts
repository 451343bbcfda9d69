import { Command, Option } from 'commander'
import { parsePartition, type Partition } from '../../data/partition.js'
import type { BuiltinDataset } from '../../data/spec.js'
import { BACKEND_NAMES, type BackendName } from '../../learning/backend.js'
import { DEFAULT_SEED } from '../../learning/manifest.js'
import { MODEL_NAMES } from '../../learning/models.js'
import { runSwarm } from '../../swarm/launcher.js'
import { DEVICE_PROFILES, parseProfiles, type ProfileShare } from '../../swarm/profiles.js'
import { createProgressPrinter, summaryTable } from '../progress.js'
import { duration, integer, parsedWith } from '../parsers.js'

interface SwarmFlags {
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
  verbose: boolean
}

export function swarmCommand (): Command {
  return new Command('swarm')
    .description('run a local swarm: N nodes, each its own process on 127.0.0.1, learning together for a while; then every node\'s test accuracy against a centralized baseline')
    .addOption(new Option('--nodes <n>', 'number of nodes').argParser(integer(1, 256)).default(8))
    .addOption(new Option('--dataset <name>', 'built-in dataset').choices(['mnist', 'fashion-mnist']).default('mnist'))
    .addOption(new Option('--model <name>', 'model architecture').choices(MODEL_NAMES).default('mlp'))
    .addOption(new Option('--partition <kind>', 'how the data is split: iid, dirichlet:ALPHA (non-IID labels) or shards:K (K label-sorted shards each)').argParser(parsedWith(parsePartition)).default(parsePartition('iid'), 'iid'))
    .addOption(new Option('--duration <time>', 'how long the nodes train, e.g. 60s or 2m').argParser(duration).default(60_000, '60s'))
    .addOption(new Option('--seed <n>', 'seed of the initial weights and of the data partition').argParser(integer(0, 0xffffffff)).default(DEFAULT_SEED))
    .addOption(new Option('--local-steps <n>', 'local batches between two exchanges (manifest default if not given)').argParser(integer(1, 1_000_000)))
    .addOption(new Option('--backend <name>', 'TF.js backend for every node; default: the fastest that loads').choices(BACKEND_NAMES))
    .addOption(new Option('--profiles <mix>', `mix of device speeds, e.g. fast:0.5,slow:0.5 (profiles: ${Object.entries(DEVICE_PROFILES).map(([name, share]) => `${name} trains ${share * 100} % of the time`).join(', ')}; a number is a custom share)`).argParser(parsedWith(parseProfiles)))
    .option('--out <dir>', 'keep the run in DIR: summary.json, manifest.json and each node\'s state')
    .option('--verbose', 'show what the nodes print on stderr', false)
    .action(async (flags: SwarmFlags) => {
      const printer = createProgressPrinter(process.stdout.isTTY)
      const abort = new AbortController()
      const onSignal = (): void => { abort.abort() }
      process.once('SIGINT', onSignal)
      try {
        const summary = await runSwarm({
          nodes: flags.nodes,
          dataset: flags.dataset,
          model: flags.model,
          partition: flags.partition,
          durationMs: flags.duration,
          seed: flags.seed,
          signal: abort.signal,
          onProgress: printer.update,
          ...(flags.verbose ? { onNodeLog: (index: number, line: string) => { process.stderr.write(`[node ${index}] ${line}\n`) } } : {}),
          ...(flags.localSteps === undefined ? {} : { training: { localSteps: flags.localSteps } }),
          ...(flags.out === undefined ? {} : { out: flags.out }),
          ...(flags.backend === undefined ? {} : { backend: flags.backend }),
          ...(flags.profiles === undefined ? {} : { profiles: flags.profiles })
        })
        printer.done()
        process.stdout.write(summaryTable(summary) + '\n')
        if (flags.out !== undefined) process.stdout.write(`summary written to ${flags.out}/summary.json\n`)
      } finally {
        process.removeListener('SIGINT', onSignal)
      }
    })
}
