import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { WEB_CONFIG_FILE, BUILTIN_DATA_FILES, type WebConfig } from '../browser/web-config.js'
import { encodeIdx } from '../data/idx-format.js'
import { loadMnist } from '../data/mnist.js'
import type { Dataset } from '../data/dataset.js'
import { MurmurError } from '../errors.js'
import type { Manifest } from '../learning/manifest.js'
import { compiledModule } from '../paths.js'
import { webPageHtml } from './web-page.js'

/** One file of the page: its type and its bytes (made when first asked for). */
export interface WebFile {
  readonly contentType: string
  readonly body: () => Promise<string | Uint8Array>
  /** whether the body is the same at every request (default true; the config is made per request) */
  readonly cacheable?: boolean
}

export interface WebFilesInit {
  readonly manifest: Manifest
  /** the WebSockets multiaddrs (with /p2p/) a tab joins through; read at every request of the config */
  readonly bootstrap: () => readonly string[]
  readonly privateSwarm: boolean
  /** parts of the built-in data a tab chooses among (default 8) */
  readonly parts?: number
}

/** The parts of the built-in data a tab chooses among, by its peer id, unless its URL says ?part=I/N. */
const DEFAULT_PARTS = 8

/** The bundle's directory: dist/page, built by `npm run build` (scripts/build-web.mjs). */
function bundleDirectory (): string {
  return compiledModule('page')
}

async function readBundleFile (file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(join(bundleDirectory(), file)))
  } catch (error) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `the browser node's bundle is missing (${file}): run npm run build`, { cause: error })
  }
}

function idxOf (dataset: Dataset): { images: Uint8Array; labels: Uint8Array } {
  const pixels = new Uint8Array(dataset.features.length)
  for (let index = 0; index < pixels.length; index++) pixels[index] = Math.max(0, Math.min(255, Math.round((dataset.features[index] as number) * 255)))
  const [rows, columns] = dataset.inputShape
  return {
    images: encodeIdx([dataset.count, rows ?? 28, columns ?? 28], pixels),
    labels: encodeIdx([dataset.count], Uint8Array.from(dataset.labels))
  }
}

/**
 * The files of a browser node's page, by path: the page, its script and worker, TF.js's wasm
 * binaries, the config (manifest, bootstrap addresses; never a key) and, for a swarm on the built-in
 * MNIST, its train and test split as IDX files. The same files are served by `murmur start --web`
 * and written by `murmur web --out`.
 */
export async function webFiles (init: WebFilesInit): Promise<Map<string, WebFile>> {
  const files = new Map<string, WebFile>()
  const html = webPageHtml(`murmur · ${init.manifest.model.name} on ${init.manifest.dataset.name}`)
  files.set('index.html', { contentType: 'text/html; charset=utf-8', body: async () => html })
  files.set('murmur-web.js', { contentType: 'text/javascript; charset=utf-8', body: async () => readBundleFile('murmur-web.js') })
  files.set('murmur-worker.js', { contentType: 'text/javascript; charset=utf-8', body: async () => readBundleFile('murmur-worker.js') })
  let wasm: string[]
  try {
    wasm = (await readdir(join(bundleDirectory(), 'wasm'))).filter(file => file.endsWith('.wasm'))
  } catch (error) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', 'the browser node\'s bundle is missing (dist/page): run npm run build', { cause: error })
  }
  for (const file of wasm) files.set(`wasm/${file}`, { contentType: 'application/wasm', body: async () => readBundleFile(`wasm/${file}`) })
  const builtin = init.manifest.dataset.name === 'mnist'
  const config = (): WebConfig => ({
    manifest: init.manifest,
    bootstrap: init.bootstrap(),
    builtinData: builtin ? { name: 'mnist', parts: init.parts ?? DEFAULT_PARTS } : null,
    privateSwarm: init.privateSwarm
  })
  files.set(WEB_CONFIG_FILE, { contentType: 'application/json', body: async () => JSON.stringify(config()), cacheable: false })
  if (builtin) {
    // Made once, when a tab first asks: the whole built-in split (about 8 MB).
    let encoded: Promise<{ train: ReturnType<typeof idxOf>; test: ReturnType<typeof idxOf> }> | null = null
    const split = async (): Promise<{ train: ReturnType<typeof idxOf>; test: ReturnType<typeof idxOf> }> => {
      encoded ??= loadMnist().then(({ train, test }) => ({ train: idxOf(train), test: idxOf(test) }))
      return encoded
    }
    const idx = 'application/octet-stream'
    files.set(BUILTIN_DATA_FILES.trainImages, { contentType: idx, body: async () => (await split()).train.images })
    files.set(BUILTIN_DATA_FILES.trainLabels, { contentType: idx, body: async () => (await split()).train.labels })
    files.set(BUILTIN_DATA_FILES.testImages, { contentType: idx, body: async () => (await split()).test.images })
    files.set(BUILTIN_DATA_FILES.testLabels, { contentType: idx, body: async () => (await split()).test.labels })
  }
  return files
}

/**
 * The addresses a tab can join a process node at: its WebSockets listeners (not relayed ones), each
 * with the node's /p2p/ part.
 */
export function webSocketAddresses (multiaddrs: readonly string[], peerId: string): string[] {
  return multiaddrs
    .filter(address => /\/wss?(\/|$)/.test(address) && !address.includes('/p2p-circuit'))
    .map(address => address.includes('/p2p/') ? address : `${address}/p2p/${peerId}`)
}
