import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { createRandom, deriveSeed } from '../data/random.js'
import { MurmurError } from '../errors.js'
import type { ScenarioAction } from '../swarm/scenario.js'

/**
 * When each node is online: churn from a real availability trace or from a generator of
 * smartphone-like sessions. A node is online during its sessions and offline between them.
 *
 * Trace files (docs/simulations.md, "Availability traces"):
 * - CSV with the header `device,online_from,online_to`, one session per line, times in seconds
 *   from the start of the run (decimals allowed), e.g. `phone-17,0,840.5`;
 * - JSON: `{ "sessions": [ { "device": "phone-17", "from": 0, "to": 840.5 }, ... ] }`.
 * A device is any label (a number, a hash). When every label is a node number (1 to N), device k is
 * node k, and nodes the trace does not name stay offline. Otherwise devices are dealt to nodes in the
 * order they first appear in the file; with more nodes than devices, node i follows device
 * ((i − 1) mod D) + 1.
 * Sessions of one device must not overlap. Sessions past the end of the run are cut at the end.
 */

/** One online session of one node, in virtual milliseconds. */
export interface Session {
  readonly node: number
  readonly from: number
  readonly to: number
}

export interface Availability {
  /** where the sessions came from: a file name or the generator's spec */
  readonly source: string
  readonly sessions: readonly Session[]
}

/** Most sessions a trace may hold: a bound on what a file can make the simulator allocate. */
export const MAX_TRACE_SESSIONS = 10_000_000

interface DeviceSession { readonly device: string; readonly from: number; readonly to: number }

function fail (source: string, problem: string): never {
  throw new MurmurError('ERR_INVALID_ARGUMENT', `availability trace ${source}: ${problem} (docs/simulations.md describes the format)`)
}

function seconds (value: unknown, source: string, where: string): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN
  if (!Number.isFinite(number) || number < 0) fail(source, `${where}: ${JSON.stringify(value)} is not a number of seconds ≥ 0`)
  return number
}

function parseCsv (text: string, source: string): DeviceSession[] {
  const lines = text.split(/\r?\n/).map(line => line.trim())
  const header = (lines[0] ?? '').split(',').map(cell => cell.trim().toLowerCase())
  if (header.join(',') !== 'device,online_from,online_to') fail(source, `the first line must be the header device,online_from,online_to, got ${JSON.stringify(lines[0] ?? '')}`)
  const sessions: DeviceSession[] = []
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index] as string
    if (line === '' || line.startsWith('#')) continue
    const cells = line.split(',').map(cell => cell.trim())
    if (cells.length !== 3 || cells[0] === '') fail(source, `line ${index + 1}: expected device,online_from,online_to, got ${JSON.stringify(line)}`)
    if (sessions.length >= MAX_TRACE_SESSIONS) fail(source, `more than ${MAX_TRACE_SESSIONS} sessions`)
    sessions.push({ device: cells[0] as string, from: seconds(cells[1], source, `line ${index + 1}`), to: seconds(cells[2], source, `line ${index + 1}`) })
  }
  return sessions
}

