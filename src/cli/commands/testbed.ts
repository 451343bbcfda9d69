import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { parsePartition, type Partition } from '../../data/partition.js'
import { BUILTIN_DATASETS, isBuiltinDataset, type BuiltinDataset } from '../../data/builtin-datasets.js'
import { MurmurError } from '../../errors.js'
import { BACKEND_NAMES, type BackendName } from '../../learning/backend-names.js'
import { DEFAULT_SEED } from '../../learning/manifest.js'
import { MODEL_NAMES } from '../../learning/models.js'
import { CODEC_NAMES_HELP, formatCodec, parseCodec } from '../../learning/weight-codec.js'
import { durationMs } from '../../swarm/scenario.js'
import { checkTestbedRequirements, removeAllTestbedNamespaces } from '../../testbed/network.js'
import { planTopology, readTopologyFile } from '../../testbed/topology.js'
import { summaryTable } from '../progress.js'
import { duration, integer, parsedWith, withFlag } from '../parsers.js'

interface TestbedFlags {
  topology?: string
  cleanup: boolean
  dataset?: BuiltinDataset
  model?: string
  partition?: Partition
  duration?: number
  seed?: number
  localSteps?: number
  codec?: string
  fanout?: number
  backend?: BackendName
  out?: string
  verbose: boolean
}

function percent (value: number | null): string {
  return value === null ? '-' : `${(value * 100).toFixed(1)} %`
}

export function testbedCommand (): Command {
  return new Command('testbed')
    .description('run a swarm across an emulated network (needs root): network namespaces for an internet segment, public nodes and home networks behind NAT routers with rate caps, `murmur start` nodes inside, events from the topology file (kill a node, cut a home, cap an uplink); writes the usual summary and report. Removes all it made on exit, Ctrl-C or crash')
    .option('--topology <file>', 'topology file (see simulations/nat.json and docs/deployment.md)')
    .option('--cleanup', 'remove the namespaces (and processes in them) left by any testbed run, then exit', false)
    .addOption(new Option('--dataset <name>', 'built-in dataset (default: the topology\'s, else mnist)').choices(BUILTIN_DATASETS))
    .addOption(new Option('--model <name>', 'model architecture (default: the topology\'s, else mlp)').choices(MODEL_NAMES))
    .addOption(new Option('--partition <kind>', 'iid, dirichlet:ALPHA or shards:K (default: the topology\'s, else iid)').argParser(parsedWith(parsePartition)))
    .addOption(new Option('--duration <time>', 'how long the nodes train (default: the topology\'s, else 60s)').argParser(duration))
    .addOption(new Option('--seed <n>', 'seed of the initial weights and the data partition').argParser(integer(0, 0xffffffff)))
    .addOption(new Option('--local-steps <n>', 'local batches between two exchanges').argParser(integer(1, 1_000_000)))
    .addOption(new Option('--codec <codec>', `how model values travel: ${CODEC_NAMES_HELP}`).argParser(parsedWith(text => formatCodec(parseCodec(text)))))
    .addOption(new Option('--fanout <n>', 'peers a node pushes its model to after each round').argParser(integer(1, 1024)))
    .addOption(new Option('--backend <name>', 'TF.js backend for every node').choices(BACKEND_NAMES))
    .option('--out <dir>', 'keep the run in DIR: summary.json, report.html, manifest.json and each node\'s state')
    .option('--verbose', 'show what the nodes print on stderr', false)
    .action(async (flags: TestbedFlags) => {
      if (flags.cleanup) {
        checkTestbedRequirements()
        const removed = removeAllTestbedNamespaces()
        process.stdout.write(removed.length === 0 ? 'no testbed namespaces left over\n' : `removed ${removed.length} namespaces: ${removed.join(' ')}\n`)
        return
      }
      if (flags.topology === undefined) throw new MurmurError('ERR_INVALID_ARGUMENT', '--topology <file> is required (or --cleanup)')
      const source = flags.topology
      const file = await withFlag('--topology', readTopologyFile(source))
      const topology = await withFlag('--topology', Promise.resolve().then(() => planTopology(file, source)))
      checkTestbedRequirements()
      const swarm = topology.swarm
      const localSteps = flags.localSteps ?? swarm.localSteps
      const codec = flags.codec ?? swarm.codec
      const fanout = flags.fanout ?? swarm.fanout
      const { runTestbed } = await import('../../testbed/run.js')
      const abort = new AbortController()
      const onSignal = (signal: string): void => {
        if (abort.signal.aborted) {
          // The exit handler still removes the namespaces.
          process.stderr.write(`${signal} again: stopping at once\n`)
          process.exit(130)
        }
        process.stderr.write(`${signal}: stopping the nodes and removing the network (Ctrl-C again to stop at once)\n`)
        abort.abort()
      }
      const onInterrupt = (): void => { onSignal('interrupted') }
      const onTerminate = (): void => { onSignal('terminated') }
      process.on('SIGINT', onInterrupt)
      process.on('SIGTERM', onTerminate)
      try {
        const summary = await runTestbed({
          topology,
          dataset: flags.dataset ?? (isBuiltinDataset(swarm.dataset) ? swarm.dataset : 'mnist'),
          model: flags.model ?? swarm.model ?? 'mlp',
          partition: flags.partition ?? parsePartition(swarm.partition ?? 'iid'),
          durationMs: flags.duration ?? (swarm.duration === undefined ? 60_000 : durationMs(swarm.duration, source, 'swarm.duration')),
          seed: flags.seed ?? swarm.seed ?? DEFAULT_SEED,
          signal: abort.signal,
          ...(localSteps === undefined ? {} : { training: { localSteps } }),
          ...(codec === undefined ? {} : { codec: formatCodec(parseCodec(codec)) }),
          ...(fanout === undefined ? {} : { exchange: { fanout } }),
          ...(flags.backend === undefined ? {} : { backend: flags.backend }),
          ...(flags.out === undefined ? {} : { out: flags.out }),
          ...(flags.verbose ? { onNodeLog: (index: number, line: string) => { process.stderr.write(`[node ${index}] ${line}\n`) } } : {}),
          onEvent: event => { process.stdout.write(`${event.t.toFixed(1)} s: ${event.kind}${event.nodes === undefined ? '' : ` (nodes ${event.nodes.join(', ')})`}\n`) },
          onTimeline: (point, links) => {
            process.stdout.write(`${point.t.toFixed(0)} s: ${point.liveNodes} nodes, mean accuracy ${percent(point.meanAccuracy)}, consensus ${point.consensusDistance?.toFixed(3) ?? '-'}, pairs ${links.directPairs} direct / ${links.relayedPairs} relayed / ${links.unconnectedPairs} none${links.everyNodeReachesOtherHomes ? '' : ', some node reaches no one in another home'}\n`)
          }
        })
        process.stdout.write(summaryTable(summary) + '\n')
        if (flags.out !== undefined) {
          const out = resolve(flags.out)
          process.stdout.write(`summary: ${join(out, 'summary.json')}\nreport:  ${join(out, 'report.html')}\n`)
        }
      } finally {
        process.removeListener('SIGINT', onInterrupt)
        process.removeListener('SIGTERM', onTerminate)
      }
    })
}
