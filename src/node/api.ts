import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { MurmurError } from '../errors.js'

export interface ApiHandlers {
  status: () => unknown
  metrics: () => Promise<{ contentType: string; body: string }>
  /** the node's current model as an encoded update, or null before it has one */
  model: () => Promise<Uint8Array | null>
  /** peers refused by the connection gater; simulations cut and heal partitions through it */
  blockedPeers: { get: () => string[]; set: (peers: string[]) => Promise<void> }
  /** read-only pages (dashboard, model.json, weights.bin; see node-pages.ts): null for paths they do not serve */
  pages?: (path: string) => Promise<{ status: number; contentType: string; body: string | Uint8Array } | null>
}

export interface ApiServer {
  /** HOST:PORT actually bound (the port is chosen by the system when 0 was asked for) */
  readonly address: string
  close: () => Promise<void>
}

export interface ApiAddress { readonly host: string; readonly port: number }

/** Parses --api HOST:PORT (IPv6 hosts in brackets: [::1]:9090). */
export function parseApiAddress (text: string): ApiAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text)
  const port = Number(match?.[3])
  const host = match?.[1] ?? match?.[2]
  if (match === null || host === undefined || !(port >= 0 && port <= 65535)) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `--api: "${text}" is not HOST:PORT (for example 127.0.0.1:9090, or 127.0.0.1:0 for any free port)`)
  }
  return { host, port }
}

function send (response: ServerResponse, status: number, contentType: string, body: string | Uint8Array): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' })
  response.end(body)
}

const MAX_BODY_BYTES = 1 << 20

async function readJson (request: IncomingMessage): Promise<unknown> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of request) {
    const buffer = chunk as Buffer
    size += buffer.byteLength
    if (size > MAX_BODY_BYTES) throw new MurmurError('ERR_INVALID_ARGUMENT', 'request body too large')
    chunks.push(buffer)
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

async function route (request: IncomingMessage, response: ServerResponse, handlers: ApiHandlers): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname
  if (path === '/blocked-peers' && request.method === 'PUT') {
    let peers: unknown
    try {
      peers = await readJson(request)
    } catch {
      send(response, 400, 'text/plain', 'expected a JSON array of peer ids\n')
      return
    }
    if (!Array.isArray(peers) || !peers.every(peer => typeof peer === 'string')) {
      send(response, 400, 'text/plain', 'expected a JSON array of peer ids\n')
      return
    }
    await handlers.blockedPeers.set(peers)
    send(response, 200, 'application/json', JSON.stringify(handlers.blockedPeers.get()))
    return
  }
  if (request.method !== 'GET') { send(response, 405, 'text/plain', 'only GET is supported here (and PUT on /blocked-peers)\n'); return }
  const page = await handlers.pages?.(path)
  if (page != null) { send(response, page.status, page.contentType, page.body); return }
  switch (path) {
    case '/blocked-peers':
      send(response, 200, 'application/json', JSON.stringify(handlers.blockedPeers.get()))
      return
    case '/status':
      send(response, 200, 'application/json', JSON.stringify(handlers.status()))
      return
    case '/metrics': {
      const { contentType, body } = await handlers.metrics()
      send(response, 200, contentType, body)
      return
    }
    case '/model': {
      const model = await handlers.model()
      if (model === null) send(response, 503, 'text/plain', 'no model yet\n')
      else send(response, 200, 'application/octet-stream', model)
      return
    }
    default:
      send(response, 404, 'text/plain', 'not found: try /, /status, /metrics, /model, /model.json, /weights.bin or /blocked-peers\n')
  }
}

/** The node's local HTTP API. It listens only where asked, and only when asked. */
export async function startApi (address: ApiAddress, handlers: ApiHandlers): Promise<ApiServer> {
  const server = createServer((request, response) => {
    route(request, response, handlers).catch((error: unknown) => {
      send(response, 500, 'text/plain', `${error instanceof Error ? error.message : String(error)}\n`)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', error => { reject(new MurmurError('ERR_INVALID_ARGUMENT', `--api: cannot listen on ${address.host}:${address.port}: ${error.message}`)) })
    server.listen(address.port, address.host, resolve)
  })
  const bound = server.address() as AddressInfo
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address
  return {
    address: `${host}:${bound.port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}
