import { readFile } from 'node:fs/promises'
import { MurmurError } from '../errors.js'
import { durationMs } from '../swarm/scenario.js'

/**
 * A testbed topology file (simulations/nat.json and others): an internet segment with public nodes,
 * home networks behind NAT routers, rate caps per home link, and events over time. Nodes are numbered
 * from 1: the public nodes first, then each home's nodes in order. Times are durations from the start
 * of training ("30s", "2m", or seconds).
 */
export interface TopologyFile {
  readonly name: string
  readonly description?: string
  /** defaults for `murmur testbed`; flags given on the command line win */
  readonly swarm?: {
    readonly duration?: string | number
    readonly dataset?: string
    readonly model?: string
    readonly partition?: string
    readonly seed?: number
    readonly localSteps?: number
    readonly codec?: string
    readonly fanout?: number
  }
  /** nodes on the internet segment, reachable by everyone */
  readonly public: number
  readonly homes: ReadonlyArray<{
    readonly nodes: number
    /** rate cap of the home's uplink (router to internet), e.g. "1mbit" */
    readonly uplink?: string
    /** rate cap of the home's downlink (router to its LAN) */
    readonly downlink?: string
  }>
  /** the public nodes every other node is given as --bootstrap (default [1]) */
  readonly bootstrap?: readonly number[]
  readonly events?: readonly TopologyEvent[]
}

export type TopologyEvent =
  /** kill: SIGKILL; join: start a node that was not started at the beginning; restart: start a killed one */
  | { readonly at: string | number; readonly kind: 'kill' | 'join' | 'restart'; readonly nodes: readonly number[] }
  /** cut takes a home's uplink down, restore brings it back */
  | { readonly at: string | number; readonly kind: 'cut' | 'restore'; readonly home: number }
  /** cap sets a home's uplink rate; rate null removes the cap */
  | { readonly at: string | number; readonly kind: 'cap'; readonly home: number; readonly rate: string | null }

export type TestbedAction =
  | { readonly atMs: number; readonly kind: 'kill' | 'join' | 'restart'; readonly nodes: readonly number[] }
  | { readonly atMs: number; readonly kind: 'cut' | 'restore'; readonly home: number }
  | { readonly atMs: number; readonly kind: 'cap'; readonly home: number; readonly rate: string | null }

export interface Topology {
  readonly name: string
  readonly description: string
  readonly swarm: NonNullable<TopologyFile['swarm']>
  readonly publicNodes: number
  readonly homes: ReadonlyArray<{ readonly nodes: number; readonly uplink: string | null; readonly downlink: string | null }>
  readonly bootstrap: readonly number[]
  /** sorted by time */
  readonly actions: readonly TestbedAction[]
  /** nodes that start only with a join action */
  readonly lateJoiners: ReadonlySet<number>
  readonly nodeCount: number
}

/** Most namespaces a topology may ask for: each node is a process training a model. */
const MAX_NODES = 64
const MAX_HOMES = 32

function fail (source: string, message: string): never {
  throw new MurmurError('ERR_INVALID_ARGUMENT', `topology ${source}: ${message}`)
}

/** A tc rate such as 512kbit, 1mbit, 2.5mbit. */
export function parseRate (value: unknown, source: string, field: string): string {
  if (typeof value !== 'string' || !/^\d+(\.\d+)?(kbit|mbit|gbit)$/.test(value)) fail(source, `${field} must be a rate such as "512kbit" or "1mbit", got ${JSON.stringify(value)}`)
  return value
}

function count (value: unknown, min: number, max: number, source: string, field: string): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) fail(source, `${field} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`)
  return value as number
}

/** Checks a topology file and turns its events into timed actions. */
export function planTopology (file: TopologyFile, source = file.name): Topology {
  if (typeof file !== 'object' || file === null) fail(source, 'must be a JSON object')
  const publicNodes = count(file.public, 1, MAX_NODES, source, 'public')
  const given: TopologyFile['homes'] = Array.isArray(file.homes) ? file.homes : fail(source, 'homes must be a list of { "nodes": N, "uplink"?: RATE }')
  if (given.length > MAX_HOMES) fail(source, `at most ${MAX_HOMES} homes`)
  const homes = given.map((home, i) => ({
    nodes: count(home?.nodes, 1, MAX_NODES, source, `homes[${i}].nodes`),
    uplink: home.uplink === undefined ? null : parseRate(home.uplink, source, `homes[${i}].uplink`),
    downlink: home.downlink === undefined ? null : parseRate(home.downlink, source, `homes[${i}].downlink`)
  }))
  const nodeCount = publicNodes + homes.reduce((total, home) => total + home.nodes, 0)
  if (nodeCount > MAX_NODES) fail(source, `at most ${MAX_NODES} nodes in all, got ${nodeCount}`)
  const bootstrap: readonly number[] = file.bootstrap ?? [1]
  const validBootstrap = Array.isArray(bootstrap) && bootstrap.length > 0 && bootstrap.every(n => Number.isInteger(n) && n >= 1 && n <= publicNodes)
  if (!validBootstrap) {
    fail(source, `bootstrap must list public node numbers (1 to ${publicNodes})`)
  }
  const nodes = (value: unknown, field: string): number[] => {
    if (!Array.isArray(value) || value.length === 0 || !value.every(n => Number.isInteger(n) && n >= 1 && n <= nodeCount)) {
      fail(source, `${field} must be a non-empty list of node numbers from 1 to ${nodeCount}`)
    }
    return value as number[]
  }
  const actions = (file.events ?? []).map((event, i): TestbedAction => {
    const field = `events[${i}]`
    const atMs = durationMs(event.at, source, `${field}.at`)
    switch (event.kind) {
      case 'kill':
      case 'join':
      case 'restart':
        return { atMs, kind: event.kind, nodes: nodes(event.nodes, `${field}.nodes`) }
      case 'cut':
      case 'restore':
        return { atMs, kind: event.kind, home: count(event.home, 1, homes.length, source, `${field}.home`) }
      case 'cap':
        return { atMs, kind: 'cap', home: count(event.home, 1, homes.length, source, `${field}.home`), rate: event.rate === null ? null : parseRate(event.rate, source, `${field}.rate`) }
      default:
        return fail(source, `${field}.kind must be kill, join, restart, cut, restore or cap`)
    }
  }).sort((a, b) => a.atMs - b.atMs)
  const lateJoiners = new Set<number>(actions.flatMap(action => action.kind === 'join' ? action.nodes : []))
  for (const index of bootstrap) if (lateJoiners.has(Number(index))) fail(source, `bootstrap node ${String(index)} cannot join late`)
  return {
    name: file.name ?? source,
    description: file.description ?? '',
    swarm: file.swarm ?? {},
    publicNodes,
    homes,
    bootstrap,
    actions,
    lateJoiners,
    nodeCount
  }
}

export async function readTopologyFile (file: string): Promise<TopologyFile> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `cannot read topology ${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
  try {
    return JSON.parse(text) as TopologyFile
  } catch (error) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `topology ${file} is not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
}
