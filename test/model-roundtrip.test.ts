import { execFile } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import type { BrowserContext } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { subset, type Dataset } from '../src/data/dataset.js'
import { parsePartition } from '../src/data/partition.js'
import { loadTrainTestSplit } from '../src/data/spec.js'
import { selectBackend } from '../src/learning/backend.js'
import { createManifest } from '../src/learning/manifest.js'
import { modelSpecFromFile } from '../src/learning/model-files.js'
import { readSavedModel } from '../src/node/model-export.js'
import { compiledModule } from '../src/paths.js'
import { runSwarm } from '../src/swarm/launcher.js'
import { NodeProcess } from '../src/swarm/node-process.js'
import { startSwarmDashboard } from '../src/swarm/swarm-dashboard.js'
import { rejectionOf, schemaErrors, temporaryDirectory, waitFor } from './helpers.js'
import { checkDashboard, customModel, launchChromium, saveModel, tfAccuracy, type DashboardCheck } from './model-helpers.js'

const run = promisify(execFile)
const MNIST = { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }

/** `murmur ARGS` from the build, as a user runs it. */
async function murmur (...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [compiledModule('cli/index.js'), ...args], { maxBuffer: 64 << 20 })
}

/** Loads DIR/model.json + DIR/weights.bin with TF.js alone, through tf.io.fromMemory. */
async function loadWithTf (directory: string): Promise<tf.LayersModel> {
  const json = JSON.parse(await readFile(join(directory, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] }
  const weights = await readFile(join(directory, json.weightsManifest[0]?.paths[0] ?? 'missing'))
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap(group => group.weights), weightData: new Uint8Array(weights).buffer }))
}

/** An unsigned-byte IDX file. */
function idx (dims: number[], values: Uint8Array): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length))
  header.setUint8(2, 0x08)
  header.setUint8(3, dims.length)
  dims.forEach((size, axis) => header.setUint32(4 + 4 * axis, size, false))
  return Buffer.concat([new Uint8Array(header.buffer), values])
}

/** Writes a dataset of 28×28 images as an MNIST-style IDX directory (used as both splits). */
async function writeIdxDirectory (dataset: Dataset, directory: string): Promise<void> {
  await mkdir(directory, { recursive: true })
  const pixels = Uint8Array.from(dataset.features, value => Math.round(value * 255))
  const labels = Uint8Array.from(dataset.labels)
  for (const split of ['train', 't10k']) {
    await writeFile(join(directory, `${split}-images-idx3-ubyte`), idx([dataset.count, 28, 28], pixels))
    await writeFile(join(directory, `${split}-labels-idx1-ubyte`), idx([dataset.count], labels))
  }
}

async function writeCsv (dataset: Dataset, file: string): Promise<void> {
  const size = 784
  const rows = [[...Array.from({ length: size }, (_, i) => `p${i}`), 'label'].join(',')]
  for (let row = 0; row < dataset.count; row++) rows.push([...dataset.features.subarray(row * size, (row + 1) * size)].map(v => String(Math.round(v * 255) / 255)).join(',') + `,${dataset.labels[row]}`)
  await writeFile(file, rows.join('\n') + '\n')
}

/**
 * Loads an exported model with TF.js in Chromium, from an origin the test serves itself (the requests
 * are answered by the test and never leave the browser), and returns the predicted classes.
 */
