// Figures for browser nodes (docs/browser.md), on loopback, in Debian's Chromium:
//   node scripts/measure-browser.mjs speed      training samples/s of a tab (MLP, CNN; WebGL and wasm)
//   node scripts/measure-browser.mjs swarm [S]  3 process nodes + 2 tabs for S seconds (default 120):
//                                               accuracy on the shared test split, page load to first exchange
// Run after `npm run build`, under the CPU lock on a shared machine. Prints JSON lines.
import { writeFile } from 'node:fs/promises'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { NodeProcess } from '../dist/swarm/node-process.js'
import { createManifest, swarmIdOf } from '../dist/learning/manifest.js'
import { weightShapes } from '../dist/learning/models.js'
import { validateUpdate } from '../dist/core/update-codec.js'
import { LocalTrainer } from '../dist/learning/local-trainer.js'
import { loadMnist } from '../dist/data/mnist.js'

const CHROMIUM = '/usr/bin/chromium'
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns']
const status = page => page.evaluate(() => globalThis.murmur?.status() ?? null)
const median = values => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

async function swarmOf (model, count, parts, firstArgs = []) {
  const directory = await mkdtemp(join(tmpdir(), 'murmur-measure-'))
  const manifest = createManifest({ model, dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 } })
  const manifestFile = join(directory, 'manifest.json')
  await writeFile(manifestFile, JSON.stringify(manifest))
  const nodes = []
  const start = (index, bootstrap, extra) => NodeProcess.start({ index, manifestFile, dataSpec: `mnist:${index}/${parts}`, datadir: join(directory, `node-${index}`), listen: '/ip4/127.0.0.1/tcp/0', bootstrap, extraArgs: ['--no-mdns', ...extra], log: () => {} })
  nodes.push(await start(1, [], ['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--web', '127.0.0.1:0', ...firstArgs]))
  const address = nodes[0].ready.multiaddrs.find(text => text.includes('127.0.0.1') && !text.includes('/ws'))
  for (let index = 2; index <= count; index++) nodes.push(await start(index, [address], []))
  return { manifest, nodes, web: nodes[0].ready.web }
}

/** A tab's training speed: samples a second while it trains (merging and evaluation excluded), as `murmur bench train` measures. */
async function speed () {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args })
  try {
    for (const model of ['mlp', 'cnn']) {
      // The serving node trains 5 % of the time, so the tab has the CPU.
      const swarm = await swarmOf(model, 1, 8, ['--max-cpu', '0.05'])
      try {
        for (const backend of ['webgl', 'wasm']) {
          const context = await browser.newContext()
          const page = await context.newPage()
          await page.goto(`${swarm.web}?join&part=2/8&backend=${backend}`)
          await page.waitForFunction(() => (globalThis.murmur?.status()?.step ?? 0) >= 20, undefined, { timeout: 120_000, polling: 500 })
          const samples = []
          for (let i = 0; i < 5; i++) {
            await sleep(4_000)
            samples.push((await status(page)).samplesPerSecond)
          }
          const last = await status(page)
          console.log(JSON.stringify({ figure: 'browser-training-speed', model, backend: last.backend, samplesPerSecond: Math.round(median(samples)), step: last.step }))
          await context.close()
        }
      } finally {
        await Promise.all(swarm.nodes.map(node => node.stop()))
      }
    }
  } finally {
    await browser.close()
  }
}

async function testAccuracyOfNode (node, manifest, trainer) {
  const response = await fetch(`http://${node.ready.api}/model`)
  if (!response.ok) return null
  const verdict = validateUpdate(new Uint8Array(await response.arrayBuffer()), { swarmId: swarmIdOf(manifest), shapes: weightShapes(manifest.model, manifest.dataset.inputShape).map(w => w.shape) })
  if (!verdict.ok) return null
  await trainer.setWeights(verdict.value.weights)
  return trainer.evaluate('test')
}

/** 3 process nodes and 2 tabs for `seconds`: accuracy on the shared test split, and how soon a tab first exchanges. */
async function swarmRun (seconds) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args })
  const swarm = await swarmOf('mlp', 3, 5)
  try {
    const pages = []
    for (const part of [4, 5]) {
      const context = await browser.newContext()
      const page = await context.newPage()
      await page.goto(`${swarm.web}?join&part=${part}/5`)
      pages.push(page)
    }
    const started = Date.now()
    await sleep(seconds * 1000)
    const { test } = await loadMnist()
    const trainer = await LocalTrainer.create(swarm.manifest, { train: test, test })
    const tabs = []
    for (const page of pages) {
      const s = await status(page)
      tabs.push({ peerId: s.peerId, step: s.step, holdout: s.lastAccuracy, test: await page.evaluate(() => globalThis.murmur.testAccuracy()), firstExchangeMs: await page.evaluate(() => globalThis.murmur.firstExchangeMs), backend: s.backend, connections: s.connections.map(c => c.transport), bytes: s.bytes })
    }
    const nodes = []
    for (const node of swarm.nodes) {
      const s = await node.status()
      nodes.push({ peerId: s.peerId, step: s.step, holdout: s.lastAccuracy, test: await testAccuracyOfNode(node, swarm.manifest, trainer) })
    }
    await trainer.close()
    const mean = values => values.reduce((a, b) => a + b, 0) / values.length
    console.log(JSON.stringify({ figure: 'browser-swarm', seconds: Math.round((Date.now() - started) / 1000), tabs, nodes, tabTestMean: mean(tabs.map(t => t.test)), nodeTestMean: mean(nodes.map(n => n.test)) }))
  } finally {
    await browser.close()
    await Promise.all(swarm.nodes.map(node => node.stop()))
  }
}

const [what, seconds] = process.argv.slice(2)
if (what === 'speed') await speed()
else if (what === 'swarm') await swarmRun(Number(seconds ?? 120))
else {
  console.error('usage: node scripts/measure-browser.mjs speed | swarm [SECONDS]')
  process.exitCode = 2
}
