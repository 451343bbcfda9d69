import logUpdate from 'log-update'
import type { RunFigures, SimulationProgress, SimulationSummary } from '../simulator/simulation.js'
import { accuracyLine, exchangeLines, learningLines, percent } from './summary-lines.js'

function line (progress: SimulationProgress): string {
  switch (progress.phase) {
    case 'loading': return `loading the data and starting ${progress.nodeCount} simulated nodes…`
    case 'scoring': return 'stopping the nodes and scoring their models and the centralized baseline…'
    case 'simulating': {
      const done = Math.min(1, progress.virtualSeconds / progress.durationSeconds)
      const bar = '█'.repeat(Math.round(30 * done)).padEnd(30, '░')
      const accuracy = progress.lastPoint === undefined ? '' : `  accuracy ${percent(progress.lastPoint.meanAccuracy)}`
      return `${bar} ${progress.virtualSeconds.toFixed(0)}/${progress.durationSeconds.toFixed(0)} virtual s  ${progress.liveNodes}/${progress.nodeCount} nodes online  ${Math.round(progress.nodeSecondsPerSecond)} node-s/s  ${progress.wallSeconds.toFixed(0)} s wall${accuracy}`
    }
  }
}

export interface SimulationPrinter {
  update: (progress: SimulationProgress) => void
  event: (line: string) => void
  done: () => void
}

/**
 * The progress of a simulation: virtual time, nodes online and simulated node-seconds per wall
 * second, redrawn in place on a terminal, a line every few seconds otherwise (logs).
 */
export function createSimulationPrinter (interactive: boolean): SimulationPrinter {
  if (interactive) {
    let last = ''
    return {
      update: progress => { logUpdate(last = line(progress)) },
      event: text => {
        logUpdate.clear()
        process.stdout.write(`${text}\n`)
        logUpdate(last)
      },
      done: () => { logUpdate.done() }
    }
  }
  let printed = -Infinity
  let phase = ''
  return {
    update: progress => {
      if (progress.phase === phase && progress.wallSeconds - printed < 5) return
      phase = progress.phase
      printed = progress.wallSeconds
      process.stdout.write(`${line(progress)}\n`)
    },
    event: text => { process.stdout.write(`${text}\n`) },
    done: () => {}
  }
}

/** The end-of-run report: the summary's figures and how fast the simulation ran. */
export function simulationSummaryLines (summary: SimulationSummary, run: RunFigures): string[] {
  const counted = summary.nodes.filter(node => node.alive && node.role === 'honest').length
  return [
    `simulated swarm ${summary.swarmId}: ${summary.nodeCount} nodes, ${summary.model} on ${summary.dataset} (${summary.partition}), ${summary.durationSeconds} virtual s`,
    accuracyLine(summary, `${counted} honest nodes online at the end, ${summary.simulation.testSamples} test samples`),
    ...learningLines(summary),
    ...(summary.simulation.availability === null ? [] : [`availability      ${summary.simulation.availability}`]),
    ...exchangeLines(summary),
    `network           latency ${summary.simulation.latency}, bandwidth ${summary.simulation.bandwidth}, ${summary.simulation.targetPeers} peers per node; step time ${summary.simulation.stepMs} ms`,
    `simulation        ${run.wallSeconds} s wall, ${run.speedup}× real time, ${Math.round(run.nodeSecondsPerSecond)} node-s and ${Math.round(run.stepsPerSecond)} local steps per wall s, ${run.actions} events, peak RSS ${(run.peakRssBytes / 2 ** 20).toFixed(0)} MiB`
  ]
}