async function predictInBrowser (browser: BrowserContext, directory: string, features: Float32Array): Promise<number[]> {
  const page = await browser.newPage()
  const files: Record<string, { body: Buffer; contentType: string }> = {
    '/index.html': { body: Buffer.from('<!doctype html><script src="/tf.min.js"></script>'), contentType: 'text/html' },
    '/tf.min.js': { body: await readFile(join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs')), 'tf.min.js')), contentType: 'text/javascript' },
    '/model.json': { body: await readFile(join(directory, 'model.json')), contentType: 'application/json' },
    '/weights.bin': { body: await readFile(join(directory, 'weights.bin')), contentType: 'application/octet-stream' }
  }
  await page.route('http://murmur.invalid/**', async route => {
    const file = files[new URL(route.request().url()).pathname]
    await (file === undefined ? route.fulfill({ status: 404 }) : route.fulfill({ status: 200, body: file.body, contentType: file.contentType }))
  })
  await page.goto('http://murmur.invalid/index.html')
  const classes = await page.evaluate<number[]>(`(async () => {
    const values = ${JSON.stringify(Array.from(features))}
    const model = await tf.loadLayersModel('/model.json')
    return Array.from(model.predict(tf.tensor(values, [values.length / 784, 28, 28, 1])).argMax(-1).dataSync())
  })()`)
  await page.close()
  return classes
}

function reportedAccuracy (stderr: string): number {
  const match = /accuracy ([\d.]+) % on (\d+) samples/.exec(stderr)
  if (match === null) throw new Error(`no accuracy line in: ${stderr}`)
  return Number(match[1]) / 100
}

describe('a model brought in, trained by a swarm, and taken out', () => {
  it('trains a TF.js model with dropout, batch normalization and ELU in 3 nodes; the export scores what the node reported; predict; swarm dashboard', async () => {
    await selectBackend()
    const work = await temporaryDirectory('roundtrip')
    const brought = join(work, 'brought')
    await mkdir(brought)
    const initial = customModel()
    const spec = await modelSpecFromFile(await saveModel(initial, brought), MNIST)
    const { test } = await loadTrainTestSplit('mnist')
    // The control: the model as it was brought, before any training.
    const initialAccuracy = tfAccuracy(initial, test)

    const dashboard = await startSwarmDashboard({ host: '127.0.0.1', port: 0 }, 'murmur swarm · test')
    const browser = await launchChromium(join(work, 'chromium'))
    try {
      const browserCheck: { pending: Promise<DashboardCheck> | null } = { pending: null }
      const out = join(work, 'swarm')
      let summary
      try {
        summary = await runSwarm({
          nodes: 3,
          dataset: 'mnist',
          model: spec,
          partition: parsePartition('iid'),
          durationMs: 20_000,
          seed: 3,
          out,
          training: { localSteps: 10 },
          onProgress: progress => {
            dashboard.update(progress)
            if (browserCheck.pending === null && browser !== null && progress.phase === 'training' && progress.nodes.some(n => n.status !== null)) {
              browserCheck.pending = checkDashboard(browser, dashboard.url, join(work, 'swarm-dashboard.png'), 10)
            }
          }
        })
        if (browserCheck.pending !== null) {
          const check = await browserCheck.pending
          process.stdout.write(`swarm dashboard: first chart point after ${check.loadMs} ms, ${check.stepPoints} points, ${check.linePixels} line pixels; screenshot ${join(work, 'swarm-dashboard.png')}\n`)
          expect(check.title).toMatch(/murmur/)
          expect(check.stepPoints).toBeGreaterThanOrEqual(10)
          expect(check.linePixels).toBeGreaterThan(50)
          expect(check.accuracyPixels).toBeGreaterThan(20)
        }
      } finally {
        await dashboard.close()
      }

      expect(summary.model).toBe('custom_mlp')
      expect(schemaErrors('swarm-summary', summary)).toEqual([])
      for (const node of summary.nodes) {
        expect(node.updatesAccepted).toBeGreaterThan(0)
        expect(node.accuracy ?? 0).toBeGreaterThan(0.8)
        expect(node.accuracy ?? 0).toBeGreaterThan(initialAccuracy + 0.5)
      }

      // Out: the CLI writes model.json + weights.bin, and TF.js alone loads and scores them.
      const dest = join(work, 'exported')
      const exported = await murmur('export', '--datadir', join(out, 'node-1'), '--out', dest)
      expect(exported.stdout).toMatch(/wrote .*model\.json and .*weights\.bin: model custom_mlp/)
      const model = await loadWithTf(dest)
      expect(model.layers.map(layer => layer.getClassName())).toEqual(['Flatten', 'Dense', 'BatchNormalization', 'Activation', 'Dropout', 'Dense'])
      const exportedAccuracy = tfAccuracy(model, test)
      const nodeAccuracy = summary.nodes[0]?.accuracy ?? 0
      process.stdout.write(`round trip: node 1 reported ${(nodeAccuracy * 100).toFixed(2)} %, exported model ${(exportedAccuracy * 100).toFixed(2)} % on the ${test.count}-sample test split (initial ${(initialAccuracy * 100).toFixed(2)} %)\n`)
      expect(Math.abs(exportedAccuracy - nodeAccuracy)).toBeLessThanOrEqual(0.005)

      // In a browser: TF.js's own build loads the two files over HTTP and predicts what TF.js in Node predicts.
      if (browser !== null) {
        const first = subset(test, Array.from({ length: 50 }, (_, i) => i))
        const inNode = Array.from(tf.tidy(() => (model.predict(tf.tensor(first.features, [50, 28, 28, 1])) as tf.Tensor).argMax(-1).dataSync()))
        const inBrowser = await predictInBrowser(browser, dest, first.features)
        expect(inBrowser).toEqual(inNode)
      }

      // Use: predict on an IDX directory and a CSV file, against TF.js's own accuracy on the same samples.
      const samples = subset(test, Array.from({ length: 500 }, (_, i) => i))
      const expected = tfAccuracy(model, samples)
      await writeIdxDirectory(samples, join(work, 'idx'))
      const onIdx = await murmur('predict', '--model', dest, '--data', `idx:${join(work, 'idx')}`)
      expect(onIdx.stdout.trim().split('\n')).toHaveLength(501)
      expect(onIdx.stdout.split("\n")[1]).toMatch(/^0,\d,[01]\.\d{4},\d$/)
      expect(reportedAccuracy(onIdx.stderr)).toBeCloseTo(expected, 3)
      await writeCsv(subset(test, Array.from({ length: 200 }, (_, i) => i)), join(work, 'samples.csv'))
      const predictions = join(work, 'predictions.csv')
      const onCsv = await murmur('predict', '--model', join(dest, 'model.json'), '--data', `csv:${join(work, 'samples.csv')}`, '--out', predictions)
      expect((await readFile(predictions, 'utf8')).trim().split('\n')).toHaveLength(201)
      expect(reportedAccuracy(onCsv.stderr)).toBeCloseTo(tfAccuracy(model, subset(test, Array.from({ length: 200 }, (_, i) => i))), 2)
      model.dispose()
    } finally {
      await browser?.close()
    }
    initial.dispose()
  }, 300_000)

  it('a running node serves /model.json, /weights.bin and its dashboard; export waits for the lock', async () => {
    await selectBackend()
    const work = await temporaryDirectory('node-pages')
    const spec = await modelSpecFromFile(await saveModel(customModel(), work), MNIST)
    const manifestFile = join(work, 'manifest.json')
    await writeFile(manifestFile, JSON.stringify(createManifest({ model: spec, dataset: MNIST, training: { localSteps: 10 } })))
    const datadir = join(work, 'state')
    const node = await NodeProcess.start({ index: 1, manifestFile, dataSpec: 'mnist:1/6', datadir, listen: '/ip4/127.0.0.1/tcp/0', bootstrap: [], log: () => {} })
    const browser = await launchChromium(join(work, 'chromium'))
    try {
      await waitFor(node, status => status.step >= 100 && status.lastAccuracy !== null)
      const api = `http://${node.ready?.api ?? ''}`
      const json = await (await fetch(`${api}/model.json`)).json() as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] }
      expect(json.weightsManifest[0]?.paths).toEqual(['weights.bin'])
      const weights = await (await fetch(`${api}/weights.bin`)).arrayBuffer()
      const served = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]?.weights ?? [], weightData: weights }))
      const { test } = await loadTrainTestSplit('mnist')
      expect(tfAccuracy(served, test)).toBeGreaterThan(0.7)
      served.dispose()

      // The datadir is locked by the running node: export says so and points to the API instead.
      const locked = await rejectionOf(async () => readSavedModel(datadir))
      expect((locked as Error).message).toMatch(/in use by a running node.*GET http:\/\/HOST:PORT\/model\.json/)

      const page = await (await fetch(`${api}/`)).text()
      expect(page).toMatch(/<canvas id="chart-accuracy">/)
      expect(page).not.toMatch(/https?:\/\/(?!HOST)[a-z]/i)
      if (browser !== null) {
        const check = await checkDashboard(browser, `${api}/`, join(work, 'node-dashboard.png'), 3)
        process.stdout.write(`node dashboard: first chart point after ${check.loadMs} ms, ${check.stepPoints} points, ${check.linePixels} line pixels; screenshot ${join(work, 'node-dashboard.png')}\n`)
        expect(check.linePixels).toBeGreaterThan(50)
        expect(check.accuracyPixels).toBeGreaterThan(20)
      }
    } finally {
      await browser?.close()
      await node.stop()
    }
    // Stopped, the node's datadir exports.
    const saved = await readSavedModel(datadir)
    expect(saved.manifest.model.name).toBe('custom_mlp')
    expect(saved.step).toBeGreaterThanOrEqual(100)
  }, 180_000)
})
