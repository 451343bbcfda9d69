/**
 * DIR/report.html of `murmur swarm --out DIR`: one self-contained page (Chart.js and its annotation plugin inlined,
 * the run's summary embedded as JSON) that shows how the swarm learned, what the scenario did and where.
 */
import { readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { SwarmEvent, SwarmSummary } from './summary.js'

/** An event as the page draws it: a vertical line at `t` labelled `label`. */
export interface ReportMarker {
  t: number
  label: string
}

/** "kill 3,5", "partition 0,1 | 2,3", "heal", "join 8". */
export function eventLabel(event: SwarmEvent): string {
  const { groups } = event
  const parts = [event.kind]
  if (Array.isArray(groups) && groups.length > 0) parts.push(groups.map(group => group.join(',')).join(' | '))
  else if (Array.isArray(event.nodes) && event.nodes.length > 0) parts.push(event.nodes.join(','))
  return parts.join(' ')
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, char => `&#${char.charCodeAt(0)};`)
}

/** JSON that can sit inside a <script> element: no "<", ">" or "&" survives, so "</script" cannot end it early. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, char => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

let libraries: string | undefined

/** The minified UMD builds of chart.js and chartjs-plugin-annotation, read once from node_modules. */
function inlineLibraries(): string {
  if (libraries !== undefined) return libraries
  const require = createRequire(import.meta.url)
  // Neither package exports its UMD file; both keep it next to their CommonJS entry point.
  const files = [
    join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'),
    join(dirname(require.resolve('chartjs-plugin-annotation')), 'chartjs-plugin-annotation.min.js')
  ]
  libraries = files.map(file => {
    const code = readFileSync(file, 'utf8')
      .replace(/^\/\/# sourceMappingURL=.*$/m, '')
      .replace(/<\/script/gi, '<\\/script')
      .replace(/<!--/g, '<\\!--')
    return `<script>\n${code}\n</script>`
  }).join('\n')
  return libraries
}

function percent(value: number | null | undefined): string {
  return typeof value === 'number' && Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : '–'
}

function decimal(value: number | null | undefined): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–'
  if (value === 0) return '0'
  return Math.abs(value) < 0.001 || Math.abs(value) >= 1e6 ? value.toExponential(2) : String(Number(value.toPrecision(3)))
}

function bytes(value: number | null | undefined): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–'
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let scaled = value
  let unit = 0
  while (Math.abs(scaled) >= 1000 && unit < units.length - 1) { scaled /= 1000; unit++ }
  return `${unit === 0 ? String(Math.round(scaled)) : scaled.toFixed(1)} ${units[unit] ?? ''}`
}

function seconds(value: number | null | undefined): string {
  return typeof value === 'number' && Number.isFinite(value) ? `${decimal(value)} s` : '–'
}

