import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { MurmurError } from '../errors.js'
import { createApiGuard, type ApiGuard } from '../node/api-guard.js'
import type { ApiAddress } from '../node/api.js'
import type { WebFile } from './web-files.js'

export interface WebServer {
  /** the page's URL (http://HOST:PORT/) */
  readonly url: string
  readonly port: number
  close: () => Promise<void>
}

/**
 * What every answer carries: scripts only from the page itself (and TF.js's wasm compiled, and its
 * workers), connections to the page's server and to peers' WebSockets; no framing, no sniffing.
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin'
} as const

/** Files smaller than this go uncompressed. */
const GZIP_MIN_BYTES = 1024

function answer (response: ServerResponse, status: number, contentType: string, body: string | Uint8Array, head: boolean, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-type': contentType, 'cache-control': 'no-store', 'content-length': String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength) })
  response.end(head ? undefined : body)
}

/**
 * Serves a browser node's page (web-files.ts) from a process node: a fixed set of read-only files,
 * GET and HEAD only. Requests pass the local API's guard (api-guard.ts) with no token: Host must name
 * this server (DNS rebinding is refused), a cross-site Origin is refused, and every other method is.
 * Nothing served is secret: the manifest and the node's addresses are what any peer learns; a
 * private swarm's key is never part of the page.
 */
export async function startWebServer (address: ApiAddress, files: ReadonlyMap<string, WebFile>): Promise<WebServer> {
  // Compressed once per file (the bundle, the worker, wasm, the data): a tab loads about 1.6 MB, not 6.
  const compressed = new Map<string, Uint8Array>()
  const gzipped = (path: string, body: string | Uint8Array, cacheable: boolean): Uint8Array => {
    const cached = compressed.get(path)
    if (cached !== undefined) return cached
    const bytes = gzipSync(body)
    if (cacheable) compressed.set(path, bytes)
    return bytes
  }
  let guard: ApiGuard = () => ({ status: 503, error: 'starting', message: 'the page is starting' })
  const server = createServer((request, response) => {
    const head = request.method === 'HEAD'
    const refusal = guard(request)
    if (refusal !== null) {
      answer(response, refusal.status, 'application/json', JSON.stringify({ error: refusal.error, message: refusal.message }), head, { ...refusal.headers })
      return
    }
    if (request.method !== 'GET' && !head) {
      answer(response, 405, 'text/plain', 'the page takes GET and HEAD only\n', false, { allow: 'GET, HEAD' })
      return
    }
    const path = new URL(request.url ?? '/', 'http://localhost').pathname.replace(/^\//, '')
    const name = path === '' ? 'index.html' : path
    const file = files.get(name)
    if (file === undefined) {
      answer(response, 404, 'text/plain', 'not found\n', head)
      return
    }
    const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))
    file.body().then(
      body => {
        const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength
        if (!gzip || size < GZIP_MIN_BYTES) answer(response, 200, file.contentType, body, head, { vary: 'accept-encoding' })
        else answer(response, 200, file.contentType, gzipped(name, body, file.cacheable !== false), head, { vary: 'accept-encoding', 'content-encoding': 'gzip' })
      },
      (error: unknown) => { answer(response, 500, 'text/plain', `${error instanceof Error ? error.message : String(error)}\n`, head) })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', error => { reject(new MurmurError('ERR_INVALID_ARGUMENT', `--web: cannot listen on ${address.host}:${address.port}: ${error.message}`)) })
    server.listen(address.port, address.host, resolve)
  })
  const bound = server.address() as AddressInfo
  guard = createApiGuard({ host: bound.address, port: bound.port, token: null })
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address
  const shownHost = host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host
  return {
    url: `http://${shownHost}:${bound.port}/`,
    port: bound.port,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}

/** Writes the page's files into a directory, for any static web host (`murmur web --out DIR`). */
export async function writeWebFiles (directory: string, files: ReadonlyMap<string, WebFile>): Promise<string[]> {
  const written: string[] = []
  for (const [path, file] of files) {
    const target = join(directory, ...path.split('/'))
    await mkdir(dirname(target), { recursive: true })
    await writeFile(target, await file.body())
    written.push(path)
  }
  return written
}
