import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { describe, it, expect } from 'vitest'
import { createRandom } from '../src/data/random.js'
import { createManifest } from '../src/learning/manifest.js'
import type { NodeStatus } from '../src/node/status.js'
import { emptyCounters, NodeStore, type Checkpoint } from '../src/node/store.js'
import { NodeProcess } from '../src/swarm/node-process.js'
import { sleep, temporaryDirectory } from './helpers.js'

function checkpoint (step: number, model: Uint8Array): Checkpoint {
  return { swarmId: 'swarm', step, samplesProcessed: step * 32, savedAt: new Date().toISOString(), counters: emptyCounters(), model }
}

describe('the checkpoint store', () => {
  it('keeps the previous checkpoint and falls back to it when the latest is damaged', async () => {
    const directory = await temporaryDirectory('store')
    const store = await NodeStore.open(directory)
    await store.writeCheckpoint(checkpoint(10, new Uint8Array([1, 2, 3])))
    await store.writeCheckpoint(checkpoint(20, new Uint8Array([4, 5, 6])))
    const intact = await store.readCheckpoint()
    expect(intact.checkpoint?.step).toBe(20)
    expect(intact.problems).toEqual([])
    await store.close()

    // Flip the bytes of the newest model behind the store's back, as a failing disk would.
    const db = new ClassicLevel<string, Uint8Array>(directory, { valueEncoding: 'view' })
    const latest = new TextDecoder().decode(await db.get('checkpoint/latest'))
    await db.put(`checkpoint/${latest}/model`, new Uint8Array([9, 9, 9]))
    await db.close()

    const reopened = await NodeStore.open(directory)
    const reading = await reopened.readCheckpoint()
    expect(reading.checkpoint?.step).toBe(10)
    expect(Array.from(reading.checkpoint?.model ?? [])).toEqual([1, 2, 3])
    expect(reading.problems.join(' ')).toContain('checksum mismatch')
    await reopened.close()
  })

  it('reports an unknown format version instead of reading it', async () => {
    const directory = await temporaryDirectory('store-version')
    const store = await NodeStore.open(directory)
    await store.writeCheckpoint(checkpoint(5, new Uint8Array([1])))
    await store.close()
    const db = new ClassicLevel<string, Uint8Array>(directory, { valueEncoding: 'view' })
    const meta = JSON.parse(new TextDecoder().decode(await db.get('checkpoint/a/meta'))) as Record<string, unknown>
    await db.put('checkpoint/a/meta', new TextEncoder().encode(JSON.stringify({ ...meta, formatVersion: 99 })))
    await db.close()
    const reopened = await NodeStore.open(directory)
    const reading = await reopened.readCheckpoint()
    expect(reading.checkpoint).toBeNull()
    expect(reading.problems.join(' ')).toContain('format version 99')
    await reopened.close()
  })

  it('format 2 keeps the training model beside the served one; a record of format 1 (served model only) is still read', async () => {
    const directory = await temporaryDirectory('store-formats')
    const store = await NodeStore.open(directory)
    await store.writeCheckpoint({ ...checkpoint(5, new Uint8Array([1, 2])), training: new Uint8Array([3, 4]) })
    const both = (await store.readCheckpoint()).checkpoint
    expect(Array.from(both?.training ?? [])).toEqual([3, 4])
    // A later checkpoint without one (before the node's first round) does not pick up the other slot's.
    await store.writeCheckpoint(checkpoint(6, new Uint8Array([5])))
    await store.writeCheckpoint(checkpoint(7, new Uint8Array([6])))
    expect((await store.readCheckpoint()).checkpoint?.training).toBeUndefined()
    await store.close()

    // A format-1 record, as the previous release wrote it: its checksum covers version 1 and the model.
    const fields = checkpoint(8, new Uint8Array([7, 7]))
    const checksum = createHash('sha256')
      .update(JSON.stringify([1, fields.swarmId, fields.step, fields.samplesProcessed, fields.savedAt, fields.counters]))
      .update(fields.model)
      .digest('hex')
    const { model, ...meta } = fields
    const db = new ClassicLevel<string, Uint8Array>(directory, { valueEncoding: 'view' })
    await db.batch([
      { type: 'put', key: 'checkpoint/b/meta', value: new TextEncoder().encode(JSON.stringify({ ...meta, formatVersion: 1, checksum })) },
      { type: 'put', key: 'checkpoint/b/model', value: model },
      { type: 'put', key: 'checkpoint/b/training', value: new Uint8Array([9]) },
      { type: 'put', key: 'checkpoint/latest', value: new TextEncoder().encode('b') }
    ])
    await db.close()
    const reopened = await NodeStore.open(directory)
    const reading = await reopened.readCheckpoint()
    expect(reading.problems).toEqual([])
    expect(reading.checkpoint?.step).toBe(8)
    expect(Array.from(reading.checkpoint?.model ?? [])).toEqual([7, 7])
    // A version-1 record has no training model: a stray key is not read as one.
    expect(reading.checkpoint?.training).toBeUndefined()
    await reopened.close()
  })

  it('refuses a datadir that another node holds, with a clear message', async () => {
    const directory = await temporaryDirectory('store-locked')
    const store = await NodeStore.open(directory)
    await expect(NodeStore.open(directory)).rejects.toThrow(/in use by another node/)
    await store.close()
  })
})

describe('a node killed with SIGKILL at random moments', () => {
  it('restarts healthy every time: same peer id, a checkpoint that verifies, progress kept', async () => {
    const directory = await temporaryDirectory('crash')
    const manifestFile = join(directory, 'manifest.json')
    await writeFile(manifestFile, JSON.stringify(createManifest({ model: 'logistic', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }, training: { localSteps: 5 } })))
    const datadir = join(directory, 'state')
    const options = {
      index: 1,
      manifestFile,
      dataSpec: 'mnist:3/10',
      datadir,
      listen: '/ip4/127.0.0.1/tcp/0',
      bootstrap: [],
      extraArgs: ['--checkpoint-interval', '300ms', '--no-warm-join'],
      log: () => {}
    }
    const random = createRandom(2024)
    let peerId: string | undefined
    let lastCheckpointStep = 0
    const cycles = 20
    for (let cycle = 0; cycle < cycles; cycle++) {
      const node = await NodeProcess.start(options)
      peerId ??= node.ready?.peerId
      expect(node.ready?.peerId).toBe(peerId)
      let status: NodeStatus | null = null
      for (let attempt = 0; attempt < 50 && status === null; attempt++) status = await node.status()
      expect(status?.restarts).toBe(cycle)
      expect(status?.step ?? -1).toBeGreaterThanOrEqual(lastCheckpointStep)
      await sleep(100 + random.next() * 1_400)
      await node.kill()

      const store = await NodeStore.open(datadir)
      const reading = await store.readCheckpoint()
      await store.close()
      expect(reading.problems).toEqual([])
      if (reading.checkpoint !== null) {
        expect(reading.checkpoint.step).toBeGreaterThanOrEqual(lastCheckpointStep)
        lastCheckpointStep = reading.checkpoint.step
      }
    }
    expect(lastCheckpointStep).toBeGreaterThan(0)
  }, 300_000)
})
