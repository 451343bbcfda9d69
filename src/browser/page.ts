/**
 * The page of a browser node (bundled as murmur-web.js): join a swarm with one click (or at load
 * with ?join), train on the built-in data or a file the user picks, watch peers, step, accuracy and
 * bytes, stop; a reload resumes from IndexedDB with the same peer id. The swarm is described by
 * murmur-web.json next to the page (web-config.ts); a private swarm's key is pasted by the user, or
 * given in the URL's fragment (#key=HEX), which browsers never send to a server.
 */
import { CategoryScale, Chart, LinearScale, LineController, LineElement, PointElement } from 'chart.js'
import type { NodeData } from '../data/node-data.js'
import { isBackendName, type BackendName } from '../learning/backend-names.js'
import { parseSwarmKeyText } from '../p2p/swarm-key-format.js'
import { seedFromPeerId } from '../node/peer-seed.js'
import { builtinPart, fetchBuiltinSplit, nodeDataFromFiles } from './browser-data.js'
import { BrowserNode, type BrowserNodeStatus } from './browser-node.js'
import { WEB_CONFIG_FILE, type WebConfig } from './web-config.js'

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale)

const DEFAULT_PARTS = 8
const REFRESH_MS = 1_000
/** the accuracy line's colour (tests look for it on the canvas) */
const LINE_COLOUR = '#2563eb'

function element<T extends HTMLElement> (id: string): T {
  const found = document.getElementById(id)
  if (found === null) throw new Error(`the page has no #${id}`)
  return found as T
}

