import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { MurmurError } from '../errors.js'
import { createApiGuard, type ApiGuard } from './api-guard.js'

export interface ApiHandlers {
  status: () => unknown
  metrics: () => Promise<{ contentType: string; body: string }>
  /** the node's current model as an encoded update, or null before it has one */
  model: () => Promise<Uint8Array | null>
  /** peers refused by the connection gater; simulations cut and heal partitions through it */
  blockedPeers: { get: () => string[]; set: (peers: string[]) => Promise<void> }
}

export interface ApiServer {
  /** HOST:PORT actually bound (the port is chosen by the system when 0 was asked for) */
  readonly address: string
  readonly port: number
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

/** Writes a whole response; every answer of the API is marked not cacheable. */
export function send (response: ServerResponse, status: number, contentType: string, body: string | Uint8Array, headers: Readonly<Record<string, string>> = {}): void {
  response.writeHead(status, { ...headers, 'content-type': contentType, 'cache-control': 'no-store' })
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

/**
 * One route of the local API. Its handler runs only after the guard (api-guard.ts) has passed the
 * request: Host and Origin for every route, the token for every method but GET. A new route is one
 * more entry in the list given to startApi.
 */
export interface ApiRoute {
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE'
  readonly path: string
  readonly handle: (request: IncomingMessage, response: ServerResponse) => Promise<void>
}

/** The node's own routes: status, metrics, model and the blocked peers. */
function nodeRoutes (handlers: ApiHandlers): ApiRoute[] {
  return [
    {
      method: 'GET',
      path: '/status',
      handle: async (_request, response) => { send(response, 200, 'application/json', JSON.stringify(handlers.status())) }
    },
    {
      method: 'GET',
      path: '/metrics',
      handle: async (_request, response) => {
        const { contentType, body } = await handlers.metrics()
        send(response, 200, contentType, body)
      }
    },
    {
      method: 'GET',
      path: '/model',
      handle: async (_request, response) => {
        const model = await handlers.model()
        if (model === null) send(response, 503, 'text/plain', 'no model yet\n')
        else send(response, 200, 'application/octet-stream', model)
      }
    },
    {
      method: 'GET',
      path: '/blocked-peers',
      handle: async (_request, response) => { send(response, 200, 'application/json', JSON.stringify(handlers.blockedPeers.get())) }
    },
    {
      method: 'PUT',
      path: '/blocked-peers',
      handle: async (request, response) => {
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
      }
    }
  ]
}

async function route (request: IncomingMessage, response: ServerResponse, guard: ApiGuard, routes: readonly ApiRoute[]): Promise<void> {
  const refusal = guard(request)
  if (refusal !== null) {
    send(response, refusal.status, 'application/json', JSON.stringify({ error: refusal.error, message: refusal.message }), refusal.headers)
    return
  }
  const path = new URL(request.url ?? '/', 'http://localhost').pathname
  const onPath = routes.filter(candidate => candidate.path === path)
  const found = onPath.find(candidate => candidate.method === request.method)
  if (found !== undefined) {
    await found.handle(request, response)
    return
  }
  if (onPath.length > 0) {
    const methods = onPath.map(candidate => candidate.method)
    send(response, 405, 'text/plain', `${path} takes ${methods.join(' and ')} only\n`, { allow: methods.join(', ') })
    return
  }
  const paths = [...new Set(routes.map(candidate => candidate.path))]
  send(response, 404, 'text/plain', `not found: try ${paths.join(', ')}\n`)
}

export interface ApiOptions {
  /** the bearer token every method but GET needs (api-token.ts); without one, such requests are refused */
  readonly token?: string
  /** where clients find the token, named in refusals (e.g. the api-token file) */
  readonly tokenSource?: string
  /** more routes, served behind the same guard */
  readonly routes?: readonly ApiRoute[]
}

/**
 * The node's local HTTP API. It listens only where asked, and only when asked; every request passes
 * the guard (api-guard.ts) before its route.
 */
export async function startApi (address: ApiAddress, handlers: ApiHandlers, options: ApiOptions = {}): Promise<ApiServer> {
  const routes = [...nodeRoutes(handlers), ...options.routes ?? []]
  // The guard needs the port actually bound; no request is served before listen() returns.
  let guard: ApiGuard = () => ({ status: 503, error: 'starting', message: 'the API is starting' })
  const server = createServer((request, response) => {
    route(request, response, guard, routes).catch((error: unknown) => {
      send(response, 500, 'text/plain', `${error instanceof Error ? error.message : String(error)}\n`)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', error => { reject(new MurmurError('ERR_INVALID_ARGUMENT', `--api: cannot listen on ${address.host}:${address.port}: ${error.message}`)) })
    server.listen(address.port, address.host, resolve)
  })
  const bound = server.address() as AddressInfo
  guard = createApiGuard({
    host: bound.address,
    port: bound.port,
    token: options.token ?? null,
    ...(options.tokenSource === undefined ? {} : { tokenSource: options.tokenSource })
  })
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address
  return {
    address: `${host}:${bound.port}`,
    port: bound.port,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}
