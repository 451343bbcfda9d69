import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { BACKEND_NAMES, type BackendName } from '../../learning/backend-names.js'
import { parseApiAddress, type ApiAddress } from '../../node/api.js'
import { readSwarmKey } from '../../p2p/swarm-key.js'
import { createProgressPrinter, summaryTable } from '../progress.js'
import { dpSgdDefaultsLine, privacyFromFlags, withDpSgdTrainingDefaults } from '../privacy-flags.js'
import { parsedWith, withFlag } from '../parsers.js'
import { addSwarmFlags, exchangeFromFlags, modelFromFlags, resolveSwarmFlags, trainingFromFlags, type SwarmFlags } from '../swarm-flags.js'

/** most node processes `murmur swarm` starts */
const MAX_NODES = 256

interface SwarmCommandFlags extends SwarmFlags {
  backend?: BackendName
  swarmKey?: string
  verbose: boolean
  dashboard?: ApiAddress
}

export function swarmCommand (): Command {
  const command = new Command('swarm')
  return addSwarmFlags(command, { maxNodes: MAX_NODES, durationHelp: 'how long the nodes train, e.g. 60s or 2m' })
    .description('run a local swarm: N nodes, each its own process on 127.0.0.1, learning together for a while, optionally through a scenario (crashes, late joins, partitions); then every node\'s test accuracy against a centralized baseline')
    .addOption(new Option('--backend <name>', 'TF.js backend for every node; default: the fastest that loads').choices(BACKEND_NAMES))
    .option('--swarm-key <file>', 'make the swarm private: every node gets this key (murmur keygen)')
    .option('--verbose', 'show what the nodes print on stderr', false)
    .addOption(new Option('--dashboard <host:port>', 'serve a live page of the whole swarm there while it runs (e.g. 127.0.0.1:8080; port 0 picks a free one)').argParser(parsedWith(parseApiAddress)))
    .action(async (given: SwarmCommandFlags) => {
      const resolved = await resolveSwarmFlags(command, given, MAX_NODES)
      const { scenario, scenarioSettings } = resolved
      let flags = resolved.flags
      if (flags.swarmKey !== undefined) await withFlag('--swarm-key', readSwarmKey(flags.swarmKey))
      let privacy = privacyFromFlags(flags)
      if (privacy?.level === 'record' && flags.modelFile === undefined) {
        flags = withDpSgdTrainingDefaults(flags, key => command.getOptionValueSource(key) !== 'cli' && scenarioSettings[key] === undefined)
        privacy = privacyFromFlags(flags)
        process.stderr.write(`record-level DP-SGD: ${dpSgdDefaultsLine(flags, true)}\n`)
      }
      // Loaded here, not at the top: the launcher brings TF.js, which `murmur start` processes need not load.
      const { runSwarm } = await import('../../swarm/launcher.js')
      const model = await modelFromFlags(flags)
      const training = trainingFromFlags(flags)
      const exchange = exchangeFromFlags(flags)
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
          ...(training === undefined ? {} : { training }),
          ...(flags.codec === undefined ? {} : { codec: flags.codec }),
          ...(privacy === undefined ? {} : { privacy }),
          ...(flags.merge === undefined ? {} : { mergeRule: flags.merge }),
          ...(flags.swarmKey === undefined ? {} : { swarmKeyFile: flags.swarmKey }),
          ...(exchange === undefined ? {} : { exchange }),
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
