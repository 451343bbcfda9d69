import { request as httpRequest, type IncomingMessage } from 'node:http'
import { afterEach, describe, it, expect } from 'vitest'
import { send, startApi, type ApiServer } from '../src/node/api.js'
import { createApiGuard, exposureWarning, isLoopbackHost } from '../src/node/api-guard.js'

interface Reply { status: number; body: string; headers: IncomingMessage['headers'] }

/** A raw HTTP request, so that Host and Origin can be whatever a browser or an attacker would send. */
async function call (server: ApiServer, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port: server.port, method, path, headers, setHost: headers.host === undefined }, response => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: response.headers }) })
    })
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

const TOKEN = 'a-token-of-the-node-0123456789abcdef'
let server: ApiServer | null = null
let blocked: string[] = []
const setCalls: string[][] = []

async function start (token: string | undefined = TOKEN): Promise<ApiServer> {
  blocked = []
  setCalls.length = 0
  server = await startApi({ host: '127.0.0.1', port: 0 }, {
    status: () => ({ ok: true }),
    metrics: async () => ({ contentType: 'text/plain', body: 'metrics\n' }),
    model: async () => null,
    blockedPeers: { get: () => blocked, set: async peers => { setCalls.push(peers); blocked = peers } }
  }, {
    ...(token === undefined ? {} : { token }),
    tokenSource: '/state/api-token',
    routes: [{ method: 'POST', path: '/extra', handle: async (_request, response) => { send(response, 200, 'text/plain', 'extra ran\n') } }]
  })
  return server
}

afterEach(async () => {
  await server?.close()
  server = null
})

describe('the local API guard', () => {
  it('serves GET from loopback without a token', async () => {
    const api = await start()
    const reply = await call(api, 'GET', '/status')
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.body)).toEqual({ ok: true })
    expect((await call(api, 'GET', '/status', { host: `localhost:${api.port}` })).status).toBe(200)
    expect((await call(api, 'GET', '/status', { host: `127.0.0.1:${api.port}`, origin: `http://127.0.0.1:${api.port}` })).status).toBe(200)
  })

  it('refuses a foreign Host (DNS rebinding) with 421 and a JSON error, even for GET and with the token', async () => {
    const api = await start()
    for (const host of [`rebind.attacker.example:${api.port}`, 'rebind.attacker.example', `evil@127.0.0.1:${api.port}`, '']) {
      const reply = await call(api, 'GET', '/status', { host })
      expect(reply.status, host).toBe(421)
      expect(reply.headers['content-type']).toBe('application/json')
      const error = JSON.parse(reply.body) as { error: string; message: string }
      expect(error.error).toBe('forbidden-host')
      expect(error.message).toContain('DNS rebinding')
    }
    const put = await call(api, 'PUT', '/blocked-peers', { host: `rebind.attacker.example:${api.port}`, authorization: `Bearer ${TOKEN}` }, '["12D3KooWattacker"]')
    expect(put.status).toBe(421)
    expect(setCalls).toEqual([])
  })

  it('refuses pages of other origins with 403, also other ports of this machine', async () => {
    const api = await start()
    for (const origin of ['http://attacker.example', `http://localhost:${api.port + 1}`, 'null', `https://127.0.0.1:${api.port}`]) {
      const reply = await call(api, 'GET', '/status', { origin })
      expect(reply.status, origin).toBe(403)
      expect((JSON.parse(reply.body) as { error: string }).error).toBe('forbidden-origin')
    }
  })

  it('lets a state-changing request through only with the node\'s token', async () => {
    const api = await start()
    const missing = await call(api, 'PUT', '/blocked-peers', {}, '["12D3KooWpeer"]')
    expect(missing.status).toBe(401)
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer/)
    const missingError = JSON.parse(missing.body) as { error: string; message: string }
    expect(missingError.error).toBe('missing-token')
    expect(missingError.message).toContain('/state/api-token')
    const wrong = await call(api, 'PUT', '/blocked-peers', { authorization: 'Bearer not-the-token' }, '["12D3KooWpeer"]')
    expect(wrong.status).toBe(401)
    expect((JSON.parse(wrong.body) as { error: string }).error).toBe('invalid-token')
    expect(setCalls).toEqual([])
    expect(JSON.parse((await call(api, 'GET', '/blocked-peers')).body)).toEqual([])

    const right = await call(api, 'PUT', '/blocked-peers', { authorization: `Bearer ${TOKEN}` }, '["12D3KooWpeer"]')
    expect(right.status).toBe(200)
    expect(setCalls).toEqual([['12D3KooWpeer']])
    expect(JSON.parse((await call(api, 'GET', '/blocked-peers')).body)).toEqual(['12D3KooWpeer'])
  })

  it('runs the same guard before routes added later, and refuses changes outright without a token', async () => {
    const api = await start()
    expect((await call(api, 'POST', '/extra')).status).toBe(401)
    expect((await call(api, 'POST', '/extra', { authorization: `Bearer ${TOKEN}` })).body).toBe('extra ran\n')
    expect((await call(api, 'POST', '/extra', { authorization: `Bearer ${TOKEN}`, origin: 'http://attacker.example' })).status).toBe(403)
    await api.close()

    const tokenless = await start(undefined)
    expect((await call(tokenless, 'PUT', '/blocked-peers', { authorization: 'Bearer anything' }, '[]')).status).toBe(401)
    expect(setCalls).toEqual([])
    expect((await call(tokenless, 'GET', '/status')).status).toBe(200)
  })

  it('keeps 404 and 405 for unknown paths and methods', async () => {
    const api = await start()
    expect((await call(api, 'GET', '/nothing')).status).toBe(404)
    const head = await call(api, 'HEAD', '/status')
    expect(head.status).toBe(405)
    expect(head.headers.allow).toBe('GET')
  })
})

