import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { MurmurError } from '../errors.js'
import type { Topology } from './topology.js'

/**
 * The emulated network of a testbed, built from Linux network namespaces: one "internet" namespace
 * with a bridge, one namespace per public node on it, and per home a NAT router namespace
 * (iptables MASQUERADE, unsolicited inbound dropped) with its own LAN bridge and one namespace per
 * node behind it. Rate caps are tc tbf on the router's links. Every name starts with a per-run prefix
 * (mtb + 4 hex digits), so teardown and `murmur testbed --cleanup` remove exactly what a run made.
 * Addresses (10.77.0.0/16 outside, 192.168.H.0/24 in home H) exist only inside these namespaces: no
 * namespace has a route to the host's own networks.
 */
export const NAMESPACE_PREFIX = 'mtb'
const NAMESPACE_PATTERN = /^mtb[0-9a-f]{4}-/
const INTERNET_PREFIX = '10.77'

export interface NodeHost {
  /** node number (public nodes first, then the homes' nodes) */
  readonly index: number
  readonly namespace: string
  /** the node's own address (a LAN address behind NAT) */
  readonly address: string
  /** home number, or null for a public node */
  readonly home: number | null
}

export interface NetworkPlan {
  readonly prefix: string
  readonly internet: string
  readonly nodes: readonly NodeHost[]
  readonly routers: ReadonlyArray<{ readonly home: number; readonly namespace: string; readonly wanAddress: string; readonly lan: string }>
}

/** Names and addresses for a topology, with a fresh prefix. */
export function planNetwork (topology: Topology, prefix = `${NAMESPACE_PREFIX}${randomBytes(2).toString('hex')}`): NetworkPlan {
  const nodes: NodeHost[] = []
  for (let i = 1; i <= topology.publicNodes; i++) {
    nodes.push({ index: i, namespace: `${prefix}-pub${i}`, address: `${INTERNET_PREFIX}.0.${9 + i}`, home: null })
  }
  const routers = topology.homes.map((home, h) => {
    const number = h + 1
    for (let j = 1; j <= home.nodes; j++) {
      nodes.push({ index: nodes.length + 1, namespace: `${prefix}-h${number}n${j}`, address: `192.168.${number}.${9 + j}`, home: number })
    }
    return { home: number, namespace: `${prefix}-r${number}`, wanAddress: `${INTERNET_PREFIX}.1.${number}`, lan: `192.168.${number}.1` }
  })
  return { prefix, internet: `${prefix}-inet`, nodes, routers }
}

function run (command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim() ?? ''
    throw new MurmurError('ERR_TESTBED', `${command} ${args.join(' ')} failed: ${stderr === '' ? (error instanceof Error ? error.message : String(error)) : stderr}`)
  }
}

const ip = (...args: string[]): string => run('ip', args)
const inNamespace = (namespace: string, ...command: string[]): string => run('ip', ['netns', 'exec', namespace, ...command])

/** What the testbed needs from the machine: root, ip, tc and iptables. Throws a clear error otherwise. */
export function checkTestbedRequirements (): void {
  if (process.getuid?.() !== 0) {
    throw new MurmurError('ERR_TESTBED', 'murmur testbed needs root: it creates network namespaces, veth links, NAT rules and rate caps (run it as root, e.g. with sudo)')
  }
  for (const [tool, hint] of [['ip', 'iproute2'], ['tc', 'iproute2'], ['iptables', 'iptables']] as const) {
    try {
      execFileSync(tool, tool === 'ip' ? ['-V'] : tool === 'tc' ? ['-V'] : ['--version'], { stdio: 'ignore' })
    } catch {
      throw new MurmurError('ERR_TESTBED', `murmur testbed needs ${tool} (Debian package ${hint}: apt-get install -y ${hint})`)
    }
  }
}

/** A tbf rate cap: the burst is at least what 20 ms at that rate carry, and at least 16 KiB. */
function setCap (namespace: string, device: string, rate: string | null): void {
  if (rate === null) {
    try { ip('-n', namespace, 'qdisc', 'del', 'dev', device, 'root') } catch { /* no cap to remove */ }
    return
  }
  run('tc', ['-n', namespace, 'qdisc', 'replace', 'dev', device, 'root', 'tbf', 'rate', rate, 'burst', '32kb', 'latency', '400ms'])
}

/** A running emulated network. */
export class Network {
  private torn = false

  private constructor (readonly plan: NetworkPlan) {}

  /** Builds every namespace, link, address, NAT rule and cap of the plan; on failure removes what it made. */
  static build (plan: NetworkPlan, topology: Topology): Network {
    const network = new Network(plan)
    try {
      network.create(topology)
    } catch (error) {
      network.teardown()
      throw error
    }
    return network
  }

