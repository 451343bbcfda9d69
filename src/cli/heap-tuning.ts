import { spawn } from 'node:child_process'
import { totalmem } from 'node:os'
import { getHeapStatistics, setFlagsFromString } from 'node:v8'

/**
 * The V8 settings a simulation runs with, and a way to get them.
 *
 * A simulation allocates a model-sized Float32Array (and its encoding) for most events: a push's
 * payload, a received model's reconstruction, a merge, a checkpoint. Their memory lives outside the
 * JavaScript heap, and by default every 64 MB of it starts a full mark-compact of a heap holding
 * thousands of nodes' state: on 10,000 simulated phones one every 2.5 s of wall time, each marking
 * for about 0.9 s, so nearly half the run went to marking (docs/simulations.md, "Scale").
 * `--external-memory-accounted-in-global-limit` judges that memory against the heap's own growth
 * limit instead: the summary is byte-identical and the 10,000-phone hour takes 0.39× the CPU time.
 *
 * That limit is capped at twice the old generation's maximum (about 4 GiB by default, so 8 GiB),
 * and a 1,000-node `mlp` simulation holds more than that in typed arrays: near the cap V8 collects
 * without pause (measured: 400 virtual s after 559 s, against 478 s without the setting). So the
 * simulation runs with an old-generation maximum of the machine's memory; the JavaScript heap itself
 * stays small, the maximum only lifts the cap. V8 sizes its heap when a process starts, so the
 * command runs itself again in a child process with these flags (unless the heap is already that
 * large, e.g. the child itself).
 *
 * Process-wide settings, so only commands that own their process use this (murmur simulate, the
 * simulated engine of murmur bench), never the library. Node processes keep their own remedy
 * (`MemoryReclaimer`: a collection per 16 MiB of new ArrayBuffers on a small heap).
 */
export const SIMULATION_V8_FLAG = '--external-memory-accounted-in-global-limit'

/** The old-generation maximum a simulation asks for: the machine's memory, in MiB. */
export function simulationHeapMb (): number {
  return Math.floor(totalmem() / 2 ** 20)
}

/**
 * Returns true when this process may run the simulation (its heap is set up for it), or runs the
 * same command in a child process that is and returns false once it has exited (its exit code
 * becomes this process's).
 */
export async function inSimulationHeap (): Promise<boolean> {
  const wanted = simulationHeapMb()
  if (getHeapStatistics().heap_size_limit / 2 ** 20 >= 0.9 * wanted) {
    setFlagsFromString(SIMULATION_V8_FLAG)
    return true
  }
  const child = spawn(process.execPath, [...process.execArgv, `--max-old-space-size=${wanted}`, SIMULATION_V8_FLAG, ...process.argv.slice(1)], { stdio: 'inherit' })
  // Ctrl-C reaches both processes (one process group): the child stops the simulation and writes what
  // it has; this one waits for it. A termination sent to this process alone is passed on.
  const ignore = (): void => {}
  const forward = (): void => { child.kill('SIGTERM') }
  process.on('SIGINT', ignore)
  process.on('SIGTERM', forward)
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.once('error', reject)
      child.once('exit', (exitCode, signal) => { resolve(exitCode ?? (signal === null ? 0 : 1)) })
    })
    process.exitCode = code
    return false
  } finally {
    process.off('SIGINT', ignore)
    process.off('SIGTERM', forward)
  }
}
