import { readFile } from 'node:fs/promises'
import { createRandom } from '../data/random.js'
import { MurmurError } from '../errors.js'
import { ATTACKS, type Attack } from '../attacks/attack.js'

/**
 * A scenario file (simulations/*.json): the swarm's defaults and what happens to it over time.
 * Times are durations from the start of training ("30s", "2m", or a number of seconds).
 */
export interface ScenarioFile {
  readonly name: string
  readonly description?: string
  /** defaults for `murmur swarm`; flags given on the command line win */
  readonly swarm?: {
    readonly nodes?: number
    readonly duration?: string | number
    readonly dataset?: string
    readonly model?: string
    readonly partition?: string
    readonly seed?: number
    readonly profiles?: string
    readonly localSteps?: number
    readonly algorithm?: string
    readonly codec?: string
    readonly merge?: string
    readonly fanout?: number
    /** push or broadcast */
    readonly exchange?: string
  }
  readonly events: readonly ScenarioEventSpec[]
}

export type ScenarioEventSpec =
  | { readonly at: string | number; readonly kind: 'kill' | 'restart' | 'leave' | 'join'; readonly nodes: readonly number[] }
  | { readonly at: string | number; readonly kind: 'partition'; readonly groups: readonly (readonly number[])[] | number }
  | { readonly at: string | number; readonly kind: 'heal' }
  /** the nodes turn attacker (simulation): from the start when at is 0, else they restart as attackers */
  | { readonly at: string | number; readonly kind: 'attack'; readonly nodes: readonly number[]; readonly attack: Attack }
  | { readonly kind: 'churn'; readonly fraction: number; readonly from: string | number; readonly to: string | number; readonly downtime: readonly [string | number, string | number] }

/** One concrete thing the launcher does at a given time. */
export type ScenarioAction =
  | { readonly atMs: number; readonly kind: 'kill' | 'restart' | 'leave' | 'join'; readonly nodes: readonly number[] }
  | { readonly atMs: number; readonly kind: 'partition'; readonly groups: readonly (readonly number[])[] }
  | { readonly atMs: number; readonly kind: 'heal' }
  | { readonly atMs: number; readonly kind: 'attack'; readonly nodes: readonly number[]; readonly attack: Attack }

export interface Scenario {
  readonly name: string
  readonly description: string
  readonly swarm: NonNullable<ScenarioFile['swarm']>
  /** sorted by time */
  readonly actions: readonly ScenarioAction[]
  /** nodes that only start with a join action */
  readonly lateJoiners: ReadonlySet<number>
}

/** The attack a node runs from the start of the swarm, if the scenario makes it an attacker at 0 s; null otherwise. */
export function attackFromStart (scenario: Scenario | undefined, index: number): Attack | null {
  for (const action of scenario?.actions ?? []) {
    if (action.kind === 'attack' && action.atMs === 0 && action.nodes.includes(index)) return action.attack
  }
  return null
}

function fail (source: string, message: string): never {
  throw new MurmurError('ERR_INVALID_ARGUMENT', `scenario ${source}: ${message}`)
}

/** "30s", "1.5m", "500ms" or a number of seconds, in milliseconds. */
export function durationMs (value: unknown, source: string, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value * 1000
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim()) : null
  if (match === null) fail(source, `${field} must be a duration such as "30s", "2m" or a number of seconds, got ${JSON.stringify(value)}`)
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | undefined ?? 's']
  return Number(match[1]) * scale
}

function nodeList (value: unknown, nodes: number, source: string, field: string): number[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every(n => Number.isInteger(n) && n >= 1 && n <= nodes)) {
    fail(source, `${field} must be a non-empty list of node numbers from 1 to ${nodes}, got ${JSON.stringify(value)}`)
  }
  return value as number[]
}

/** Cuts nodes 1..N into `count` contiguous groups of near-equal size. */
export function splitIntoGroups (nodes: number, count: number): number[][] {
  return Array.from({ length: count }, (_, group) => {
    const start = Math.floor(group * nodes / count)
    const end = Math.floor((group + 1) * nodes / count)
    return Array.from({ length: end - start }, (_, i) => start + i + 1)
  })
}

