import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, expect } from 'vitest'
import { createManifest } from '../src/learning/manifest.js'
import { NodeProcess } from '../src/swarm/node-process.js'
import { schemaErrors, temporaryDirectory, waitFor } from './helpers.js'


describe('one node process (murmur start)', () => {
  it('serves /status and /metrics, and resumes after a restart with the same peer id and step', async () => {
    const directory = await temporaryDirectory('node')
    const manifestFile = join(directory, 'manifest.json')
    await writeFile(manifestFile, JSON.stringify(createManifest({ model: 'logistic', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 } })))
    const options = {
      index: 1,
      manifestFile,
      dataSpec: 'mnist:2/10',
      datadir: join(directory, 'state'),
      listen: '/ip4/127.0.0.1/tcp/0',
      bootstrap: [],
      maxCpu: 0.5,
      log: () => {}
    }

    const first = await NodeProcess.start(options)
    // It must learn on its own data: a held-out accuracy above 60 % within the minute.
    const running = await waitFor(first, status => status.step >= 100 && (status.lastAccuracy ?? 0) > 0.6)
    expect(schemaErrors('node-status', running)).toEqual([])
    expect(running.peerId).toBe(first.ready?.peerId)
    expect(running.restarts).toBe(0)
    expect(running.maxCpu).toBe(0.5)

    const metrics = await (await fetch(`http://${first.ready?.api ?? ''}/metrics`)).text()
    const steps = /^murmur_training_steps_total (\d+)$/m.exec(metrics)
    expect(Number(steps?.[1])).toBeGreaterThanOrEqual(100)
    expect(metrics).toMatch(/^murmur_peers 0$/m)
    expect((await fetch(`http://${first.ready?.api ?? ''}/nothing`)).status).toBe(404)

    expect(await first.stop()).toBe(0)

    const second = await NodeProcess.start(options)
    try {
      expect(second.ready?.peerId).toBe(first.ready?.peerId)
      const resumed = await waitFor(second, () => true)
      expect(resumed.restarts).toBe(1)
      // The final checkpoint was taken at or after the last step seen while running.
      expect(resumed.checkpoint.step).toBeGreaterThanOrEqual(running.step)
      // Counters come back from the checkpoint too, not only the step.
      expect(resumed.samplesProcessed).toBeGreaterThanOrEqual(running.samplesProcessed)
      expect(resumed.exchanges).toBeGreaterThanOrEqual(running.exchanges)
      const later = await waitFor(second, status => status.step > resumed.checkpoint.step)
      expect(later.samplesProcessed).toBeGreaterThan(running.samplesProcessed)
    } finally {
      await second.stop()
    }
  }, 180_000)
})
