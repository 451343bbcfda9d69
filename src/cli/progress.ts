import Table from 'cli-table3'
import logUpdate from 'log-update'
import type { SwarmProgress } from '../swarm/launcher.js'
import type { SwarmSummary } from '../swarm/summary.js'
import { accuracyLine, exchangeLines, learningLines, megabytes, percent } from './summary-lines.js'

function progressTable (progress: SwarmProgress): string {
  const table = new Table({ head: ['node', 'peer', 'step', 'accuracy', 'peers', 'updates in', 'rejected', 'sent'], style: { head: [], border: [] } })
  for (const { index, status } of progress.nodes) {
    table.push(status === null
      ? [index, '(not answering)', '', '', '', '', '', '']
      : [index, `…${status.peerId.slice(-8)}`, status.step, percent(status.lastAccuracy), status.peers, status.updates.accepted, status.updates.rejected, megabytes(status.bytes.sent)])
  }
  return table.toString()
}

function headline (progress: SwarmProgress): string {
  const last = progress.timeline[progress.timeline.length - 1]
  const elapsed = Math.min(progress.elapsedSeconds, progress.durationSeconds)
  const bar = '█'.repeat(Math.round(20 * elapsed / progress.durationSeconds)).padEnd(20, '░')
  const scores = last === undefined ? '' : `  test accuracy mean ${percent(last.meanAccuracy)} min ${percent(last.minAccuracy)}  consensus distance ${last.consensusDistance?.toFixed(3) ?? '-'}`
  switch (progress.phase) {
    case 'starting': return `starting ${progress.nodes.length} nodes…`
    case 'training': return `${bar} ${elapsed.toFixed(0)}/${progress.durationSeconds.toFixed(0)} s${scores}`
    case 'stopping': return 'stopping nodes (final checkpoints)…'
    case 'baseline': return 'training the centralized baseline on the pooled data…'
  }
}

/**
 * Live progress of a swarm: a table redrawn in place on a terminal, and a line every few seconds when
 * the output is a file or a pipe (CI logs).
 */
export interface ProgressPrinter {
  update: (progress: SwarmProgress) => void
  /** a line that stays (scenario events), printed above the live table */
  event: (line: string) => void
  done: () => void
}

export function createProgressPrinter (interactive: boolean): ProgressPrinter {
  if (interactive) {
    let last = ''
    return {
      update: progress => {
        last = progress.phase === 'training' ? `${headline(progress)}\n${progressTable(progress)}` : headline(progress)
        logUpdate(last)
      },
      event: line => {
        logUpdate.clear()
        process.stdout.write(`${line}\n`)
        logUpdate(last)
      },
      done: () => { logUpdate.done() }
    }
  }
  let lastPrinted = -Infinity
  let lastPhase = ''
  return {
    update: progress => {
      const changed = progress.phase !== lastPhase
      if (!changed && progress.elapsedSeconds - lastPrinted < 5) return
      lastPhase = progress.phase
      lastPrinted = progress.elapsedSeconds
      const live = progress.nodes.filter(node => node.status !== null)
      const accuracies = live.map(node => node.status?.lastAccuracy).filter((a): a is number => typeof a === 'number')
      const extra = progress.phase === 'training' && live.length > 0
        ? `  nodes ${live.length}/${progress.nodes.length}  own-holdout accuracy ${percent(accuracies.reduce((a, b) => a + b, 0) / Math.max(accuracies.length, 1))}  peers ${(live.reduce((t, n) => t + (n.status?.peers ?? 0), 0) / live.length).toFixed(1)}  updates ${live.reduce((t, n) => t + (n.status?.updates.accepted ?? 0), 0)}`
        : ''
      process.stdout.write(`${headline(progress)}${extra}\n`)
    },
    event: line => { process.stdout.write(`${line}\n`) },
    done: () => {}
  }
}

export function summaryTable (summary: SwarmSummary): string {
  const table = new Table({ head: ['node', 'peer', 'data', 'role', 'profile', 'alive', 'test accuracy', 'samples', 'updates in', 'rejected', 'sent', 'received'], style: { head: [], border: [] } })
  for (const node of summary.nodes) {
    table.push([node.index, `…${node.peerId.slice(-8)}`, node.dataSpec, node.role, node.profile, node.alive ? 'yes' : 'no', percent(node.accuracy), node.samplesProcessed, node.updatesAccepted, node.updatesRejected, megabytes(node.bytesSent), megabytes(node.bytesReceived)])
  }
  const lines = [
    table.toString(),
    `swarm ${summary.swarmId}: ${summary.nodeCount} nodes, ${summary.model} on ${summary.dataset} (${summary.partition}), ${summary.durationSeconds} s of training, backend ${summary.backend}`,
    accuracyLine(summary),
    ...learningLines(summary),
    ...exchangeLines(summary),
    `memory            at most ${(summary.peakRssBytesPerNode / 2 ** 20).toFixed(0)} MiB per node process`,
    `wall time         ${summary.wallSeconds} s`
  ]
  return lines.join('\n')
}