function rows(cells: [string, string][]): string {
  return cells.map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`).join('\n')
}

// Summaries written before a field existed lack it, so the report reads the newer fields defensively.

function headline(summary: SwarmSummary): string {
  const gap = summary.accuracy.mean - summary.centralized.accuracy
  const lateJoins = (summary.lateJoins ?? []).map((join): [string, string] => [
    `node ${join.node} (joined at ${seconds(join.joinedAt)}) caught up`,
    join.catchUpSeconds === null ? 'never' : `after ${seconds(join.catchUpSeconds)}`
  ])
  return rows([
    ['mean accuracy', percent(summary.accuracy.mean)],
    ['min accuracy', percent(summary.accuracy.min)],
    ['max accuracy', percent(summary.accuracy.max)],
    ['centralized baseline', percent(summary.centralized.accuracy)],
    ['mean − centralized', Number.isFinite(gap) ? `${gap >= 0 ? '+' : ''}${(gap * 100).toFixed(1)} pp` : '–'],
    ['consensus distance', decimal(summary.consensusDistance)],
    ['bytes sent per node', bytes(summary.bytesSentPerNode)],
    ...lateJoins
  ])
}

function nodeTable(summary: SwarmSummary): string {
  const head = ['node', 'role', 'profile', 'data', 'at end', 'accuracy', 'samples', 'exchanges', 'accepted', 'rejected',
    'sent', 'received', 'restarts']
  const body = summary.nodes.map(node => {
    const reasons = Object.entries(node.rejectedByReason ?? {}).filter(([, count]) => count > 0)
    const rejected = String(node.updatesRejected) +
      (reasons.length > 0 ? ` (${reasons.map(([reason, count]) => `${reason} ${count}`).join(', ')})` : '')
    return [
      String(node.index), node.role ?? 'honest', node.profile, node.dataSpec, node.alive === false ? 'gone' : 'running',
      percent(node.accuracy), String(node.samplesProcessed), String(node.exchanges), String(node.updatesAccepted), rejected,
      bytes(node.bytesSent), bytes(node.bytesReceived), String(node.restarts)
    ]
  })
  const cells = (values: string[], tag: string): string => values.map(value => `<${tag}>${escapeHtml(value)}</${tag}>`).join('')
  return `<table class="nodes"><thead><tr>${cells(head, 'th')}</tr></thead><tbody>\n` +
    body.map(values => `<tr>${cells(values, 'td')}</tr>`).join('\n') + '\n</tbody></table>'
}

/** The script of the page: reads the JSON block and draws the four charts. Plain browser JS, no build step. */
const PAGE_SCRIPT = `
'use strict'
const { summary, markers } = JSON.parse(document.getElementById('report-data').textContent)
const timeline = summary.timeline || []
const nodes = summary.nodes || []
const COLOR = { mean: '#2563eb', min: '#ea580c', honest: '#2563eb', attacker: '#dc2626', baseline: '#16a34a',
  event: '#4b5563', distance: '#7c3aed', live: '#0d9488' }
const pct = value => typeof value === 'number' ? value * 100 : null
const series = pick => timeline.map(point => ({ x: point.t, y: pick(point) }))
const tMax = Math.max(summary.durationSeconds || 0, ...timeline.map(point => point.t), ...markers.map(marker => marker.t))
const roleOf = node => node.role === 'attacker' ? 'attacker' : 'honest'
const roleByIndex = new Map(nodes.map(node => [String(node.index), roleOf(node)]))

// One vertical line per scenario event; labels of events close in time are stacked so they do not overlap.
function eventLines() {
  const lastAt = []
  return markers.map(marker => {
    let level = 0
    while (lastAt[level] !== undefined && marker.t - lastAt[level] < tMax * 0.1) level++
    lastAt[level] = marker.t
    return {
      type: 'line', scaleID: 'x', value: marker.t, borderColor: COLOR.event, borderWidth: 1, borderDash: [3, 3],
      label: { display: true, content: marker.label, position: 'start', yAdjust: 4 + level * 22, padding: 3,
        backgroundColor: 'rgba(55, 65, 81, 0.85)', font: { size: 11 } }
    }
  })
}

function baselineLine() {
  const accuracy = summary.centralized && summary.centralized.accuracy
  if (typeof accuracy !== 'number') return []
  return [{
    type: 'line', scaleID: 'y', value: accuracy * 100, borderColor: COLOR.baseline, borderWidth: 1.5, borderDash: [6, 4],
    label: { display: true, content: 'centralized ' + (accuracy * 100).toFixed(1) + '%', position: 'end', yAdjust: 11,
      padding: 3, backgroundColor: COLOR.baseline, font: { size: 11 } }
  }]
}

function line(label, data, color, extra) {
  return Object.assign({ label, data, borderColor: color, backgroundColor: color, borderWidth: 2, pointRadius: 0,
    pointHitRadius: 6, tension: 0 }, extra)
}

function timeChart(id, datasets, y, annotations) {
  return new Chart(document.getElementById(id), {
    type: 'line',
    data: { datasets },
    options: {
      animation: false, maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: { x: { type: 'linear', min: 0, max: tMax, title: { display: true, text: 'seconds since training started' } }, y },
      plugins: {
        legend: { labels: { filter: (item, data) => !data.datasets[item.datasetIndex].hideInLegend } },
        tooltip: { filter: item => !item.dataset.perNode },
        annotation: { annotations: (annotations || []).concat(eventLines()) }
      }
    }
  })
}

// 1. accuracy: mean and min over the nodes, each node faintly if the timeline has per-node figures
const nodeKeys = [...new Set(timeline.flatMap(point => Object.keys(point.nodeAccuracy || {})))]
  .sort((a, b) => Number(a) - Number(b) || a.localeCompare(b))
const perNode = nodeKeys.map((key, i) => {
  const attacker = roleByIndex.get(key) === 'attacker'
  return line(i === 0 ? 'each node' : 'node ' + key, series(point => pct((point.nodeAccuracy || {})[key])),
    attacker ? 'rgba(220, 38, 38, 0.3)' : 'rgba(100, 116, 139, 0.3)', { borderWidth: 1, order: 1, perNode: true, hideInLegend: i > 0 })
})
timeChart('chart-accuracy', [
  line('mean accuracy', series(point => pct(point.meanAccuracy)), COLOR.mean),
  line('min accuracy', series(point => pct(point.minAccuracy)), COLOR.min, { borderWidth: 1.5 }),
  ...perNode
], { min: 0, max: 100, title: { display: true, text: 'accuracy (% of test split)' } }, baselineLine())

// 2. consensus distance, on a log scale when it spans orders of magnitude
const distances = timeline.map(point => point.consensusDistance).filter(value => typeof value === 'number')
const positive = distances.filter(value => value > 0)
const logScale = positive.length === distances.length && positive.length > 1 && Math.max(...positive) / Math.min(...positive) > 100
timeChart('chart-distance', [line('consensus distance', series(point => point.consensusDistance), COLOR.distance)],
  logScale ? { type: 'logarithmic', title: { display: true, text: 'consensus distance (log)' } }
    : { beginAtZero: true, title: { display: true, text: 'consensus distance' } })

// 3. live nodes, held between samples
timeChart('chart-live', [line('live nodes', series(point => point.liveNodes), COLOR.live, { stepped: true })],
  { min: 0, suggestedMax: summary.nodeCount, grace: 1, ticks: { precision: 0 }, title: { display: true, text: 'live nodes' } })

// 4. final accuracy per node, by role
const hasAttackers = nodes.some(node => roleOf(node) === 'attacker')
const profiles = new Set(nodes.map(node => node.profile))
new Chart(document.getElementById('chart-nodes'), {
  type: 'bar',
  data: {
    labels: nodes.map(node => ['node ' + node.index].concat(profiles.size > 1 ? [String(node.profile)] : [],
      typeof node.accuracy === 'number' ? [] : ['no model'], node.alive === false ? ['gone'] : [])),
    datasets: (hasAttackers ? ['honest', 'attacker'] : ['honest']).map(role => ({
      label: hasAttackers ? role : 'final accuracy', grouped: false,
      // nodes that were not running at the end (killed, departed) are drawn faded
      backgroundColor: nodes.map(node => node.alive === false ? COLOR[role] + '55' : COLOR[role]),
      data: nodes.map(node => roleOf(node) === role ? pct(node.accuracy) : null)
    }))
  },
  options: {
    animation: false, maintainAspectRatio: false,
    scales: { y: { min: 0, max: 100, title: { display: true, text: 'final accuracy (% of test split)' } } },
    plugins: { legend: { display: hasAttackers }, annotation: { annotations: baselineLine() } }
  }
})
`

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1f2937; margin: 0; background: #f8fafc; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; word-break: break-all; }
h2 { font-size: 16px; margin: 0 0 8px; }
.meta { color: #4b5563; margin: 0 0 16px; display: flex; flex-wrap: wrap; gap: 2px 14px; }
.meta span { overflow-wrap: anywhere; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 14px 16px; margin-bottom: 16px; }
.chart { position: relative; height: 300px; }
table { border-collapse: collapse; }
.headline th { text-align: left; font-weight: 500; color: #4b5563; padding: 3px 24px 3px 0; }
.headline td { font-variant-numeric: tabular-nums; font-weight: 600; text-align: right; }
.nodes { width: 100%; font-size: 12px; margin-top: 8px; }
.nodes th, .nodes td { padding: 3px 8px; border-bottom: 1px solid #e5e7eb; text-align: right; white-space: nowrap; }
.nodes th:nth-child(-n+5), .nodes td:nth-child(-n+5) { text-align: left; }
summary { cursor: pointer; font-weight: 600; }
`

/** The report page of one swarm run, as a self-contained HTML document. */
export function renderReport(summary: SwarmSummary): string {
  const markers: ReportMarker[] = [...summary.events]
    .sort((a, b) => a.t - b.t)
    .map(event => ({ t: event.t, label: eventLabel(event) }))
  const title = `murmur ${summary.backend === 'simulated' ? 'simulate' : 'swarm'} ${summary.swarmId}`
  const scenario = summary.scenario === null ? 'no scenario' : `scenario ${summary.scenario}`
  const meta: [string, string][] = [
    ['model', summary.model], ['dataset', summary.dataset], ['partition', summary.partition],
    ['nodes', String(summary.nodeCount)], ['duration', seconds(summary.durationSeconds)], ['backend', summary.backend],
    ['codec', summary.codec], ['merge', summary.mergeRule]
  ]
  const perNodeTimeline = summary.timeline.some(point => point.nodeAccuracy !== undefined)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`${title} – ${scenario}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="meta"><span><b>${escapeHtml(scenario)}</b></span>${meta.map(([name, value]) => `<span>${escapeHtml(name)}: <b>${escapeHtml(value)}</b></span>`).join('')}</p>
<section class="card"><h2>Headline figures</h2><table class="headline">
${headline(summary)}
</table></section>
<section class="card"><h2>Accuracy over time</h2><div class="chart"><canvas id="chart-accuracy"></canvas></div></section>
<section class="card"><h2>Consensus distance over time</h2><div class="chart"><canvas id="chart-distance"></canvas></div></section>
<section class="card"><h2>Live nodes over time</h2><div class="chart"><canvas id="chart-live"></canvas></div></section>
<section class="card"><h2>Final accuracy per node</h2><div class="chart"><canvas id="chart-nodes"></canvas></div>
<details><summary>Per-node figures</summary>
${nodeTable(summary)}
</details></section>
<p class="meta">Timeline accuracy is scored on part of the test split, the last point (the final scores) on all of it, so the line may step there${perNodeTimeline ? '; faint lines are single nodes' : ''}.${markers.length > 0 ? ' Dotted vertical lines mark scenario events.' : ''}</p>
</main>
<script type="application/json" id="report-data">${scriptJson({ summary, markers })}</script>
${inlineLibraries()}
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`
}

/** Writes the report page of `summary` to `file`, creating its folder if needed. */
export async function writeReport(summary: SwarmSummary, file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, renderReport(summary))
}
