// Builds the browser node (src/browser) into dist/page: the page's script, the training worker's
// script, and TF.js's wasm binaries (dist/page). Run by `npm run build` after tsc.
import { copyFile, mkdir, readdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist', 'page')
const common = {
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
  // The manifest's swarm id is a SHA-256: the one thing browser code takes from node:crypto.
  alias: { 'node:crypto': join(root, 'src', 'browser', 'shims', 'node-crypto.ts') }
}
await mkdir(join(out, 'wasm'), { recursive: true })
await build({ ...common, entryPoints: [join(root, 'src', 'browser', 'page.ts')], outfile: join(out, 'murmur-web.js'), format: 'esm' })
await build({ ...common, entryPoints: [join(root, 'src', 'browser', 'training-worker.ts')], outfile: join(out, 'murmur-worker.js'), format: 'iife' })
const wasmDirectory = join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist')
for (const file of await readdir(wasmDirectory)) {
  if (file.endsWith('.wasm')) await copyFile(join(wasmDirectory, file), join(out, 'wasm', file))
}