function formatBytes (bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

/** The part of the built-in data this tab takes: ?part=I/N, else one of N chosen by its peer id. */
function chosenPart (peerId: string, parts: number): { part: number; parts: number } {
  const match = /^(\d+)\/(\d+)$/.exec(new URLSearchParams(location.search).get('part') ?? '')
  if (match !== null) {
    const part = Number(match[1])
    const of = Number(match[2])
    if (part >= 1 && part <= of) return { part, parts: of }
  }
  return { part: 1 + (seedFromPeerId(peerId) % parts), parts }
}

/** The swarm key: pasted into the page, or in the URL's fragment (#key=…), never from the server. */
function swarmKey (config: WebConfig): Uint8Array | undefined {
  const pasted = element<HTMLTextAreaElement>('key').value.trim()
  const fragment = new URLSearchParams(location.hash.slice(1)).get('key') ?? ''
  const text = pasted !== '' ? pasted : fragment
  if (text === '') {
    if (config.privateSwarm) throw new Error('this swarm is private: paste its swarm key first')
    return undefined
  }
  return parseSwarmKeyText(text)
}

/** ?backend=webgl|wasm|cpu: a TF.js backend instead of the fastest that loads (measurements). */
function backendChoice (): { backend?: BackendName } {
  const name = new URLSearchParams(location.search).get('backend') ?? ''
  return isBackendName(name) ? { backend: name } : {}
}

/** ?checkpoint=MS: checkpoints more often than the core's default (kiosks, tests). */
function checkpointInterval (): { checkpointIntervalMs?: number } {
  const ms = Number(new URLSearchParams(location.search).get('checkpoint'))
  return Number.isFinite(ms) && ms >= 500 ? { checkpointIntervalMs: ms } : {}
}

class Page {
  private node: BrowserNode | null = null
  private readonly chart: Chart<'line', number[], string>
  private readonly started = performance.now()
  private timer: ReturnType<typeof setInterval> | null = null
  /** page load to the first exchange with a peer's model merged, in ms (null before) */
  firstExchangeMs: number | null = null
  error: string | null = null

  constructor (private readonly config: WebConfig) {
    this.chart = new Chart(element<HTMLCanvasElement>('chart-accuracy'), {
      type: 'line',
      data: { labels: [], datasets: [{ label: 'accuracy (held-out)', data: [], borderColor: LINE_COLOUR, backgroundColor: LINE_COLOUR, borderWidth: 3, pointRadius: 2 }] },
      options: { animation: false, responsive: false, scales: { y: { min: 0, max: 1 } } }
    })
    element<HTMLButtonElement>('join').addEventListener('click', () => { this.join().catch(error => { this.fail(error) }) })
    element<HTMLButtonElement>('stop').addEventListener('click', () => { this.stop().catch(error => { this.fail(error) }) })
    element('key-row').hidden = !config.privateSwarm
    element('swarm').textContent = `${config.manifest.model.name} on ${config.manifest.dataset.name}, ${config.manifest.exchange.mode} exchange`
  }

  private fail (error: unknown): void {
    this.error = error instanceof Error ? error.message : String(error)
    element('state').textContent = `error: ${this.error}`
  }

  private async data (peerId: string): Promise<NodeData> {
    const files = [...(element<HTMLInputElement>('file').files ?? [])]
    if (files.length > 0) {
      element('data').textContent = `your file${files.length > 1 ? 's' : ''}: ${files.map(file => file.name).join(', ')} (read here, never uploaded)`
      return nodeDataFromFiles(files, this.config.manifest, this.config.manifest.seed)
    }
    if (this.config.builtinData === null) throw new Error('this page serves no built-in data: pick a CSV or IDX file')
    const { part, parts } = chosenPart(peerId, this.config.builtinData.parts || DEFAULT_PARTS)
    const split = await fetchBuiltinSplit(new URL('.', location.href), this.config.builtinData.name)
    const data = builtinPart(split, part, parts, this.config.manifest, this.config.builtinData.name)
    element('data').textContent = `built-in ${this.config.builtinData.name}, part ${part} of ${parts} (${data.train.count} records)`
    return data
  }

  async join (): Promise<void> {
    if (this.node !== null) return
    element<HTMLButtonElement>('join').disabled = true
    element('state').textContent = 'starting…'
    try {
      const key = swarmKey(this.config)
      const base = new URL('.', location.href)
      this.node = await BrowserNode.start({
        manifest: this.config.manifest,
        bootstrap: this.config.bootstrap,
        ...(this.config.iceServers === undefined ? {} : { iceServers: this.config.iceServers }),
        ...(key === undefined ? {} : { swarmKey: key }),
        data: async peerId => this.data(peerId),
        ...checkpointInterval(),
        ...backendChoice(),
        workerUrl: new URL('murmur-worker.js', base).href,
        wasmPath: new URL('wasm/', base).href
      })
    } catch (error) {
      element<HTMLButtonElement>('join').disabled = false
      throw error
    }
    const node = this.node
    node.addEventListener('exchange', event => {
      if (this.firstExchangeMs === null && event.detail.merged > 0) this.firstExchangeMs = Math.round(performance.now() - this.started)
    })
    node.addEventListener('evaluation', event => {
      if (event.detail.accuracy === null) return
      this.chart.data.labels?.push(String(event.detail.step))
      this.chart.data.datasets[0]?.data.push(event.detail.accuracy)
      this.chart.update()
    })
    node.addEventListener('error', event => { this.fail(event.detail) })
    element('peer-id').textContent = node.peerId
    element('state').textContent = node.status().resumed ? 'running (resumed from this browser\'s checkpoint)' : 'running'
    element<HTMLButtonElement>('stop').disabled = false
    this.timer = setInterval(() => { this.render() }, REFRESH_MS)
    this.render()
  }

  async stop (): Promise<void> {
    const node = this.node
    if (node === null) return
    if (this.timer !== null) clearInterval(this.timer)
    element<HTMLButtonElement>('stop').disabled = true
    element('state').textContent = 'stopping…'
    await node.stop()
    this.node = null
    element('state').textContent = 'stopped (a reload resumes from the checkpoint kept in this browser)'
    element<HTMLButtonElement>('join').disabled = false
  }

  private render (): void {
    const status = this.status()
    if (status === null) return
    element('peers').textContent = `${status.peers} (${status.connections.map(connection => connection.transport).sort().join(', ') || 'none yet'})`
    element('step').textContent = String(status.step)
    element('accuracy').textContent = status.lastAccuracy === null ? '–' : `${(status.lastAccuracy * 100).toFixed(1)} %`
    element('bytes').textContent = `${formatBytes(status.bytes.sent)} sent, ${formatBytes(status.bytes.received)} received`
    element('speed').textContent = `${Math.round(status.samplesPerSecond)} samples/s on ${status.backend}`
  }

  status (): BrowserNodeStatus | null {
    return this.node?.status() ?? null
  }

  async testAccuracy (): Promise<number | null> {
    return this.node?.testAccuracy() ?? null
  }

  get chartPoints (): number {
    return this.chart.data.datasets[0]?.data.length ?? 0
  }
}

async function main (): Promise<void> {
  const response = await fetch(new URL(WEB_CONFIG_FILE, location.href).href, { cache: 'no-store' })
  if (!response.ok) throw new Error(`cannot load ${WEB_CONFIG_FILE}: HTTP ${response.status}`)
  const page = new Page(await response.json() as WebConfig)
  // For kiosks and tests: the page's state, and a way to stop it.
  Object.assign(globalThis, { murmur: page })
  if (new URLSearchParams(location.search).has('join')) await page.join()
}

main().catch((error: unknown) => {
  const state = document.getElementById('state')
  if (state !== null) state.textContent = `error: ${error instanceof Error ? error.message : String(error)}`
  Object.assign(globalThis, { murmurError: error instanceof Error ? error.message : String(error) })
})