  private create (topology: Topology): void {
    const { plan } = this
    const all = [plan.internet, ...plan.routers.map(router => router.namespace), ...plan.nodes.map(node => node.namespace)]
    for (const namespace of all) {
      ip('netns', 'add', namespace)
      ip('-n', namespace, 'link', 'set', 'lo', 'up')
    }
    ip('-n', plan.internet, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', plan.internet, 'link', 'set', 'br0', 'up')
    const attach = (outer: string, bridge: string, port: string, inner: string, device: string): void => {
      ip('-n', outer, 'link', 'add', port, 'type', 'veth', 'peer', 'name', device, 'netns', inner)
      ip('-n', outer, 'link', 'set', port, 'master', bridge)
      ip('-n', outer, 'link', 'set', port, 'up')
      ip('-n', inner, 'link', 'set', device, 'up')
    }
    for (const node of plan.nodes.filter(n => n.home === null)) {
      attach(plan.internet, 'br0', `p${node.index}`, node.namespace, 'eth0')
      ip('-n', node.namespace, 'addr', 'add', `${node.address}/16`, 'dev', 'eth0')
    }
    for (const router of plan.routers) {
      attach(plan.internet, 'br0', `r${router.home}`, router.namespace, 'wan')
      ip('-n', router.namespace, 'addr', 'add', `${router.wanAddress}/16`, 'dev', 'wan')
      ip('-n', router.namespace, 'link', 'add', 'lan', 'type', 'bridge')
      ip('-n', router.namespace, 'link', 'set', 'lan', 'up')
      ip('-n', router.namespace, 'addr', 'add', `${router.lan}/24`, 'dev', 'lan')
      inNamespace(router.namespace, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1')
      // A home router: LAN traffic leaves with the router's address; nothing from outside gets in unasked.
      inNamespace(router.namespace, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE')
      inNamespace(router.namespace, 'iptables', '-A', 'FORWARD', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
      inNamespace(router.namespace, 'iptables', '-A', 'FORWARD', '-i', 'wan', '-j', 'DROP')
      for (const node of plan.nodes.filter(n => n.home === router.home)) {
        attach(router.namespace, 'lan', `n${node.index}`, node.namespace, 'eth0')
        ip('-n', node.namespace, 'addr', 'add', `${node.address}/24`, 'dev', 'eth0')
        ip('-n', node.namespace, 'route', 'add', 'default', 'via', router.lan)
      }
      const home = topology.homes[router.home - 1]
      if (home?.uplink != null) setCap(router.namespace, 'wan', home.uplink)
      if (home?.downlink != null) setCap(router.namespace, 'lan', home.downlink)
    }
  }

  private router (home: number): string {
    const router = this.plan.routers.find(r => r.home === home)
    if (router === undefined) throw new MurmurError('ERR_TESTBED', `no home ${home}`)
    return router.namespace
  }

  /** Takes a home's uplink down: its nodes lose every peer outside the home. */
  cut (home: number): void {
    ip('-n', this.router(home), 'link', 'set', 'wan', 'down')
  }

  restore (home: number): void {
    ip('-n', this.router(home), 'link', 'set', 'wan', 'up')
  }

  /** Caps a home's uplink at a rate (tc tbf), or removes the cap (null). */
  cap (home: number, rate: string | null): void {
    setCap(this.router(home), 'wan', rate)
  }

  /** Removes every namespace of this run (and so every link, rule and cap in them). Safe to call twice. */
  teardown (): void {
    if (this.torn) return
    this.torn = true
    removeNamespaces(name => name.startsWith(`${this.plan.prefix}-`))
  }
}

/** Names of the network namespaces that exist now. */
function namespaces (): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map(line => line.split(' ')[0] ?? '').filter(name => name !== '')
  } catch {
    return []
  }
}

/** Kills what still runs in each matching namespace, then deletes it. Returns the names removed. */
export function removeNamespaces (matches: (name: string) => boolean): string[] {
  const removed: string[] = []
  for (const name of namespaces().filter(matches)) {
    try {
      const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).split('\n').filter(pid => /^\d+$/.test(pid))
      for (const pid of pids) {
        try { process.kill(Number(pid), 'SIGKILL') } catch { /* already gone */ }
      }
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' })
      removed.push(name)
    } catch {
      // Still busy or already gone: `murmur testbed --cleanup` can be run again.
    }
  }
  return removed
}

/** `murmur testbed --cleanup`: removes the namespaces of every testbed run, e.g. after a power cut. */
export function removeAllTestbedNamespaces (): string[] {
  return removeNamespaces(name => NAMESPACE_PATTERN.test(name))
}
