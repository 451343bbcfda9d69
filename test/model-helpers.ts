import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import type { BrowserContext } from 'playwright-core'
import type { Dataset } from '../src/data/dataset.js'

/** Saves a TF.js model as a user would (model.save): DIR/model.json + DIR/weights.bin, through TF.js's own save handler. */
export async function saveModel (model: tf.LayersModel, directory: string, withWeights = true): Promise<string> {
  const file = join(directory, 'model.json')
  if (!withWeights) {
    await writeFile(file, model.toJSON(null, true) as string)
    return file
  }
  await model.save(tf.io.withSaveHandler(async artifacts => {
    await writeFile(join(directory, 'weights.bin'), new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData)))
    await writeFile(file, JSON.stringify({ modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }] }))
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
  }))
  return file
}

/** A network with layers beyond murmur's built-ins: batch normalization, dropout, an ELU activation. */
export function customModel (inputShape: number[] = [28, 28, 1], classes = 10): tf.Sequential {
  const model = tf.sequential({ name: 'custom_mlp' })
  if (inputShape.length > 1) model.add(tf.layers.flatten({ inputShape }))
  model.add(tf.layers.dense({ units: 64, ...(inputShape.length > 1 ? {} : { inputShape }) }))
  model.add(tf.layers.batchNormalization())
  model.add(tf.layers.activation({ activation: 'elu' }))
  model.add(tf.layers.dropout({ rate: 0.2 }))
  model.add(tf.layers.dense({ units: classes, activation: 'softmax' }))
  return model
}

/** Accuracy of a TF.js model on a dataset, computed here with TF.js alone (no murmur code). */
export function tfAccuracy (model: tf.LayersModel, dataset: Dataset): number {
  const shape = model.inputs[0]?.shape.slice(1) as number[]
  return tf.tidy(() => {
    const x = tf.tensor(dataset.features, [dataset.count, ...shape])
    const predicted = (model.predict(x) as tf.Tensor).argMax(-1)
    return (predicted.equal(tf.tensor1d(dataset.labels, 'int32')).sum().dataSync()[0] ?? 0) / dataset.count
  })
}

export const CHROMIUM = '/usr/bin/chromium'

/**
 * Debian's Chromium, headless, or null (with one line saying so) where it is not installed:
 * nothing here ever downloads a browser.
 */
export async function launchChromium (userDataDir: string): Promise<BrowserContext | null> {
  if (!existsSync(CHROMIUM)) {
    process.stdout.write(`skipped: ${CHROMIUM} is missing (apt-get install chromium), so the browser check does not run\n`)
    return null
  }
  const { chromium } = await import('playwright-core')
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
}

export interface DashboardCheck {
  /** from navigation to the first chart with a data point drawn */
  readonly loadMs: number
  /** data points on the step chart */
  readonly stepPoints: number
  /** pixels of the first series' colour on the step chart's canvas */
  readonly linePixels: number
  /** pixels of the first series' colour on the accuracy chart's canvas */
  readonly accuracyPixels: number
  readonly polls: number
  readonly title: string
}

/** Runs in the page: what the charts hold and how many pixels of the first series' colour (#2563eb) their canvases show. */
const PAGE_PROBE = `(() => {
  const colourPixels = id => {
    const canvas = document.getElementById(id)
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height)
    let count = 0
    for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i] - 37) < 12 && Math.abs(data[i + 1] - 99) < 12 && Math.abs(data[i + 2] - 235) < 12 && data[i + 3] > 200) count++
    return count
  }
  return {
    stepPoints: Chart.getChart('chart-step').data.datasets[0].data.length,
    linePixels: colourPixels('chart-step'),
    accuracyPixels: colourPixels('chart-accuracy'),
    polls: window.dashboard.polls,
    title: document.title
  }
})()`

/**
 * Opens a dashboard page, waits until it has polled a few times and drawn its charts, takes a
 * screenshot, and reports what is on the canvases.
 */
export async function checkDashboard (context: BrowserContext, url: string, screenshot: string, minimumPoints = 3): Promise<DashboardCheck> {
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', error => { errors.push(error.message) })
  const started = Date.now()
  await page.goto(url)
  await page.waitForFunction(`Chart.getChart('chart-step')?.data.datasets[0]?.data.length >= 1`, undefined, { timeout: 60_000, polling: 50 })
  const loadMs = Date.now() - started
  await page.waitForFunction(`Chart.getChart('chart-step').data.datasets[0].data.length >= ${minimumPoints} && Chart.getChart('chart-accuracy')?.data.datasets[0]?.data.length >= 1`, undefined, { timeout: 90_000, polling: 200 })
  await page.screenshot({ path: screenshot, fullPage: true })
  const figures = await page.evaluate<Omit<DashboardCheck, 'loadMs'>>(PAGE_PROBE)
  await page.close()
  if (errors.length > 0) throw new Error(`the page raised: ${errors.join('; ')}`)
  return { loadMs, ...figures }
}
