import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect } from 'vitest'
import { eventLabel, renderReport, scriptJson, writeReport } from '../src/swarm/report.js'
import type { NodeSummary, SwarmSummary } from '../src/swarm/summary.js'

const HOSTILE = '</script><b>'

function node(index: number, accuracy: number | null, extra: Partial<NodeSummary> = {}): NodeSummary {
  return {
    index,
    peerId: `12D3KooWpeer${index}`,
    role: 'honest',
    alive: true,
    dataSpec: `mnist:shard:${index}/6`,
    profile: index % 2 === 0 ? 'fast' : 'slow',
    maxCpu: index % 2 === 0 ? 1 : 0.2,
    accuracy,
    samplesProcessed: 12_000 + index * 100,
    step: 375,
    exchanges: 40,
    updatesReceived: 80,
    updatesAccepted: 78,
    updatesRejected: 2,
    rejectedByReason: { stale: 2 },
    bytesSent: 4_200_000,
    bytesReceived: 4_100_000,
    restarts: 0,
    sendsDropped: 0,
    sendsFailed: 1,
    peakRssBytes: 200_000_000,
    privacyEpsilon: null,
    epsilon: null,
    eventLoopLagP99Ms: 3,
    fanout: 3,
    ...extra
  }
}

function syntheticSummary(): SwarmSummary {
  const timeline = Array.from({ length: 13 }, (_, i) => {
    const t = i * 5
    const live = t >= 20 && t < 40 ? 4 : 6
    const mean = 0.1 + 0.8 * (1 - Math.exp(-t / 15))
    return {
      t,
      meanAccuracy: i === 0 ? null : mean,
      minAccuracy: i === 0 ? null : mean - 0.08,
      consensusDistance: i === 0 ? null : 5 * Math.exp(-t / 10),
      liveNodes: live,
      // a field that newer summaries carry: the report draws one faint line per node
      nodeAccuracy: Object.fromEntries(Array.from({ length: 6 }, (_, n) => [String(n), i === 0 ? null : mean - 0.02 * n]))
    }
  })
  return {
    swarmId: 'f3a9c1d2e4b5',
    dataset: 'mnist',
    partition: 'iid',
    model: 'mlp',
    codec: 'fp16',
    exchange: { mode: 'push', fanout: 3 },
    mergeRule: 'mean',
    scenario: `churn & ${HOSTILE}`,
    nodeCount: 6,
    durationSeconds: 60,
    wallSeconds: 75.2,
    backend: 'wasm',
    centralized: { accuracy: 0.93, samplesProcessed: 12_000 },
    accuracy: { mean: 0.885, min: 0.83, max: 0.91 },
    consensusDistance: 0.012,
    bytesSentPerNode: 4_200_000,
    bytesPerExchange: 105_000,
    peakRssBytesPerNode: 200_000_000,
    nodes: [
      node(0, 0.91), node(1, 0.9), node(2, 0.89), node(3, 0.88, { profile: `slow${HOSTILE}` }),
      node(4, 0.83, { role: 'attacker', peerId: HOSTILE }), node(5, null, { restarts: 1, alive: false })
    ],
    timeline,
    events: [
      { t: 20, kind: 'kill', nodes: [3, 5] },
      { t: 30, kind: 'partition', groups: [[0, 1, 2], [3, 4, 5]] },
      { t: 40, kind: 'heal' },
      { t: 42, kind: 'join', nodes: [3, 5] }
    ],
    lateJoins: [{ node: 3, joinedAt: 42, catchUpSeconds: 9.5 }, { node: 5, joinedAt: 42, catchUpSeconds: null }]
  }
}

function dataBlock(html: string): unknown {
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)
  expect(match).not.toBeNull()
  return JSON.parse(match?.[1] ?? 'null')
}

describe('the swarm report page', () => {
  const summary = syntheticSummary()
  const html = renderReport(summary)

  it('inlines chart.js and its annotation plugin and needs no network', () => {
    expect(html).toContain('Chart.js v4')
    expect(html).toContain('chartjs-plugin-annotation v3')
    expect(html).not.toMatch(/src\s*=\s*["']?https?:/i)
    expect(html).not.toMatch(/<link[^>]+href\s*=\s*["']?https?:/i)
    expect(html).not.toContain('sourceMappingURL')
  })

  it('embeds the summary as JSON that parses back to the timeline and events', () => {
    const data = dataBlock(html) as { summary: SwarmSummary, markers: { t: number, label: string }[] }
    expect(data.summary.timeline).toEqual(summary.timeline)
    expect(data.summary.events).toEqual(summary.events)
    expect(data.summary.nodes).toEqual(summary.nodes)
    expect(data.markers).toEqual([
      { t: 20, label: 'kill 3,5' },
      { t: 30, label: 'partition 0,1,2 | 3,4,5' },
      { t: 40, label: 'heal' },
      { t: 42, label: 'join 3,5' }
    ])
  })

  it('shows the run and its headline figures', () => {
    expect(html).toContain('<h1>murmur swarm f3a9c1d2e4b5</h1>')
    for (const text of ['mlp', 'mnist', 'iid', 'wasm', '60 s', '88.5%', '83.0%', '91.0%', '93.0%', '0.012', '4.2 MB',
      'after 9.5 s', '<td>never</td>', 'stale 2', '<td>gone</td>']) {
      expect(html).toContain(text)
    }
    for (const id of ['chart-accuracy', 'chart-distance', 'chart-live', 'chart-nodes']) expect(html).toContain(`id="${id}"`)
  })

  it('escapes text it injects, so hostile names cannot break out', () => {
    expect(html).not.toContain(HOSTILE)
    expect(html).not.toContain('<b>churn')
    expect(html).toContain('churn &#38; &#60;/script&#62;&#60;b&#62;')
    expect(html.match(/<\/script>/g)).toHaveLength(4)
    expect(scriptJson({ name: '</script><!-- & \u2028' })).toBe('{"name":"\\u003c/script\\u003e\\u003c!-- \\u0026 \\u2028"}')
  })

  it('copes with a plain or older summary: no scenario, no events, empty timeline, fields missing', () => {
    const plain = syntheticSummary()
    plain.scenario = null
    plain.events = []
    plain.timeline = []
    // summaries written before these fields existed
    const old = plain as Partial<SwarmSummary>
    delete old.lateJoins
    for (const each of plain.nodes) {
      const partial = each as Partial<NodeSummary>
      delete partial.alive
      delete partial.rejectedByReason
    }
    const page = renderReport(plain)
    expect(page).toContain('no scenario')
    expect(page).not.toContain('caught up')
    expect((dataBlock(page) as { markers: unknown[] }).markers).toEqual([])
  })

  it('labels events with their kind and nodes', () => {
    expect(eventLabel({ t: 1, kind: 'kill', nodes: [3, 5] })).toBe('kill 3,5')
    expect(eventLabel({ t: 1, kind: 'heal' })).toBe('heal')
    expect(eventLabel({ t: 1, kind: 'leave', nodes: [] })).toBe('leave')
  })

  it('writes the page to a file, creating the folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-report-'))
    try {
      const file = join(dir, 'run', 'report.html')
      await writeReport(summary, file)
      expect(await readFile(file, 'utf8')).toBe(html)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
