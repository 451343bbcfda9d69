import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/**
 * The live view of a node (GET / on its local API) or of a whole local swarm (murmur swarm
 * --dashboard): one HTML page that polls a JSON endpoint of the same origin and draws Chart.js charts,
 * keeping the history itself. Chart.js comes from the project's own dependency, served next to the
 * page (no CDN).
 */
export interface DashboardOptions {
  /** 'node': the source answers a node's /status; 'swarm': { nodes: [{ index, status }], timeline } */
  readonly mode: 'node' | 'swarm'
  /** same-origin path the page polls */
  readonly source: string
  readonly title: string
  /** milliseconds between two polls (default 1000) */
  readonly intervalMs?: number
}

/** Path under which the page loads Chart.js. */
export const CHART_SCRIPT_PATH = '/chart.umd.min.js'

let chartScript: Promise<string> | undefined

/** Chart.js's UMD build from node_modules, read once. */
export function readChartScript (): Promise<string> {
  if (chartScript === undefined) {
    const require = createRequire(import.meta.url)
    // chart.js does not export its UMD file; it lies next to the CommonJS entry point.
    chartScript = readFile(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8')
      .then(code => code.replace(/^\/\/# sourceMappingURL=.*$/m, ''))
  }
  return chartScript
}

function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, char => `&#${char.charCodeAt(0)};`)
}

/** JSON that can sit inside a <script> element. */
function scriptJson (value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, char => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Browser code of the page: plain JS, no build step. It reads its settings from the JSON block. */
const PAGE_SCRIPT = String.raw`
'use strict'
const settings = JSON.parse(document.getElementById('dashboard-settings').textContent)
const started = Date.now()
const MAX_POINTS = 600
const COLORS = ['#2563eb', '#ea580c', '#16a34a', '#7c3aed', '#dc2626', '#0d9488', '#ca8a04', '#db2777', '#4b5563', '#0891b2']
const color = i => COLORS[i % COLORS.length]
const state = { polls: 0, failures: 0, lastError: null }
window.dashboard = state

function chart (id, type, yTitle, extra) {
  return new Chart(document.getElementById(id), {
    type,
    data: { datasets: [], labels: [] },
    options: Object.assign({
      animation: false, maintainAspectRatio: false, parsing: type === 'bar',
      interaction: { mode: 'nearest', intersect: false },
      scales: type === 'bar'
        ? { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: yTitle } } }
        : {
            x: { type: 'linear', min: 0, title: { display: true, text: settings.mode === 'swarm' ? 'seconds since the swarm started training' : 'seconds since the node started' } },
            y: { beginAtZero: true, title: { display: true, text: yTitle } }
          },
      plugins: { legend: { position: 'bottom' } }
    }, extra || {})
  })
}

const charts = {
  accuracy: chart('chart-accuracy', 'line', 'accuracy (%)'),
  consensus: chart('chart-consensus', 'line', 'consensus distance (L2)'),
  peers: chart('chart-peers', 'line', 'peers connected'),
  step: chart('chart-step', 'line', 'local steps'),
  bytes: chart('chart-bytes', 'line', 'MB of model updates'),
  updates: chart('chart-updates', 'bar', 'updates'),
  epsilon: chart('chart-epsilon', 'line', 'ε spent')
}

// One dataset per label; points appended as they come, the oldest dropped past MAX_POINTS.
function dataset (target, label, index, style) {
  let found = target.data.datasets.find(d => d.label === label)
  if (!found) {
    const c = typeof index === 'string' ? index : color(index)
    found = Object.assign({ label, data: [], borderColor: c, backgroundColor: c, borderWidth: 2, pointRadius: 2, tension: 0 }, style || {})
    target.data.datasets.push(found)
  }
  return found
}

function push (target, label, index, x, y, style) {
  if (typeof y !== 'number' || !Number.isFinite(y)) return
  const series = dataset(target, label, index, style)
  const last = series.data[series.data.length - 1]
  if (last && last.x === x) last.y = y
  else series.data.push({ x, y })
  if (series.data.length > MAX_POINTS) series.data.shift()
}

function setText (id, text) { document.getElementById(id).textContent = text }

function tiles (nodes) {
  const live = nodes.filter(n => n.status)
  const sum = pick => live.reduce((total, n) => total + (pick(n.status) || 0), 0)
  const accuracies = live.map(n => n.status.lastAccuracy).filter(a => typeof a === 'number')
  setText('tile-nodes', settings.mode === 'swarm' ? live.length + ' / ' + nodes.length : (live[0] ? '…' + live[0].status.peerId.slice(-8) : '–'))
  setText('tile-peers', live.length ? String(Math.round(sum(s => s.peers) / live.length)) : '–')
  setText('tile-step', live.length ? String(Math.max(...live.map(n => n.status.step))) : '–')
  setText('tile-accuracy', accuracies.length ? (accuracies.reduce((a, b) => a + b, 0) / accuracies.length * 100).toFixed(1) + ' %' : '–')
  setText('tile-updates', sum(s => s.updates.accepted) + ' / ' + sum(s => s.updates.rejected))
  setText('tile-bytes', (sum(s => s.bytes.sent) / 1e6).toFixed(1) + ' / ' + (sum(s => s.bytes.received) / 1e6).toFixed(1))
  const epsilons = live.map(n => n.status.privacy && n.status.privacy.epsilon).filter(e => typeof e === 'number')
  setText('tile-epsilon', epsilons.length ? Math.max(...epsilons).toFixed(2) : 'privacy off')
}

function updatesByReason (nodes) {
  const reasons = new Set()
  for (const n of nodes) if (n.status) for (const reason of Object.keys(n.status.updates.rejectedByReason)) reasons.add(reason)
  const labels = nodes.map(n => settings.mode === 'swarm' ? 'node ' + n.index : 'this node')
  const datasets = [{ label: 'accepted', backgroundColor: '#16a34a', data: nodes.map(n => n.status ? n.status.updates.accepted : 0) }]
  let i = 1
  for (const reason of [...reasons].sort()) {
    datasets.push({ label: 'rejected: ' + reason, backgroundColor: color(i++ + 3), data: nodes.map(n => n.status ? (n.status.updates.rejectedByReason[reason] || 0) : 0) })
  }
  charts.updates.data.labels = labels
  charts.updates.data.datasets = datasets
}

function record (body) {
  const swarm = settings.mode === 'swarm'
  // x: seconds since the swarm started training, or the node's uptime.
  const x = swarm ? Math.round(body.elapsedSeconds * 10) / 10 : body.uptimeSeconds
  const nodes = swarm ? body.nodes : [{ index: 1, status: body }]
  for (const n of nodes) {
    if (!n.status) continue
    const label = swarm ? 'node ' + n.index : 'this node'
    const i = n.index - 1
    push(charts.accuracy, label + ' (own holdout)', i, x, typeof n.status.lastAccuracy === 'number' ? n.status.lastAccuracy * 100 : null)
    push(charts.peers, label, i, x, n.status.peers)
    push(charts.step, label, i, x, n.status.step)
    push(charts.bytes, label + ' sent', i, x, n.status.bytes.sent / 1e6)
    push(charts.bytes, label + ' received', i, x, n.status.bytes.received / 1e6, { borderDash: [5, 4], pointRadius: 0 })
    if (n.status.privacy) push(charts.epsilon, label, i, x, n.status.privacy.epsilon)
  }
  if (swarm) {
    // The launcher scores every node's model on one test split; consensus is the spread of those models.
    // Its timeline goes back to the start, so the page shows the whole run even when opened late.
    const timeline = body.timeline || []
    dataset(charts.accuracy, 'mean of all nodes, test split', '#111827', { borderWidth: 3 }).data =
      timeline.filter(p => typeof p.meanAccuracy === 'number').map(p => ({ x: p.t, y: p.meanAccuracy * 100 }))
    dataset(charts.consensus, 'consensus distance', '#7c3aed').data =
      timeline.filter(p => typeof p.consensusDistance === 'number').map(p => ({ x: p.t, y: p.consensusDistance }))
  }
  const privacyOn = nodes.some(n => n.status && n.status.privacy)
  document.getElementById('note-epsilon').hidden = privacyOn
  updatesByReason(nodes)
  tiles(nodes)
  for (const c of Object.values(charts)) c.update()
}

async function poll () {
  try {
    const response = await fetch(settings.source, { cache: 'no-store' })
    if (!response.ok) throw new Error(settings.source + ': HTTP ' + response.status)
    record(await response.json())
    state.polls++
    state.lastError = null
    setText('poll-state', 'live: ' + new Date().toLocaleTimeString())
  } catch (error) {
    state.failures++
    state.lastError = String(error)
    setText('poll-state', 'no answer (' + String(error) + ')')
  } finally {
    setTimeout(poll, settings.intervalMs)
  }
}
poll()
`

export function dashboardPage (options: DashboardOptions): string {
  const settings = { mode: options.mode, source: options.source, intervalMs: options.intervalMs ?? 1_000 }
  const consensusNote = options.mode === 'node'
    ? '<p class="note">A node sees only its own model: the consensus distance between all models is in the swarm view (murmur swarm --dashboard).</p>'
    : ''
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f3f4f6; color: #111827; }
header { background: #111827; color: #f9fafb; padding: 10px 20px; display: flex; justify-content: space-between; align-items: baseline; }
header h1 { font-size: 18px; margin: 0; }
main { padding: 12px 20px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin-bottom: 12px; }
.tile { background: #fff; border-radius: 6px; padding: 8px 12px; box-shadow: 0 1px 2px #0001; }
.tile b { display: block; font-size: 20px; }
.tile span { color: #6b7280; font-size: 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 12px; }
.card { background: #fff; border-radius: 6px; padding: 8px 12px; box-shadow: 0 1px 2px #0001; }
.card h2 { font-size: 14px; margin: 4px 0 6px; }
.chart { position: relative; height: 220px; }
.note { color: #6b7280; font-size: 12px; margin: 4px 0 0; }
</style>
</head>
<body>
<header><h1>${escapeHtml(options.title)}</h1><span id="poll-state">connecting…</span></header>
<main>
<section class="tiles">
<div class="tile"><span>${options.mode === 'swarm' ? 'nodes answering' : 'peer id'}</span><b id="tile-nodes">–</b></div>
<div class="tile"><span>${options.mode === 'swarm' ? 'peers (mean)' : 'peers'}</span><b id="tile-peers">–</b></div>
<div class="tile"><span>${options.mode === 'swarm' ? 'step (max)' : 'step'}</span><b id="tile-step">–</b></div>
<div class="tile"><span>${options.mode === 'swarm' ? 'accuracy (mean, own holdout)' : 'accuracy (own holdout)'}</span><b id="tile-accuracy">–</b></div>
<div class="tile"><span>updates accepted / rejected</span><b id="tile-updates">–</b></div>
<div class="tile"><span>MB sent / received</span><b id="tile-bytes">–</b></div>
<div class="tile"><span>${options.mode === 'swarm' ? 'ε spent (max)' : 'ε spent'}</span><b id="tile-epsilon">–</b></div>
</section>
<section class="grid">
<div class="card"><h2>Accuracy over time</h2><div class="chart"><canvas id="chart-accuracy"></canvas></div></div>
<div class="card"><h2>Consensus over time</h2><div class="chart"><canvas id="chart-consensus"></canvas></div>${consensusNote}</div>
<div class="card"><h2>Peers</h2><div class="chart"><canvas id="chart-peers"></canvas></div></div>
<div class="card"><h2>Step</h2><div class="chart"><canvas id="chart-step"></canvas></div></div>
<div class="card"><h2>Bytes</h2><div class="chart"><canvas id="chart-bytes"></canvas></div></div>
<div class="card"><h2>Updates accepted and rejected, by reason</h2><div class="chart"><canvas id="chart-updates"></canvas></div></div>
<div class="card"><h2>Differential privacy: ε spent</h2><div class="chart"><canvas id="chart-epsilon"></canvas></div><p class="note" id="note-epsilon">Differential privacy is off in this swarm's manifest: no ε is spent.</p></div>
</section>
</main>
<script id="dashboard-settings" type="application/json">${scriptJson(settings)}</script>
<script src="${CHART_SCRIPT_PATH}"></script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`
}
