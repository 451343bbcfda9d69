import { readdir, readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { describe, it, expect } from 'vitest'
import { parseIdx } from '../src/data/idx-format.js'
import { loadMnist } from '../src/data/mnist.js'
import { createManifest } from '../src/learning/manifest.js'
import { webFiles, webSocketAddresses } from '../src/web/web-files.js'
import { startWebServer, writeWebFiles } from '../src/web/web-server.js'
import { temporaryDirectory } from './helpers.js'

const MANIFEST = createManifest({ model: 'mlp', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 } })
const PEER = '12D3KooWGhUm8DCC8XDtnLsgJhyGzpW4JpahSKD4FdiSan13N56h'
const BOOTSTRAP = [`/ip4/127.0.0.1/tcp/4002/ws/p2p/${PEER}`]

/** A raw request, so that Host and Origin can be set as an attacker's page would have them. */
async function fetchRaw (port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, path, method, headers }, response => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }) })
    })
    outgoing.on('error', reject)
    outgoing.end()
  })
}

describe('the browser node page', () => {
  it('is served read-only from a fixed list of files behind the API guard, with the manifest and bootstrap but never a key', async () => {
    const server = await startWebServer({ host: '127.0.0.1', port: 0 }, await webFiles({ manifest: MANIFEST, bootstrap: () => BOOTSTRAP, privateSwarm: true }))
    try {
      const page = await fetchRaw(server.port, '/')
      expect(page.status).toBe(200)
      expect(page.body.toString()).toContain('<script type="module" src="murmur-web.js">')
      expect(page.headers['content-security-policy']).toMatch(/script-src 'self' 'wasm-unsafe-eval'/)
      const config = JSON.parse((await fetchRaw(server.port, '/murmur-web.json')).body.toString()) as Record<string, unknown>
      expect(config).toMatchObject({ bootstrap: BOOTSTRAP, privateSwarm: true, builtinData: { name: 'mnist' } })
      expect(config.manifest).toEqual(MANIFEST)
      expect(JSON.stringify(config)).not.toMatch(/key\/swarm|psk/)
      const worker = await fetchRaw(server.port, '/murmur-worker.js')
      const compressed = await fetchRaw(server.port, '/murmur-worker.js', { 'accept-encoding': 'gzip' })
      expect(compressed.headers['content-encoding']).toBe('gzip')
      expect(compressed.body.byteLength).toBeLessThan(worker.body.byteLength / 2)
      expect(gunzipSync(compressed.body).equals(worker.body)).toBe(true)
      expect((await fetchRaw(server.port, '/wasm/tfjs-backend-wasm-simd.wasm')).headers['content-type']).toBe('application/wasm')
      // The built-in split, as IDX: what a process node trains on, as bytes.
      const images = parseIdx(new Uint8Array((await fetchRaw(server.port, '/data/train-images.idx')).body))
      const { train } = await loadMnist()
      expect(images.dims).toEqual([train.count, 28, 28])
      expect(Math.abs((images.data[300] as number) / 255 - (train.features[300] as number))).toBeLessThanOrEqual(1 / 510)
      // Refused: another Host (DNS rebinding), a cross-site Origin, any other method, any other path.
      expect((await fetchRaw(server.port, '/', { host: 'attacker.example' })).status).toBe(421)
      expect((await fetchRaw(server.port, '/murmur-web.json', { origin: 'http://attacker.example' })).status).toBe(403)
      expect((await fetchRaw(server.port, '/', {}, 'POST')).status).toBe(401)
      expect((await fetchRaw(server.port, '/../package.json')).status).toBe(404)
      expect((await fetchRaw(server.port, '/status')).status).toBe(404)
    } finally {
      await server.close()
    }
  }, 60_000)

  it('is written as the same static files by murmur web --out', async () => {
    const directory = await temporaryDirectory('web-out')
    const written = await writeWebFiles(directory, await webFiles({ manifest: MANIFEST, bootstrap: () => BOOTSTRAP, privateSwarm: false }))
    expect(written).toEqual(expect.arrayContaining(['index.html', 'murmur-web.js', 'murmur-worker.js', 'murmur-web.json', 'data/test-labels.idx']))
    expect((await readdir(join(directory, 'wasm'))).some(file => file.endsWith('.wasm'))).toBe(true)
    expect(JSON.parse(await readFile(join(directory, 'murmur-web.json'), 'utf8'))).toMatchObject({ bootstrap: BOOTSTRAP, privateSwarm: false })
  }, 60_000)

  it('gives tabs a node\'s WebSockets addresses only, each with its peer id', () => {
    expect(webSocketAddresses(['/ip4/127.0.0.1/tcp/1/p2p/X', '/ip4/127.0.0.1/tcp/2/ws', '/ip4/1.2.3.4/tcp/3/ws/p2p/X/p2p-circuit/p2p/Y', '/dns4/a.example/tcp/443/wss/p2p/X'], 'X'))
      .toEqual(['/ip4/127.0.0.1/tcp/2/ws/p2p/X', '/dns4/a.example/tcp/443/wss/p2p/X'])
  })
})
