#!/usr/bin/env node
// Hostile load on one node (docs/security.md, section 3): a target node with the default manifest
// (MLP, MNIST) in this process, one honest peer as a `murmur start` process, and a flood process with
// CONNECTIONS libp2p hosts, each pushing valid full models on 2 streams and requesting the model on a
// third, as fast as the target lets them, for SECONDS. Prints the target's RSS growth, event-loop lag
// p99 and the updates it accepted from the honest peer and from the flood, per 10 s.
// Usage: npm run build && node scripts/hostile-load.mjs [CONNECTIONS=32] [SECONDS=60]
import { fork } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dist = new URL('../dist/', import.meta.url)
const load = async path => import(new URL(path, dist).href)
const { createManifest } = await load('learning/manifest.js')
const { initialWeights } = await load('learning/initial-weights.js')
const manifest = createManifest({ model: 'mlp', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 } })

if (process.argv[2] === 'flood') {
  // The flood: process.argv = [node, script, 'flood', target multiaddr, target peer id, swarm id, connections]
  const { createHost } = await load('p2p/host.js')
  const { createIdentity } = await load('p2p/identity.js')
  const { pushModel } = await load('p2p/model-push.js')
  const { requestModel } = await load('p2p/model-request.js')
  const { encodeUpdate } = await load('core/update-codec.js')
  const { multiaddr } = await import('@multiformats/multiaddr')
  const { peerIdFromString } = await import('@libp2p/peer-id')
  const [, , , address, target, swarmId, connections] = process.argv
  const model = encodeUpdate({ swarmId, step: 1, samples: 1000, weights: initialWeights(manifest.model, manifest.dataset.inputShape, manifest.seed), createdAt: Date.now() })
  const peer = peerIdFromString(target)
  const stop = new AbortController()
  process.on('message', () => stop.abort())
  const counts = { pushes: 0, requests: 0 }
  const hosts = []
  for (let i = 0; i < Number(connections); i++) {
    const host = await createHost({ identity: await createIdentity(), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false, maxMessageBytes: 1 << 22 })
    await host.dial(multiaddr(address))
    hosts.push(host)
  }
  const loop = async (host, kind) => {
    while (!stop.signal.aborted) {
      const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(10_000)])
      try {
        if (kind === 'push') await pushModel(host, peer, model, signal)
        else await requestModel(host, peer, { swarmId, maxBytes: 1 << 22, signal })
      } catch {
        await new Promise(resolve => setTimeout(resolve, 1))
      }
      counts[kind === 'push' ? 'pushes' : 'requests']++
    }
  }
  process.send?.('ready')
  await Promise.all(hosts.flatMap(host => [loop(host, 'push'), loop(host, 'push'), loop(host, 'request')]))
  process.send?.(counts)
  await Promise.all(hosts.map(host => host.stop()))
  process.exit(0)
}

const connections = Number(process.argv[2] ?? 32)
const seconds = Number(process.argv[3] ?? 60)
const { MurmurNode } = await load('node/murmur-node.js')
const { NodeProcess } = await load('swarm/node-process.js')
const directory = await mkdtemp(join(tmpdir(), 'murmur-hostile-'))
const manifestFile = join(directory, 'manifest.json')
await writeFile(manifestFile, JSON.stringify(manifest))
const target = await MurmurNode.start({ manifest, dataSpec: 'mnist:1/8', datadir: join(directory, 'target'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false, warmJoin: false })
const address = target.multiaddrs().find(a => a.includes('127.0.0.1'))
const honest = await NodeProcess.start({ index: 2, manifestFile, dataSpec: 'mnist:2/8', datadir: join(directory, 'honest'), listen: '/ip4/127.0.0.1/tcp/0', bootstrap: [address], warmJoin: false, log: () => {} })
let fromHonest = 0
let fromFlood = 0
target.addEventListener('accepted', event => { if (event.detail.from === honest.ready?.peerId) fromHonest++; else fromFlood++ })
while (fromHonest === 0) await new Promise(resolve => setTimeout(resolve, 200))
await new Promise(resolve => setTimeout(resolve, 5_000))
const before = target.status()
const flood = fork(new URL(import.meta.url), ['flood', address, target.peerId, target.swarmId, String(connections)])
await new Promise(resolve => flood.once('message', resolve))
console.log(`flood: ${connections} connections for ${seconds} s; target RSS before ${(before.memory.rssBytes / 2 ** 20).toFixed(0)} MiB, lag p99 ${before.eventLoop.lagP99Ms} ms`)
let peakRss = before.memory.rssBytes
const started = Date.now()
let lastHonest = fromHonest
let lastFlood = fromFlood
while (Date.now() - started < seconds * 1000) {
  await new Promise(resolve => setTimeout(resolve, 10_000))
  const status = target.status()
  peakRss = Math.max(peakRss, status.memory.rssBytes)
  console.log(`${Math.round((Date.now() - started) / 1000)} s: RSS ${(status.memory.rssBytes / 2 ** 20).toFixed(0)} MiB, lag p99 ${status.eventLoop.lagP99Ms} ms, accepted from honest +${fromHonest - lastHonest}, from flood +${fromFlood - lastFlood}, busy ${status.intake.pushesBusy}, rate-limited ${status.updates.rejectedByReason['rate-limited'] ?? 0}, requests refused ${status.intake.modelRequestsRefused}, tracked peers ${status.intake.trackedPeers}`)
  lastHonest = fromHonest
  lastFlood = fromFlood
}
const counts = await new Promise(resolve => { flood.on('message', message => { if (typeof message === 'object') resolve(message) }); flood.send('stop') })
const after = target.status()
console.log(`flood sent ${counts.pushes} pushes, ${counts.requests} requests; RSS growth ${((peakRss - before.memory.rssBytes) / 2 ** 20).toFixed(0)} MiB (peak), lag p99 over the whole run ${after.eventLoop.lagP99Ms} ms`)
await honest.stop()
await target.stop()
process.exit(0)
