import { readdir, stat, writeFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { describe, it, expect } from 'vitest'
import { createManifest } from '../src/learning/manifest.js'
import { MurmurNode } from '../src/node/murmur-node.js'
import type { NodeStatus } from '../src/node/status.js'
import { emptyCounters, NodeStore } from '../src/node/store.js'
import { NodeProcess } from '../src/swarm/node-process.js'
import { schemaErrors, temporaryDirectory, waitFor } from './helpers.js'

const manifest = createManifest({ model: 'logistic', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 }, training: { localSteps: 5 } })

/** Flips the newest checkpoint's model bytes behind the store's back, as a failing disk would. */
async function damageLatestCheckpoint (datadir: string): Promise<void> {
  const db = new ClassicLevel<string, Uint8Array>(datadir, { valueEncoding: 'view' })
  const latest = new TextDecoder().decode(await db.get('checkpoint/latest'))
  await db.put(`checkpoint/${latest}/model`, new Uint8Array([9, 9, 9]))
  await db.close()
}

async function status (api: string): Promise<NodeStatus> {
  return await (await fetch(`http://${api}/status`)).json() as NodeStatus
}

/** A PUT with a Host header of the caller's choice (fetch would not send a foreign one). */
async function put (api: string, path: string, headers: Record<string, string>, body: string): Promise<number> {
  const [host, port] = [api.slice(0, api.lastIndexOf(':')), Number(api.slice(api.lastIndexOf(':') + 1))]
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host, port, method: 'PUT', path, headers }, response => { response.resume(); resolve(response.statusCode ?? 0) })
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

describe('the store reports what it repaired', () => {
  it('warns when LevelDB had to repair the database, and keeps what survived', async () => {
    const datadir = await temporaryDirectory('repair')
    const store = await NodeStore.open(datadir)
    const { identity } = await store.identity()
    await store.writeCheckpoint({ swarmId: 's', step: 7, samplesProcessed: 224, savedAt: new Date().toISOString(), counters: emptyCounters(), model: new Uint8Array([1, 2]) })
    await store.close()
    await writeFile(join(datadir, 'CURRENT'), 'garbage')

    const repaired = await NodeStore.open(datadir)
    try {
      expect(repaired.warnings.join(' ')).toMatch(/was damaged \(.*CURRENT.*\) and LevelDB repaired it/)
      expect((await repaired.identity()).identity.equals(identity)).toBe(true)
      expect((await repaired.readCheckpoint()).checkpoint?.step).toBe(7)
    } finally {
      await repaired.close()
    }
  })
})

describe('a node whose disk fails', () => {
  it('warns, retries the checkpoint with backoff and keeps running, then saves again', async () => {
    const datadir = join(await temporaryDirectory('disk-full'), 'state')
    let failuresLeft = 0
    const store = await NodeStore.open(datadir, {
      checkpointWriteFault: () => {
        if (failuresLeft <= 0) return undefined
        failuresLeft--
        return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
      }
    })
    const node = await MurmurNode.start({
      manifest, dataSpec: 'mnist:1/10', datadir, store, api: { host: '127.0.0.1', port: 0 },
      listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, warmJoin: false, maxCpu: 0.5, checkpointIntervalMs: 200
    })
    const warnings: string[] = []
    const errors: Error[] = []
    const checkpoints: number[] = []
    node.addEventListener('warning', event => { warnings.push(event.detail.message) })
    node.addEventListener('error', event => { errors.push(event.detail) })
    node.addEventListener('checkpoint', event => { checkpoints.push(event.detail.step) })
    try {
      // Healthy first: a checkpoint is written.
      await until(() => checkpoints.length > 0)
      const failing = 3
      failuresLeft = failing
      const failedFrom = checkpoints.length
      await until(() => warnings.some(message => message.startsWith('checkpoint written again')))
      // The control: the writes did fail, three times, each announced with its retry.
      const failures = warnings.filter(message => message.startsWith('checkpoint write failed'))
      expect(failures).toHaveLength(failing)
      expect(failures[0]).toMatch(/\(1 in a row\): ENOSPC.*retries in 1\.0 s/)
      expect(failures[2]).toMatch(/3 in a row.*retries in 4\.0 s/)
      expect(warnings).toContain(`checkpoint written again after ${failing} failed attempts`)
      // It trained on meanwhile and saved again; nothing stopped it.
      expect(errors).toEqual([])
      const stepAtFailure = checkpoints[failedFrom - 1] ?? 0
      expect(checkpoints[checkpoints.length - 1]).toBeGreaterThan(stepAtFailure)
      const current = await status(node.apiAddress ?? '')
      expect(schemaErrors('node-status', current)).toEqual([])
      expect(current.step).toBeGreaterThan(stepAtFailure)
      expect(current.checkpoint.step).toBeGreaterThan(stepAtFailure)
      expect((current.warnings ?? []).filter(warning => warning.message.startsWith('checkpoint write failed'))).toHaveLength(failing)
    } finally {
      await node.stop()
    }
  }, 120_000)
})

/** Waits on a condition the node's events make true; fails after the timeout. */
async function until (condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

describe('murmur start, locally', () => {
  it('keeps its datadir private, guards its API with a token, and reports a rolled-back checkpoint in /status', async () => {
    const directory = await temporaryDirectory('local-node')
    const manifestFile = join(directory, 'manifest.json')
    await writeFile(manifestFile, JSON.stringify(manifest))
    const datadir = join(directory, 'state')
    const options = {
      index: 1, manifestFile, dataSpec: 'mnist:2/10', datadir, listen: '/ip4/127.0.0.1/tcp/0', bootstrap: [], maxCpu: 0.5,
      extraArgs: ['--checkpoint-interval', '300ms', '--no-warm-join'], log: () => {}
    }
    const first = await NodeProcess.start(options)
    try {
      const api = first.ready?.api ?? ''
      expect(first.ready?.apiTokenFile).toBe(join(datadir, 'api-token'))
      expect((await stat(join(datadir, 'api-token'))).mode & 0o777).toBe(0o600)
      // Two checkpoints at least, so that a damaged newest one leaves an older one to roll back to.
      const saved = await waitFor(first, s => s.checkpoint.step > 0)
      await waitFor(first, s => s.checkpoint.step > saved.checkpoint.step)
      expect((await status(api)).warnings).toEqual([])

      // Changes need the token; GET does not; a foreign Host gets nothing.
      expect(await put(api, '/blocked-peers', {}, '["12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"]')).toBe(401)
      expect(await put(api, '/blocked-peers', { host: 'rebind.attacker.example' }, '[]')).toBe(421)
      expect((await status(api)).blockedPeers).toBe(0)
      await first.setBlockedPeers(['12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'])
      expect((await status(api)).blockedPeers).toBe(1)
    } finally {
      expect(await first.stop()).toBe(0)
    }
    expect((await stat(datadir)).mode & 0o777).toBe(0o700)
    for (const name of await readdir(datadir)) expect(((await stat(join(datadir, name))).mode & 0o777).toString(8), name).toBe('600')

    await damageLatestCheckpoint(datadir)
    const second = await NodeProcess.start(options)
    try {
      const resumed = await waitFor(second, () => true)
      expect(schemaErrors('node-status', resumed)).toEqual([])
      const messages = (resumed.warnings ?? []).map(warning => warning.message).join('\n')
      expect(messages).toMatch(/latest checkpoint in .* skipped: checksum mismatch/)
      expect(resumed.restarts).toBe(1)
    } finally {
      await second.stop()
    }
  }, 180_000)
})