function parseJson (text: string, source: string): DeviceSession[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    fail(source, `not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  const list = typeof parsed === 'object' && parsed !== null ? (parsed as { sessions?: unknown }).sessions : undefined
  if (!Array.isArray(list)) fail(source, 'needs a "sessions" list')
  if (list.length > MAX_TRACE_SESSIONS) fail(source, `more than ${MAX_TRACE_SESSIONS} sessions`)
  return list.map((entry: unknown, index) => {
    const session = typeof entry === 'object' && entry !== null ? entry as Record<string, unknown> : fail(source, `sessions[${index}] is not an object`)
    const device = typeof session.device === 'string' || typeof session.device === 'number' ? String(session.device) : fail(source, `sessions[${index}].device must be a string or a number`)
    if (device === '') fail(source, `sessions[${index}].device is empty`)
    return { device, from: seconds(session.from, source, `sessions[${index}].from`), to: seconds(session.to, source, `sessions[${index}].to`) }
  })
}

/**
 * Reads a trace's text (format: 'csv' or 'json') into the sessions of `nodes` nodes over a run of
 * `durationMs`. Refuses malformed files, empty traces, sessions ending before they start and
 * overlapping sessions of one device, naming the line or entry.
 */
export function parseAvailabilityTrace (text: string, format: 'csv' | 'json', nodes: number, durationMs: number, source: string): Availability {
  const raw = format === 'csv' ? parseCsv(text, source) : parseJson(text, source)
  if (raw.length === 0) fail(source, 'holds no sessions')
  const byDevice = new Map<string, DeviceSession[]>()
  for (const [index, session] of raw.entries()) {
    if (!(session.to > session.from)) fail(source, `session ${index + 1} of device ${session.device} ends (${session.to} s) before it starts (${session.from} s)`)
    let list = byDevice.get(session.device)
    if (list === undefined) byDevice.set(session.device, list = [])
    list.push(session)
  }
  for (const [device, list] of byDevice) {
    list.sort((a, b) => a.from - b.from)
    for (let i = 1; i < list.length; i++) {
      const previous = list[i - 1] as DeviceSession
      const current = list[i] as DeviceSession
      if (current.from < previous.to) fail(source, `device ${device} has overlapping sessions ${previous.from}–${previous.to} s and ${current.from}–${current.to} s`)
    }
  }
  const labels = [...byDevice.keys()]
  const byNumber = labels.every(label => /^[1-9]\d*$/.test(label) && Number(label) <= nodes)
  const devices = [...byDevice.values()]
  const sessions: Session[] = []
  for (let node = 1; node <= nodes; node++) {
    const own = byNumber ? byDevice.get(String(node)) ?? [] : devices[(node - 1) % devices.length] as DeviceSession[]
    for (const session of own) {
      const from = Math.round(session.from * 1000)
      const to = Math.min(Math.round(session.to * 1000), durationMs)
      if (from < durationMs && to > from) sessions.push({ node, from, to })
    }
  }
  return { source, sessions }
}

/** Reads a trace file: .json is JSON, anything else CSV. */
export async function readAvailabilityTrace (file: string, nodes: number, durationMs: number): Promise<Availability> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `cannot read availability trace ${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
  return parseAvailabilityTrace(text, extname(file).toLowerCase() === '.json' ? 'json' : 'csv', nodes, durationMs, file)
}

/** The smartphone generator's settings: `smartphone[:ONLINE[:SESSION]]`. */
export interface SmartphoneChurn {
  /** long-run share of the time a phone is online, in (0, 1) */
  readonly online: number
  /** mean length of an online session, milliseconds */
  readonly meanSessionMs: number
}

export const DEFAULT_SMARTPHONE_CHURN: SmartphoneChurn = { online: 0.3, meanSessionMs: 300_000 }

/** Spread (σ of the logarithm) of session and gap lengths: heavy-tailed, as measured sessions are. */
const SESSION_SIGMA = 1

/** Parses `smartphone`, `smartphone:0.4` or `smartphone:0.4:10m`; null when `text` is not a generator spec. */
export function parseSmartphoneChurn (text: string): SmartphoneChurn | null {
  const [kind, online, session, ...rest] = text.trim().split(':')
  if (kind !== 'smartphone') return null
  const problem = (message: string): never => { throw new MurmurError('ERR_INVALID_ARGUMENT', `invalid churn "${text}": ${message}; write smartphone[:ONLINE[:SESSION]], e.g. smartphone:0.3:5m`) }
  if (rest.length > 0) problem('too many colons')
  const share = online === undefined ? DEFAULT_SMARTPHONE_CHURN.online : Number(online)
  if (!(share > 0 && share < 1)) problem('ONLINE must be a share between 0 and 1')
  let meanSessionMs = DEFAULT_SMARTPHONE_CHURN.meanSessionMs
  if (session !== undefined) {
    const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(session)
    if (match === null || !(Number(match[1]) > 0)) problem('SESSION must be a duration such as 300s or 5m')
    meanSessionMs = Number((match as RegExpExecArray)[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(match as RegExpExecArray)[2] as 's' | 'm' | 'h' | undefined ?? 's']
  }
  return { online: share, meanSessionMs }
}

export function formatSmartphoneChurn (churn: SmartphoneChurn): string {
  return `smartphone:${churn.online}:${churn.meanSessionMs / 1000}s`
}

/**
 * Smartphone-like availability: each phone alternates online sessions and offline gaps with
 * log-normal lengths (heavy tails: most sessions are short, a few last long), the gaps' mean set so
 * that a phone is online `online` of the time. A phone starts online with that probability, part-way
 * through its first session or gap. Drawn from the seed, one stream per node.
 */
export function smartphoneSessions (churn: SmartphoneChurn, nodes: number, durationMs: number, seed: number): Availability {
  const meanGapMs = churn.meanSessionMs * (1 - churn.online) / churn.online
  // A log-normal with σ has mean median·e^(σ²/2): choose medians that give the means asked for.
  const scale = Math.exp(-SESSION_SIGMA * SESSION_SIGMA / 2)
  const sessions: Session[] = []
  for (let node = 1; node <= nodes; node++) {
    const random = createRandom(deriveSeed(seed, node, 0x9b0e))
    const length = (mean: number): number => mean * scale * Math.exp(SESSION_SIGMA * random.normal())
    let online = random.next() < churn.online
    // Start part-way through the first period, so the phones do not all switch at once.
    let t = -random.next() * length(online ? churn.meanSessionMs : meanGapMs)
    while (t < durationMs) {
      const end = t + length(online ? churn.meanSessionMs : meanGapMs)
      if (online && end > 0) sessions.push({ node, from: Math.round(Math.max(0, t)), to: Math.round(Math.min(durationMs, end)) })
      t = end
      online = !online
    }
  }
  return { source: formatSmartphoneChurn(churn), sessions: sessions.filter(session => session.to > session.from) }
}

/** The sessions as a CSV trace file (the format parseAvailabilityTrace reads), devices named by node number. */
export function formatAvailabilityCsv (availability: Availability): string {
  return ['device,online_from,online_to', ...availability.sessions.map(session => `${session.node},${session.from / 1000},${session.to / 1000}`)].join('\n') + '\n'
}

/**
 * The scenario actions that play the sessions: a node whose first session starts at 0 is there from
 * the start; one whose first session starts later joins then (a fresh node, warm-joining); at the end
 * of a session the node leaves (a clean stop: a phone keeps its state), and it restarts from its
 * own checkpoint at its next session. Nodes with no session at all never start. Returns the actions
 * and the nodes held back at the start.
 */
export function availabilityActions (availability: Availability, nodes: number): { actions: ScenarioAction[]; heldBack: Set<number> } {
  const actions: ScenarioAction[] = []
  const seen = new Set<number>()
  const heldBack = new Set<number>(Array.from({ length: nodes }, (_, i) => i + 1))
  const sorted = [...availability.sessions].sort((a, b) => a.node - b.node || a.from - b.from)
  for (const session of sorted) {
    if (session.node < 1 || session.node > nodes) continue
    if (!seen.has(session.node)) {
      seen.add(session.node)
      if (session.from === 0) heldBack.delete(session.node)
      else actions.push({ atMs: session.from, kind: 'join', nodes: [session.node] })
    } else {
      actions.push({ atMs: session.from, kind: 'restart', nodes: [session.node] })
    }
    actions.push({ atMs: session.to, kind: 'leave', nodes: [session.node] })
  }
  actions.sort((a, b) => a.atMs - b.atMs)
  return { actions, heldBack }
}
