import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'
import { tokenMatches } from './api-token.js'

/**
 * The checks every request to the local API passes before any route sees it:
 * - Host must name this API: localhost, a loopback address, or the address the API listens on (any
 *   of the machine's addresses when it listens on all of them). A web page cannot reach the API by
 *   DNS rebinding (a name of the attacker's that resolves to 127.0.0.1), because its requests then
 *   carry the attacker's name as Host. Refused with 421.
 * - Origin, when a browser sends one, must be the API itself (http://HOST:PORT as above): a page
 *   from any other site or local port is refused with 403.
 * - Every method but GET and HEAD changes the node, and needs `Authorization: Bearer TOKEN` with the
 *   node's token (api-token.ts); refused with 401.
 */
export interface ApiGuardInit {
  /** the address the API listens on (IPv6 without brackets) */
  readonly host: string
  readonly port: number
  /** the bearer token state-changing requests need; null refuses them all */
  readonly token: string | null
  /** where a client finds the token, for the refusal message (e.g. the api-token file) */
  readonly tokenSource?: string
  /** the machine's addresses, accepted as Host when the API listens on all of them (default: os.networkInterfaces) */
  readonly interfaceAddresses?: () => readonly string[]
}

export interface ApiRefusal {
  readonly status: number
  /** a stable code for programs: forbidden-host, forbidden-origin, missing-token, invalid-token */
  readonly error: string
  readonly message: string
  readonly headers?: Readonly<Record<string, string>>
}

export type ApiGuard = (request: IncomingMessage) => ApiRefusal | null

/** Lower case, no brackets, no trailing dot: how hosts are compared. */
function normalise (host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '')
}

/** Whether a host name or address stays on this machine: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost (host: string): boolean {
  const name = normalise(host)
  if (name === 'localhost' || name === '::1') return true
  const v4 = name.startsWith('::ffff:') ? name.slice('::ffff:'.length) : name
  return isIP(v4) === 4 && v4.startsWith('127.')
}

function isWildcard (host: string): boolean {
  const name = normalise(host)
  return name === '0.0.0.0' || name === '::'
}

/**
 * A warning for an API listening beyond loopback, or null: others on the network can then read the
 * node's status and model (changes still need the token).
 */
export function exposureWarning (host: string, port: number): string | null {
  if (isLoopbackHost(host)) return null
  const shown = isIP(normalise(host)) === 6 ? `[${normalise(host)}]:${port}` : `${host}:${port}`
  return `the local API listens on ${shown}, beyond loopback: anyone who can reach it can read this node's status, metrics and model (changes still need the API token); use --api 127.0.0.1:${port} unless that is what you want, and firewall it`
}

const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/

/** The host part of a Host header, or null when it is not a plain host[:port]. */
function hostOf (header: string): string | null {
  if (!HOST_HEADER.test(header)) return null
  try {
    return normalise(new URL(`http://${header}`).hostname)
  } catch {
    return null
  }
}

function defaultInterfaceAddresses (): string[] {
  return Object.values(networkInterfaces()).flatMap(entries => (entries ?? []).map(entry => entry.address))
}

export function createApiGuard (init: ApiGuardInit): ApiGuard {
  const bound = normalise(init.host)
  const interfaces = init.interfaceAddresses ?? defaultInterfaceAddresses
  const allowed = (host: string): boolean =>
    isLoopbackHost(host) || (isWildcard(bound) ? interfaces().some(address => normalise(address) === host) : host === bound)
  const shownAddress = `${isIP(bound) === 6 ? `[${bound}]` : bound}:${init.port}`
  const tokenSource = init.tokenSource ?? 'the node\'s api-token file'

  return request => {
    const hostHeader = request.headers.host ?? ''
    const host = hostOf(hostHeader)
    if (host === null || !allowed(host)) {
      return {
        status: 421,
        error: 'forbidden-host',
        message: `Host "${hostHeader}" does not name this node's API; it answers only to localhost, loopback addresses and ${shownAddress} (a guard against DNS rebinding)`
      }
    }
    const origin = request.headers.origin
    if (origin !== undefined) {
      let accepted = false
      try {
        const url = new URL(origin)
        accepted = url.protocol === 'http:' && allowed(normalise(url.hostname)) && (url.port === '' ? 80 : Number(url.port)) === init.port
      } catch {
        accepted = false
      }
      if (!accepted) {
        return { status: 403, error: 'forbidden-origin', message: `requests from pages of ${origin} are refused: only pages this API serves itself (http://${shownAddress}) may call it` }
      }
    }
    if (request.method === 'GET' || request.method === 'HEAD') return null
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1]
    const challenge = { 'www-authenticate': 'Bearer realm="murmur"' }
    if (init.token === null) {
      return { status: 401, error: 'missing-token', message: `${request.method ?? ''} requests change the node and need a token, and this API has none: they are all refused`, headers: challenge }
    }
    if (presented === undefined) {
      return { status: 401, error: 'missing-token', message: `${request.method ?? ''} requests change the node: send "Authorization: Bearer TOKEN" with the token in ${tokenSource}`, headers: challenge }
    }
    if (!tokenMatches(init.token, presented)) {
      return { status: 401, error: 'invalid-token', message: `wrong API token: use the one in ${tokenSource} (the node makes a new one at every start)`, headers: challenge }
    }
    return null
  }
}
