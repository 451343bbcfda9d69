import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { Command, Option } from 'commander'
import { formatDataSpec, parseDataSpec } from '../../data/spec.js'
import { MurmurError } from '../../errors.js'
import { BACKEND_NAMES, type BackendName } from '../../learning/backend-names.js'
import { parseManifest, type Manifest } from '../../learning/manifest.js'
import { formatLocalAlgorithm, LOCAL_ALGORITHMS_HELP, parseLocalAlgorithm } from '../../learning/local-algorithm.js'
import { parseApiAddress, type ApiAddress } from '../../node/api.js'
import { MurmurNode } from '../../node/murmur-node.js'
import { ATTACKS, type Attack } from '../../attacks/attack.js'
import { DEFAULT_LISTEN } from '../../p2p/host.js'
import { readPeerList, readSwarmKey } from '../../p2p/swarm-key.js'
import { collect, duration, fraction, parsedWith, withFlag } from '../parsers.js'
import { webFiles, webSocketAddresses } from '../../web/web-files.js'
import { startWebServer, type WebServer } from '../../web/web-server.js'
import { addRecordPrivacyFlags, recordPrivacyForNode, type RecordPrivacyFlags } from '../privacy-flags.js'

interface StartFlags extends RecordPrivacyFlags {
  manifest: string
  data: string
  datadir: string
  listen?: string[]
  bootstrap?: string[]
  announce?: string[]
  relayService: boolean
  api?: ApiAddress
  web?: ApiAddress
  mdns: boolean
  backend?: BackendName
  maxCpu?: number
  warmJoin: boolean
  checkpointInterval: number
  swarmKey?: string
  allowPeers?: string
  attack?: Attack
  algorithm?: string
  logFormat: 'text' | 'json'
}

