import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { createInterface } from 'node:readline'
import { MurmurError } from '../errors.js'
import { compiledModule } from '../paths.js'
import type { NodeStatus } from '../node/status.js'
import { readApiToken } from '../node/api-token.js'

export interface NodeProcessOptions {
  readonly index: number
  readonly manifestFile: string
  readonly dataSpec: string
  readonly datadir: string
  readonly listen: string
  readonly bootstrap: readonly string[]
  readonly backend?: string
  readonly maxCpu?: number
  readonly warmJoin?: boolean
  /** more `murmur start` flags, e.g. ['--checkpoint-interval', '1s'] */
  readonly extraArgs?: readonly string[]
  /** where the node's own output goes, line by line */
  readonly log: (line: string) => void
  /** run the node through this command, e.g. ['ip', 'netns', 'exec', NAME] (testbed) */
  readonly commandPrefix?: readonly string[]
  /** --api of the node (default 127.0.0.1:0) */
  readonly api?: string
  /** reach the node's API through this Unix socket (a bridge into its network namespace) instead of TCP */
  readonly apiSocket?: string
}

export interface ReadyLine {
  readonly peerId: string
  readonly multiaddrs: string[]
  readonly api: string
  /** the file holding the API token that PUT requests need */
  readonly apiTokenFile: string
  /** the browser node page's URL, with --web */
  readonly web?: string | null
  readonly backend: string
}

/**
 * Node.js flags of every node process. A small young generation for the main thread, which serves
 * libp2p and the API: V8 otherwise grows it to 3 × 16 MiB or more and keeps it resident, which is a
 * fifth of an MLP node's memory (the training worker limits its own, see worker-trainer.ts). An
 * operator can give `murmur start` the same with NODE_OPTIONS (docs/deployment.md).
 */
export const NODE_PROCESS_FLAGS: readonly string[] = ['--max-semi-space-size=2']

/** Node processes still running: they are detached, so they must not outlive a launcher that exits. */
const running = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/**
 * One swarm node as its own OS process running `murmur start`: the very command an operator runs,
 * so a simulation exercises the same code as a deployment.
 */
export class NodeProcess {
  readonly index: number
  readonly child: ChildProcess
  private readonly exited: Promise<number | null>
  ready: ReadyLine | null = null
  private readonly apiSocket: string | undefined

  private constructor (index: number, child: ChildProcess, apiSocket?: string) {
    this.index = index
    this.child = child
    this.apiSocket = apiSocket
    this.exited = new Promise(resolve => { child.once('exit', code => { resolve(code) }) })
  }

  static async start (options: NodeProcessOptions, signal?: AbortSignal): Promise<NodeProcess> {
    const args = [
      ...NODE_PROCESS_FLAGS,
      compiledModule('cli/index.js'), 'start',
      '--manifest', options.manifestFile,
      '--data', options.dataSpec,
      '--datadir', options.datadir,
      '--listen', options.listen,
      '--api', options.api ?? '127.0.0.1:0',
      '--no-mdns',
      '--log-format', 'json',
      ...(options.backend === undefined ? [] : ['--backend', options.backend]),
      ...(options.maxCpu === undefined ? [] : ['--max-cpu', String(options.maxCpu)]),
      ...(options.warmJoin === false ? ['--no-warm-join'] : []),
      ...options.bootstrap.flatMap(address => ['--bootstrap', address]),
      ...(options.extraArgs ?? [])
    ]
    // Its own process group: a Ctrl-C meant for the launcher must not reach the nodes before the
    // launcher stops them properly (final checkpoints).
    const [command, ...prefix] = [...(options.commandPrefix ?? []), process.execPath]
    const child = spawn(command, [...prefix, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    running.add(child)
    child.once('exit', () => { running.delete(child) })
    const node = new NodeProcess(options.index, child, options.apiSocket)
    const errors: string[] = []
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', line => { errors.push(line); options.log(line) })
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        child.kill('SIGKILL')
        reject(new MurmurError('ERR_SWARM', `start of node ${options.index} was aborted`))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', line => {
        let event: { event?: string } & Partial<ReadyLine>
        try {
          event = JSON.parse(line) as typeof event
        } catch {
          options.log(line)
          return
        }
        if (event.event === 'ready' && node.ready === null) {
          node.ready = { peerId: event.peerId ?? '', multiaddrs: event.multiaddrs ?? [], api: event.api ?? '', apiTokenFile: event.apiTokenFile ?? '', backend: event.backend ?? '', web: event.web ?? null }
          signal?.removeEventListener('abort', onAbort)
          resolve()
        }
      })
      void node.exited.then(code => {
        reject(new MurmurError('ERR_SWARM', `node ${options.index} exited during start-up (code ${code}): ${errors.slice(-3).join(' | ')}`))
      })
    })
    return node
  }

  private async fetch (path: string, signal?: AbortSignal): Promise<Response | null> {
    if (this.ready === null) return null
    if (this.apiSocket !== undefined) return fetchOverSocket(this.apiSocket, this.ready.api, path, signal ?? AbortSignal.timeout(5_000))
    try {
      const response = await fetch(`http://${this.ready.api}${path}`, { signal: signal ?? AbortSignal.timeout(5_000) })
      return response.ok ? response : null
    } catch {
      return null
    }
  }

  // A busy node may answer late: the timeout can fire while the body is read, so reading is guarded too.
  async status (): Promise<NodeStatus | null> {
    const response = await this.fetch('/status')
    return response === null ? null : await (response.json() as Promise<NodeStatus>).catch(() => null)
  }

  async model (): Promise<Uint8Array | null> {
    const response = await this.fetch('/model')
    return response === null ? null : await response.arrayBuffer().then(body => new Uint8Array(body), () => null)
  }

  /** Replaces the peers this node refuses to connect to (a partition); [] heals it. */
  async setBlockedPeers (peers: readonly string[]): Promise<void> {
    if (this.ready === null || this.child.exitCode !== null) return
    if (this.apiSocket !== undefined) throw new MurmurError('ERR_SWARM', 'blocked peers are set over TCP APIs only')
    // The node's API wants its token for any change; it is in the node's datadir (murmur start wrote it).
    const token = await readApiToken(this.ready.apiTokenFile)
    const response = await fetch(`http://${this.ready.api}/blocked-peers`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(peers), signal: AbortSignal.timeout(10_000) })
    if (!response.ok) throw new MurmurError('ERR_SWARM', `node ${this.index} refused the blocked peers: ${await response.text()}`)
  }

  /** SIGKILL: a crash at an arbitrary moment, with no final checkpoint. */
  async kill (): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode
    this.child.kill('SIGKILL')
    return this.exited
  }

  /** SIGTERM, then SIGKILL if the node has not finished its final checkpoint in time. */
  async stop (graceMs = 30_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, graceMs)
    const code = await this.exited
    clearTimeout(timer)
    return code
  }
}

/** GET over a Unix socket (with the Host header the API expects), answered as a fetch Response (null when it fails or is not 200). */
function fetchOverSocket (socketPath: string, host: string, path: string, signal: AbortSignal): Promise<Response | null> {
  return new Promise(resolve => {
    const call = request({ socketPath, path, method: 'GET', headers: { host }, signal }, answer => {
      const chunks: Buffer[] = []
      answer.on('data', (chunk: Buffer) => { chunks.push(chunk) })
      answer.on('end', () => { resolve(answer.statusCode === 200 ? new Response(Buffer.concat(chunks), { status: 200 }) : null) })
      answer.on('error', () => { resolve(null) })
    })
    call.on('error', () => { resolve(null) })
    call.end()
  })
}
