import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { MurmurError } from '../../errors.js'
import { privacyFromFlags } from '../privacy-flags.js'
import { integer, parsedWith, withFlag } from '../parsers.js'
import { addSwarmFlags, exchangeFromFlags, modelFromFlags, resolveSwarmFlags, trainingFromFlags, type SwarmFlags } from '../swarm-flags.js'
import { createSimulationPrinter, simulationSummaryLines } from '../simulation-progress.js'
import { parseDistribution, parseBitsPerSecond, parseMilliseconds, type Distribution } from '../../simulator/distribution.js'
import { DEFAULT_SIMULATED_NETWORK } from '../../simulator/network-defaults.js'
import { SMARTPHONE_DEFAULTS } from '../../simulator/phone-defaults.js'
import { inSimulationHeap } from '../heap-tuning.js'
import { DEFAULT_TRAINING } from '../../learning/manifest.js'

/** A share in [0, 1): what --push-loss takes. */
function parseLoss (text: string): number {
  const value = Number(text)
  if (text.trim() === '' || !(value >= 0 && value < 1)) throw new MurmurError('ERR_INVALID_ARGUMENT', `"${text}" is not a share in [0, 1)`)
  return value
}

/** most nodes one simulation runs */
const MAX_NODES = 100_000

interface SimulateFlags extends SwarmFlags {
  latency: Distribution
  bandwidth: Distribution
  peers: number
  availability?: string
  stepTime?: number
  gossipPeriod?: number
  calibrate?: string
  pushLoss?: number
  timelineNodes: number
}