export async function readManifest (file: string): Promise<Manifest> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new MurmurError('ERR_INVALID_MANIFEST', `cannot read ${file}: ${error instanceof Error ? error.message : String(error)} (make one with: murmur manifest --out ${file})`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new MurmurError('ERR_INVALID_MANIFEST', `${file} is not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  return parseManifest(json)
}

type Logger = (event: string, fields: Record<string, unknown>, text: string) => void

function createLogger (format: 'text' | 'json'): Logger {
  if (format === 'json') {
    return (event, fields) => { process.stdout.write(JSON.stringify({ event, time: new Date().toISOString(), ...fields }) + '\n') }
  }
  return (_event, _fields, text) => { process.stdout.write(`${text}\n`) }
}

const STATUS_LINE_INTERVAL_MS = 5_000

export function startCommand (): Command {
  return addRecordPrivacyFlags(new Command('start'))
    .description('run one node: find peers (bootstrap list, mDNS), train on local data, share and merge models, checkpoint to --datadir; SIGINT/SIGTERM stop it after a final checkpoint')
    .requiredOption('--manifest <file>', 'swarm manifest (JSON, from `murmur manifest`)')
    .addOption(new Option('--data <spec>', 'local data: mnist:I/N[:PARTITION], mnist-full:I/N[:PARTITION], fashion-mnist:I/N[:PARTITION], idx:DIR or csv:FILE[:labelColumn]').argParser(parsedWith(value => formatDataSpec(parseDataSpec(value)))).makeOptionMandatory())
    .requiredOption('--datadir <dir>', 'folder for the node\'s identity, checkpoints and counters; reuse it to resume')
    .option('--listen <multiaddr>', `address to listen on, repeatable (default: ${DEFAULT_LISTEN.join(' ')})`, collect)
    .option('--bootstrap <multiaddr>', 'peer to join through (with /p2p/PEER_ID), repeatable', collect)
    .option('--announce <multiaddr>', 'address peers can dial this node at, e.g. a router\'s public address and forwarded port, repeatable; makes the node a relay and DHT server (see docs/deployment.md)', collect)
    .option('--no-relay-service', 'do not relay for peers behind NAT, even when publicly reachable')
    .addOption(new Option('--api <host:port>', 'serve GET /status, /metrics, /model and GET/PUT /blocked-peers there (e.g. 127.0.0.1:9090; keep it on loopback: GETs need no token; PUT needs the token the node writes to DATADIR/api-token); off unless given').argParser(parsedWith(parseApiAddress)))
    .addOption(new Option('--web <host:port>', 'serve a browser node\'s page there (e.g. 0.0.0.0:8080): a tab that opens it joins this swarm through this node, which then also relays for tabs (docs/browser.md)').argParser(parsedWith(parseApiAddress)))
    .option('--no-mdns', 'do not look for peers on the local network')
    .addOption(new Option('--backend <name>', 'TF.js backend to use; default: the fastest that loads').choices(BACKEND_NAMES))
    .addOption(new Option('--max-cpu <fraction>', 'train at most this share of the time and idle the rest, e.g. 0.25 on a battery-powered device').argParser(fraction))
    .option('--swarm-key <file>', 'join a private swarm: only peers with the same key (murmur keygen) can connect')
    .option('--allow-peers <file>', 'connect only to the peer ids listed in this file (one per line)')
    .addOption(new Option('--attack <kind>', 'simulation only: act as an attacker of this kind (docs/security.md, section 5)').choices(ATTACKS))
    .option('--no-warm-join', 'without a checkpoint, start from the manifest\'s initial weights instead of fetching the model from a peer')
    .addOption(new Option('--algorithm <name>', `this node's training algorithm for skewed data instead of the manifest's training.algorithm: ${LOCAL_ALGORITHMS_HELP} (not part of the swarm id)`).argParser(parsedWith(text => formatLocalAlgorithm(parseLocalAlgorithm(text)))))
    .addOption(new Option('--checkpoint-interval <time>', 'how often to save a checkpoint').argParser(duration).default(10_000, '10s'))
    .addOption(new Option('--log-format <format>', 'text for people, json for programs (one object per line)').choices(['text', 'json']).default('text'))
    .action(async (flags: StartFlags) => {
      const log = createLogger(flags.logFormat)
      const shared = await withFlag('--manifest', readManifest(flags.manifest))
      // training.algorithm is a local choice outside the swarm id: overriding it keeps the node in its swarm.
      const manifest = flags.algorithm === undefined ? shared : { ...shared, training: { ...shared.training, algorithm: flags.algorithm } }
      const swarmKey = flags.swarmKey === undefined ? undefined : await withFlag('--swarm-key', readSwarmKey(flags.swarmKey))
      const allowPeers = flags.allowPeers === undefined ? undefined : await withFlag('--allow-peers', readPeerList(flags.allowPeers))
      const recordPrivacy = recordPrivacyForNode(manifest.privacy, flags, manifest.dataset.inputShape, flags.maxCpu)
      const node = await MurmurNode.start({
        manifest,
        dataSpec: flags.data,
        datadir: resolve(flags.datadir),
        mdns: flags.mdns,
        ...(flags.listen === undefined ? {} : { listen: flags.listen }),
        ...(flags.bootstrap === undefined ? {} : { bootstrap: flags.bootstrap }),
        ...(flags.announce === undefined ? {} : { announce: flags.announce }),
        // Tabs reach each other over WebRTC, signalled through a relay reservation: a page's node relays.
        ...(flags.relayService ? (flags.web === undefined ? {} : { relayService: true }) : { relayService: false }),
        ...(flags.api === undefined ? {} : { api: flags.api }),
        ...(flags.backend === undefined ? {} : { backend: flags.backend }),
        ...(flags.maxCpu === undefined ? {} : { maxCpu: flags.maxCpu }),
        warmJoin: flags.warmJoin,
        ...(swarmKey === undefined ? {} : { swarmKey }),
        ...(allowPeers === undefined ? {} : { allowPeers }),
        ...(flags.attack === undefined ? {} : { attack: flags.attack }),
        checkpointIntervalMs: flags.checkpointInterval,
        ...(recordPrivacy === undefined ? {} : { recordPrivacy })
      })
      let web: WebServer | null = null
      if (flags.web !== undefined) {
        const joinAt = (): string[] => webSocketAddresses(node.multiaddrs(), node.peerId)
        if (joinAt().length === 0) log('warning', { message: 'no WebSockets listener' }, 'warning: --web: this node listens on no WebSockets address, so tabs cannot join through it; add e.g. --listen /ip4/0.0.0.0/tcp/0/ws')
        web = await startWebServer(flags.web, await webFiles({ manifest, bootstrap: joinAt, privateSwarm: swarmKey !== undefined }))
      }
      const ready = node.status()
      log('ready', { peerId: node.peerId, web: web?.url ?? null, swarmId: node.swarmId, multiaddrs: ready.multiaddrs, api: node.apiAddress, apiTokenFile: node.apiTokenFile, backend: node.backend, step: ready.step, restarts: ready.restarts },
        [
          `murmur node ${node.peerId}`,
          `  swarm     ${node.swarmId}`,
          `  backend   ${node.backend}${ready.maxCpu < 1 ? ` (training at most ${Math.round(ready.maxCpu * 100)} % of the time)` : ''}`,
          `  data      ${flags.data} (${ready.data.trainSamples} to train on, ${ready.data.holdoutSamples} held out)`,
          ...(ready.privacy?.level === 'record' ? [`  privacy   record-level DP-SGD: noise ${ready.privacy.noiseMultiplier.toPrecision(3)} × clip ${ready.privacy.clip}, sampling ${(ready.privacy.samplingRate * 100).toPrecision(3)} %; ε spent ${ready.privacy.epsilon.toFixed(2)}${ready.privacy.epsilonBudget === null ? '' : ` of ${ready.privacy.epsilonBudget}`} at δ = ${ready.privacy.delta}`] : []),
          ...ready.multiaddrs.map(address => `  listening ${address}`),
          ...(web === null ? [] : [`  web       ${web.url} (a browser node's page)`]),
          ...(node.apiAddress === null ? [] : [`  api       http://${node.apiAddress}/status`, `  api token ${node.apiTokenFile ?? ''} (for PUT requests)`]),
          node.resumed ? `  resumed at step ${ready.step} (start ${ready.restarts + 1})` : `  no checkpoint: starting from the manifest's initial weights${flags.warmJoin ? ', and asking peers for the swarm\'s model' : ''}`
        ].join('\n'))
      for (const message of node.warnings) log('warning', { message }, `warning: ${message}`)
      node.addEventListener('warning', event => { log('warning', event.detail, `warning: ${event.detail.message}`) })
      node.addEventListener('warm-join', event => { log('warm-join', event.detail, `joined with the model of ${event.detail.from} (step ${event.detail.step}, ${event.detail.samples} samples)`) })
      node.addEventListener('rejected', event => { log('rejected', event.detail, `rejected an update from ${event.detail.from}: ${event.detail.reason}`) })
      const printer = setInterval(() => {
        const s = node.status()
        log('status', { step: s.step, samplesProcessed: s.samplesProcessed, peers: s.peers, lastAccuracy: s.lastAccuracy, updates: s.updates, bytes: s.bytes },
          `step ${s.step}  accuracy ${s.lastAccuracy === null ? '-' : (s.lastAccuracy * 100).toFixed(1) + '%'}  peers ${s.peers}  updates ${s.updates.accepted} accepted, ${s.updates.rejected} rejected  sent ${(s.bytes.sent / 1e6).toFixed(1)} MB`)
      }, STATUS_LINE_INTERVAL_MS)
      printer.unref()

      await new Promise<void>((resolveStop, rejectStop) => {
        let stopping = false
        const stop = (signal: string): void => {
          if (stopping) {
            process.stderr.write(`${signal} again: exiting without a final checkpoint\n`)
            process.exit(130)
          }
          stopping = true
          clearInterval(printer)
          Promise.all([web?.close(), node.stop()]).then(() => {
            const s = node.status()
            log('stopped', { step: s.step, checkpoint: s.checkpoint }, `stopped at step ${s.step}; checkpoint saved`)
            resolveStop()
          }, rejectStop)
        }
        process.once('SIGINT', () => { stop('SIGINT') })
        process.once('SIGTERM', () => { stop('SIGTERM') })
        node.addEventListener('error', event => {
          log('error', { message: event.detail.message }, `training failed: ${event.detail.message}`)
          process.exitCode = 1
          stop('error')
        })
      })
    })
}
