import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { MurmurError } from '../errors.js'
import type { ApiAddress } from '../node/api.js'
import { CHART_SCRIPT_PATH, dashboardPage, readChartScript } from '../node/dashboard-page.js'
import type { SwarmProgress } from './launcher.js'

/** Path of the JSON the swarm page polls: every node's latest /status, and the launcher's timeline. */
export const SWARM_STATUS_PATH = '/swarm.json'

export interface SwarmDashboard {
  /** http://HOST:PORT/ of the page */
  readonly url: string
  /** feeds the page: pass the launcher's progress reports (SwarmOptions.onProgress) */
  update: (progress: SwarmProgress) => void
  close: () => Promise<void>
}

function send (response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' })
  response.end(body)
}

/**
 * One page for a whole local swarm while `murmur swarm` runs: the node dashboard in swarm mode,
 * fed with the statuses the launcher polls from every node anyway (no node needs an open API).
 */
export async function startSwarmDashboard (address: ApiAddress, title: string): Promise<SwarmDashboard> {
  let latest: { phase: string; elapsedSeconds: number; nodes: SwarmProgress['nodes']; timeline: SwarmProgress['timeline'] } = { phase: 'starting', elapsedSeconds: 0, nodes: [], timeline: [] }
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname
    if (request.method !== 'GET') { send(response, 405, 'text/plain', 'only GET is supported\n'); return }
    if (path === '/' || path === '/index.html') { send(response, 200, 'text/html; charset=utf-8', dashboardPage({ mode: 'swarm', source: SWARM_STATUS_PATH, title })); return }
    if (path === SWARM_STATUS_PATH) { send(response, 200, 'application/json', JSON.stringify(latest)); return }
    if (path === CHART_SCRIPT_PATH) {
      readChartScript().then(code => { send(response, 200, 'text/javascript; charset=utf-8', code) }, (error: unknown) => {
        send(response, 500, 'text/plain', `${error instanceof Error ? error.message : String(error)}\n`)
      })
      return
    }
    send(response, 404, 'text/plain', `not found: the page is at /, its data at ${SWARM_STATUS_PATH}\n`)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', error => { reject(new MurmurError('ERR_INVALID_ARGUMENT', `--dashboard: cannot listen on ${address.host}:${address.port}: ${error.message}`)) })
    server.listen(address.port, address.host, resolve)
  })
  const bound = server.address() as AddressInfo
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address
  return {
    url: `http://${host}:${bound.port}/`,
    update: progress => {
      // While the swarm stops, the statuses are gone: the page keeps showing the last ones it had.
      latest = progress.nodes.length > 0 && progress.nodes.some(n => n.status !== null)
        ? { phase: progress.phase, elapsedSeconds: progress.elapsedSeconds, nodes: progress.nodes, timeline: progress.timeline }
        : { ...latest, phase: progress.phase, timeline: progress.timeline }
    },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}