export function simulateCommand (): Command {
  const command = new Command('simulate')
  return addSwarmFlags(command, { maxNodes: MAX_NODES, durationHelp: 'virtual time the nodes train, e.g. 600s or 1h' })
    .description('simulate a swarm in virtual time: N node cores in this one process on a simulated network (link latency and bandwidth, churn), with the same scenario files, summary and report as murmur swarm; the same seed gives the same summary')
    .addOption(new Option('--latency <dist>', 'one-way latency of each link: a time (20ms), uniform:LOW:HIGH or lognormal:MEDIAN:SIGMA').argParser(parsedWith(text => parseDistribution(text, parseMilliseconds, 'latency'))).default(DEFAULT_SIMULATED_NETWORK.latency, '1ms'))
    .addOption(new Option('--bandwidth <dist>', 'bandwidth of each link: a rate (10mbit), uniform:LOW:HIGH or lognormal:MEDIAN:SIGMA').argParser(parsedWith(text => parseDistribution(text, parseBitsPerSecond, 'bandwidth'))).default(DEFAULT_SIMULATED_NETWORK.bandwidth, '1gbit'))
    .addOption(new Option('--peers <n>', `connections each node keeps (libp2p's target; ${SMARTPHONE_DEFAULTS.targetPeers} with --availability smartphone); all other nodes when fewer`).argParser(integer(1, 1024)).default(DEFAULT_SIMULATED_NETWORK.targetPeers))
    .addOption(new Option('--availability <source>', 'churn: an availability trace file (CSV device,online_from,online_to or JSON; docs/simulations.md) or smartphone[:ONLINE[:SESSION]], generated phone-like sessions (default 0.3 online, 300s sessions)'))
    .addOption(new Option('--step-time <time>', 'virtual time one local step takes on a fast device, e.g. 12ms (default: --calibrate, else the model\'s figure in docs/simulations.md)').argParser(parsedWith(parseMilliseconds)))
    .addOption(new Option('--gossip-period <time>', `the gossip cycle: a node starts a round (local steps, merge, share) at most this often and idles the rest, e.g. 10s (default: ${SMARTPHONE_DEFAULTS.gossipPeriodMs / 1000}s with --availability smartphone, which also takes ${SMARTPHONE_DEFAULTS.localSteps} local step${SMARTPHONE_DEFAULTS.localSteps === 1 ? '' : 's'} of ${SMARTPHONE_DEFAULTS.algorithm} a round (SGD at ${SMARTPHONE_DEFAULTS.sgdLearningRate} unless told otherwise) and ${SMARTPHONE_DEFAULTS.targetPeers} peers; else 0, rounds back to back)`).argParser(parsedWith(parseMilliseconds)))
    .addOption(new Option('--calibrate <summary.json>', 'take the step time and the share of failed pushes from a real run: the summary.json of murmur swarm --out').conflicts('stepTime'))
    .addOption(new Option('--push-loss <fraction>', 'share of pushes that deliver nothing (refused unread, the push fails), in [0, 1) (default: --calibrate\'s, else 0)').argParser(parsedWith(parseLoss)))
    .addOption(new Option('--timeline-nodes <n>', 'nodes scored at each point of the timeline').argParser(integer(1, MAX_NODES)).default(64))
    .action(async (given: SimulateFlags) => {
      // A simulation's heap is set up when its process starts: this may run the command again in a child (heap-tuning.ts).
      if (!await inSimulationHeap()) return
      const { flags, scenario } = await resolveSwarmFlags(command, given, MAX_NODES)
      const privacy = privacyFromFlags(flags)
      const [{ runSimulation }, { readCalibration, defaultStepMs }, availabilityModule] = await Promise.all([
        import('../../simulator/simulation.js'), import('../../simulator/calibration.js'), import('../../simulator/availability.js')
      ])
      const model = await modelFromFlags(flags)
      const modelName = typeof model === 'string' ? model : model.name
      const calibration = flags.calibrate === undefined ? null : await withFlag('--calibrate', readCalibration(flags.calibrate))
      const stepMs = flags.stepTime ?? calibration?.stepMs ?? defaultStepMs(modelName)
      const pushLoss = flags.pushLoss ?? calibration?.pushLoss ?? 0
      let availability
      let gossipPeriod = flags.gossipPeriod
      let checkpointInterval: number | undefined
      if (flags.availability !== undefined) {
        const source = flags.availability
        const phones = await withFlag('--availability', Promise.resolve().then(() => availabilityModule.parseSmartphoneChurn(source)))
        availability = phones === null
          ? await withFlag('--availability', availabilityModule.readAvailabilityTrace(source, flags.nodes, flags.duration))
          : availabilityModule.smartphoneSessions(phones, flags.nodes, flags.duration, flags.seed)
        if (phones !== null) {
          // Generated phones gossip as phones do unless told otherwise (phone-defaults.ts).
          gossipPeriod ??= SMARTPHONE_DEFAULTS.gossipPeriodMs
          checkpointInterval = SMARTPHONE_DEFAULTS.checkpointIntervalMs
          flags.localSteps ??= SMARTPHONE_DEFAULTS.localSteps
          flags.algorithm ??= SMARTPHONE_DEFAULTS.algorithm
          if ((flags.optimizer ?? DEFAULT_TRAINING.optimizer) === 'sgd' && privacy?.level !== 'record') flags.learningRate ??= SMARTPHONE_DEFAULTS.sgdLearningRate
          if (command.getOptionValueSource('peers') !== 'cli') flags.peers = SMARTPHONE_DEFAULTS.targetPeers
        }
      }
      const training = trainingFromFlags(flags)
      const exchange = exchangeFromFlags(flags)
      const printer = createSimulationPrinter(process.stdout.isTTY)
      const abort = new AbortController()
      const onSignal = (): void => {
        if (abort.signal.aborted) process.exit(130)
        process.stderr.write('interrupted: ending the simulation (Ctrl-C again to exit at once)\n')
        abort.abort()
      }
      process.on('SIGINT', onSignal)
      try {
        const { summary, run, manifest } = await runSimulation({
          nodes: flags.nodes,
          dataset: flags.dataset,
          model,
          partition: flags.partition,
          durationMs: flags.duration,
          seed: flags.seed,
          stepMs,
          ...(gossipPeriod === undefined ? {} : { gossipPeriodMs: gossipPeriod }),
          ...(checkpointInterval === undefined ? {} : { checkpointIntervalMs: checkpointInterval }),
          network: { latency: flags.latency, bandwidth: flags.bandwidth, targetPeers: flags.peers, pushLoss },
          timelineNodes: flags.timelineNodes,
          signal: abort.signal,
          onProgress: progress => { printer.update(progress) },
          onEvent: event => { printer.event(`${event.t.toFixed(1)} s: ${event.kind}${event.nodes === undefined ? '' : ` node ${event.nodes.join(', ')}`}${event.groups === undefined ? '' : ` into ${event.groups.map(group => `[${group.join(' ')}]`).join(' ')}`}`) },
          ...(scenario === undefined ? {} : { scenario }),
          ...(availability === undefined ? {} : { availability }),
          ...(training === undefined ? {} : { training }),
          ...(exchange === undefined ? {} : { exchange }),
          ...(flags.codec === undefined ? {} : { codec: flags.codec }),
          ...(flags.merge === undefined ? {} : { mergeRule: flags.merge }),
          ...(privacy === undefined ? {} : { privacy }),
          ...(flags.warmJoin ? {} : { warmJoin: false }),
          ...(flags.profiles === undefined ? {} : { profiles: flags.profiles })
        })
        printer.done()
        process.stdout.write(simulationSummaryLines(summary, run).join('\n') + '\n')
        if (flags.out !== undefined) {
          const out = resolve(flags.out)
          await mkdir(out, { recursive: true })
          const { writeReport } = await import('../../swarm/report.js')
          await writeFile(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')
          await writeFile(join(out, 'run.json'), JSON.stringify(run, null, 2) + '\n')
          await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
          if (availability !== undefined) await writeFile(join(out, 'availability.csv'), availabilityModule.formatAvailabilityCsv(availability))
          await writeReport({ ...summary, wallSeconds: run.wallSeconds, peakRssBytesPerNode: 0 }, join(out, 'report.html'))
          process.stdout.write(`summary: ${join(out, 'summary.json')}\nreport:  ${join(out, 'report.html')}\n`)
        }
      } finally {
        process.removeListener('SIGINT', onSignal)
      }
    })
}
