import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createRandom } from '../data/random.js'
import { createManifest } from '../learning/manifest.js'
import { NodeStore } from '../node/store.js'
import { NodeProcess } from './node-process.js'

export interface CrashBenchOptions {
  readonly cycles: number
  /** where the node's state lives */
  readonly directory: string
  readonly seed?: number
  readonly onCycle?: (cycle: CrashCycle) => void
}

export interface CrashCycle {
  readonly cycle: number
  /** how long the node ran before SIGKILL */
  readonly killedAfterMs: number
  readonly restartedHealthy: boolean
  readonly checkpointStep: number | null
  readonly problems: readonly string[]
}

export interface CrashBenchResult {
  readonly cycles: number
  readonly corruptedCheckpoints: number
  readonly unhealthyRestarts: number
  readonly finalCheckpointStep: number | null
}

/**
 * Kills one node with SIGKILL at random moments, again and again, and checks after every kill that
 * its checkpoint verifies and that it restarts with the same peer id and no lost progress.
 */
export async function benchmarkCrashes (options: CrashBenchOptions): Promise<CrashBenchResult> {
  const manifestFile = join(options.directory, 'manifest.json')
  await writeFile(manifestFile, JSON.stringify(createManifest({ model: 'mlp', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }, training: { localSteps: 5 } })))
  const datadir = join(options.directory, 'node')
  const random = createRandom(options.seed ?? 1)
  let peerId: string | undefined
  let lastStep = 0
  let corrupted = 0
  let unhealthy = 0
  let finalStep: number | null = null
  for (let cycle = 1; cycle <= options.cycles; cycle++) {
    const node = await NodeProcess.start({
      index: 1, manifestFile, dataSpec: 'mnist:1/8', datadir, listen: '/ip4/127.0.0.1/tcp/0', bootstrap: [],
      extraArgs: ['--checkpoint-interval', '250ms', '--no-warm-join', '--no-mdns'], log: () => {}
    })
    peerId ??= node.ready?.peerId
    const status = await node.status()
    const healthy = node.ready?.peerId === peerId && status !== null && status.step >= lastStep
    const killedAfterMs = Math.round(50 + random.next() * 2_000)
    await new Promise(resolve => setTimeout(resolve, killedAfterMs))
    await node.kill()
    const store = await NodeStore.open(datadir)
    const reading = await store.readCheckpoint()
    await store.close()
    if (reading.problems.length > 0) corrupted++
    if (!healthy) unhealthy++
    if (reading.checkpoint !== null) {
      if (reading.checkpoint.step < lastStep) unhealthy++
      lastStep = reading.checkpoint.step
      finalStep = reading.checkpoint.step
    }
    options.onCycle?.({ cycle, killedAfterMs, restartedHealthy: healthy, checkpointStep: reading.checkpoint?.step ?? null, problems: reading.problems })
  }
  return { cycles: options.cycles, corruptedCheckpoints: corrupted, unhealthyRestarts: unhealthy, finalCheckpointStep: finalStep }
}