describe('Host rules', () => {
  const request = (host: string): IncomingMessage => ({ method: 'GET', headers: { host } }) as unknown as IncomingMessage

  it('accept loopback names and the bound address; on a wildcard bind, the machine\'s own addresses only', () => {
    const specific = createApiGuard({ host: '192.0.2.7', port: 9090, token: null, interfaceAddresses: () => ['192.0.2.7', '198.51.100.3'] })
    expect(specific(request('192.0.2.7:9090'))).toBeNull()
    expect(specific(request('127.0.0.1:9090'))).toBeNull()
    expect(specific(request('[::1]:9090'))).toBeNull()
    expect(specific(request('198.51.100.3:9090'))?.status).toBe(421)

    const wildcard = createApiGuard({ host: '0.0.0.0', port: 9090, token: null, interfaceAddresses: () => ['192.0.2.7', 'fe80::1'] })
    expect(wildcard(request('192.0.2.7:9090'))).toBeNull()
    expect(wildcard(request('[fe80::1]:9090'))).toBeNull()
    expect(wildcard(request('0.0.0.0:9090'))?.status).toBe(421)
    expect(wildcard(request('203.0.113.9:9090'))?.status).toBe(421)
    expect(wildcard(request('node.example:9090'))?.status).toBe(421)
  })

  it('tell loopback from the rest, and warn about binding beyond it', () => {
    for (const host of ['localhost', '127.0.0.1', '127.3.2.1', '::1', '[::1]', 'LOCALHOST.']) expect(isLoopbackHost(host), host).toBe(true)
    for (const host of ['0.0.0.0', '::', '192.0.2.7', 'localhost.attacker.example', '128.0.0.1']) expect(isLoopbackHost(host), host).toBe(false)
    expect(exposureWarning('127.0.0.1', 9090)).toBeNull()
    expect(exposureWarning('0.0.0.0', 9090)).toMatch(/0\.0\.0\.0:9090, beyond loopback.*127\.0\.0\.1:9090/)
    expect(exposureWarning('::', 9090)).toContain('[::]:9090')
  })
})