/**
 * Turns a scenario file into a timed list of actions for a swarm of `nodes` nodes; random churn is
 * drawn from `seed`, so a scenario replays the same way with the same seed.
 */
export function planScenario (file: ScenarioFile, nodes: number, seed: number, source = file.name): Scenario {
  if (typeof file.name !== 'string' || file.name === '') fail(source, 'needs a "name"')
  const events: unknown = file.events
  if (!Array.isArray(events)) fail(source, 'needs an "events" list (it may be empty)')
  const actions: ScenarioAction[] = []
  const random = createRandom((seed ^ 0x5ce7a) >>> 0)
  for (const [index, event] of (events as ScenarioEventSpec[]).entries()) {
    const field = `events[${index}]`
    switch (event.kind) {
      case 'kill': case 'restart': case 'leave': case 'join':
        actions.push({ atMs: durationMs(event.at, source, `${field}.at`), kind: event.kind, nodes: nodeList(event.nodes, nodes, source, `${field}.nodes`) })
        break
      case 'partition': {
        const groups = typeof event.groups === 'number'
          ? (Number.isInteger(event.groups) && event.groups >= 2 && event.groups <= nodes ? splitIntoGroups(nodes, event.groups) : fail(source, `${field}.groups must be 2 to ${nodes} groups`))
          : Array.isArray(event.groups) ? (event.groups as unknown[]).map((group, g) => nodeList(group, nodes, source, `${field}.groups[${g}]`)) : fail(source, `${field}.groups must be a number of groups or a list of node lists`)
        actions.push({ atMs: durationMs(event.at, source, `${field}.at`), kind: 'partition', groups })
        break
      }
      case 'heal':
        actions.push({ atMs: durationMs(event.at, source, `${field}.at`), kind: 'heal' })
        break
      case 'attack':
        if (!(ATTACKS as readonly string[]).includes(event.attack)) fail(source, `${field}.attack must be one of ${ATTACKS.join(', ')}, got ${JSON.stringify(event.attack)}`)
        actions.push({ atMs: durationMs(event.at, source, `${field}.at`), kind: 'attack', nodes: nodeList(event.nodes, nodes, source, `${field}.nodes`), attack: event.attack })
        break
      case 'churn': {
        if (!(typeof event.fraction === 'number' && event.fraction > 0 && event.fraction <= 1)) fail(source, `${field}.fraction must be in (0, 1]`)
        const from = durationMs(event.from, source, `${field}.from`)
        const to = durationMs(event.to, source, `${field}.to`)
        if (!Array.isArray(event.downtime) || event.downtime.length !== 2) fail(source, `${field}.downtime must be [shortest, longest], e.g. ["5s", "15s"]`)
        const shortest = durationMs(event.downtime[0], source, `${field}.downtime[0]`)
        const longest = durationMs(event.downtime[1], source, `${field}.downtime[1]`)
        if (!(to > from) || !(longest >= shortest)) fail(source, `${field} needs from < to and shortest ≤ longest downtime`)
        const victims = random.shuffle(Array.from({ length: nodes }, (_, i) => i + 1)).slice(0, Math.max(1, Math.round(event.fraction * nodes)))
        for (const node of victims.sort((a, b) => a - b)) {
          const killAt = from + random.next() * (to - from)
          actions.push({ atMs: Math.round(killAt), kind: 'kill', nodes: [node] })
          actions.push({ atMs: Math.round(killAt + shortest + random.next() * (longest - shortest)), kind: 'restart', nodes: [node] })
        }
        break
      }
      default:
        fail(source, `${field}.kind must be one of kill, restart, leave, join, partition, heal, attack, churn; got ${JSON.stringify((event as { kind?: unknown }).kind)}`)
    }
  }
  actions.sort((a, b) => a.atMs - b.atMs)
  const lateJoiners = new Set(actions.flatMap(action => action.kind === 'join' ? action.nodes : []))
  return { name: file.name, description: file.description ?? '', swarm: file.swarm ?? {}, actions, lateJoiners }
}

export async function readScenarioFile (file: string): Promise<ScenarioFile> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `cannot read scenario ${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
  try {
    return JSON.parse(text) as ScenarioFile
  } catch (error) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `scenario ${file} is not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
}
