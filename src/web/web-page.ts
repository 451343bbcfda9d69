/**
 * The HTML of a browser node's page; its behaviour is src/browser/page.ts (bundled as murmur-web.js).
 * No inline script: the page runs under a Content-Security-Policy that allows only its own scripts.
 */
export function webPageHtml (title: string): string {
  const escaped = title.replace(/[&<>"]/g, character => `&#${character.charCodeAt(0)};`)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escaped}</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #111827; }
  h1 { font-size: 1.4rem; margin-bottom: .2rem; }
  .muted { color: #6b7280; }
  .row { margin: .6rem 0; }
  button { font: inherit; padding: .45rem 1.2rem; margin-right: .5rem; }
  textarea { width: 100%; font: 12px monospace; }
  table { border-collapse: collapse; margin: 1rem 0; }
  td { padding: .2rem 1.2rem .2rem 0; vertical-align: top; }
  td:first-child { color: #6b7280; }
  #peer-id { font: 12px monospace; }
</style>
</head>
<body>
<h1>${escaped}</h1>
<div class="muted" id="swarm"></div>
<div class="row">This tab becomes a peer of the swarm: it trains on data that stays here and exchanges only its model.</div>
<div class="row" id="key-row" hidden><label>Swarm key (this swarm is private; the key is never sent anywhere):<br><textarea id="key" rows="3" placeholder="/key/swarm/psk/1.0.0/ …"></textarea></label></div>
<div class="row"><label>Your data (optional; a CSV file, or IDX images and labels; read here, never uploaded): <input type="file" id="file" multiple accept=".csv,.idx,.gz,.idx1-ubyte,.idx3-ubyte"></label></div>
<div class="row"><button id="join">Join</button><button id="stop" disabled>Stop</button> <span id="state">not started</span></div>
<table>
  <tr><td>peer id</td><td id="peer-id">–</td></tr>
  <tr><td>data</td><td id="data">–</td></tr>
  <tr><td>peers</td><td id="peers">–</td></tr>
  <tr><td>step</td><td id="step">–</td></tr>
  <tr><td>accuracy</td><td id="accuracy">–</td></tr>
  <tr><td>bytes</td><td id="bytes">–</td></tr>
  <tr><td>training</td><td id="speed">–</td></tr>
</table>
<canvas id="chart-accuracy" width="900" height="320"></canvas>
<script type="module" src="murmur-web.js"></script>
</body>
</html>
`
}
