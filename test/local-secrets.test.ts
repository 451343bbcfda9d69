import { chmod, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, it, expect } from 'vitest'
import { keygenCommand } from '../src/cli/commands/keygen.js'
import { isMurmurError } from '../src/errors.js'
import { issueApiToken, readApiToken } from '../src/node/api-token.js'
import { emptyCounters, NodeStore } from '../src/node/store.js'
import { generateSwarmKey, readSwarmKey } from '../src/p2p/swarm-key.js'
import { rejectionOf, temporaryDirectory } from './helpers.js'

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777

/** Modes of every file directly in a directory. */
async function fileModes (directory: string): Promise<Record<string, number>> {
  const entries = await readdir(directory, { withFileTypes: true })
  return Object.fromEntries(await Promise.all(entries.filter(entry => entry.isFile()).map(async entry => [entry.name, await modeOf(join(directory, entry.name))] as const)))
}

// The usual umask (022) makes new files 644 and directories 755 unless the code asks otherwise: the
// control that the modes checked below come from murmur, not from a strict umask on this machine.
let previousUmask = 0
beforeAll(() => { previousUmask = process.umask(0o022) })
afterAll(() => { process.umask(previousUmask) })

describe('the datadir', () => {
  it('is created 700, and the LevelDB files in it (the private key among them) are 600', async () => {
    const datadir = join(await temporaryDirectory('secrets'), 'nested', 'state')
    const store = await NodeStore.open(datadir)
    await store.identity()
    await store.writeCheckpoint({ swarmId: 's', step: 1, samplesProcessed: 32, savedAt: new Date().toISOString(), counters: emptyCounters(), model: new Uint8Array([1]) })
    expect(await modeOf(datadir)).toBe(0o700)
    expect(store.warnings).toEqual([])
    await store.close()
    const modes = await fileModes(datadir)
    expect(Object.keys(modes).length).toBeGreaterThan(2)
    for (const [name, mode] of Object.entries(modes)) expect(mode.toString(8), name).toBe('600')
  })

  it('is made private when an older node left it readable by others, with a warning saying so', async () => {
    const datadir = join(await temporaryDirectory('secrets-old'), 'state')
    await (await NodeStore.open(datadir)).close()
    await chmod(datadir, 0o755)
    for (const name of Object.keys(await fileModes(datadir))) await chmod(join(datadir, name), 0o644)

    const store = await NodeStore.open(datadir)
    await store.close()
    expect(await modeOf(datadir)).toBe(0o700)
    expect(Object.values(await fileModes(datadir)).every(mode => mode === 0o600)).toBe(true)
    expect(store.warnings.join(' ')).toMatch(/was mode 755: made it 700.*mode 600.*private key/)
  })
})

describe('swarm key files', () => {
  it('are refused when others may read them, naming the file and the chmod that fixes it', async () => {
    const keyFile = join(await temporaryDirectory('swarm-key'), 'swarm.key')
    await writeFile(keyFile, generateSwarmKey(), { mode: 0o600 })
    await expect(readSwarmKey(keyFile)).resolves.toHaveLength(95)
    await chmod(keyFile, 0o640)
    const error = await rejectionOf(async () => readSwarmKey(keyFile))
    expect(isMurmurError(error, 'ERR_INSECURE_PERMISSIONS')).toBe(true)
    expect((error as Error).message).toContain(keyFile)
    expect((error as Error).message).toContain(`chmod 600 ${keyFile}`)
    expect((error as Error).message).toContain('640')
  })

  it('are written 600 by keygen, also over an existing file with --force', async () => {
    const directory = await temporaryDirectory('keygen')
    const keyFile = join(directory, 'swarm.key')
    await writeFile(keyFile, 'old key, world-readable\n', { mode: 0o644 })
    expect(await modeOf(keyFile)).toBe(0o644)
    // Without --force an existing file is kept as it is.
    await expect(keygenCommand().exitOverride().parseAsync(['--out', keyFile], { from: 'user' })).rejects.toThrow(/exists; add --force/)
    expect(await readFile(keyFile, 'utf8')).toBe('old key, world-readable\n')

    await keygenCommand().parseAsync(['--out', keyFile, '--force'], { from: 'user' })
    expect(await modeOf(keyFile)).toBe(0o600)
    await expect(readSwarmKey(keyFile)).resolves.toHaveLength(95)

    const fresh = join(directory, 'fresh.key')
    await keygenCommand().parseAsync(['--out', fresh], { from: 'user' })
    expect(await modeOf(fresh)).toBe(0o600)
  })
})

describe('the API token file', () => {
  it('is written 600 to the datadir, replaced at every start, and refused by clients when others may read it', async () => {
    const datadir = await temporaryDirectory('token')
    const first = await issueApiToken(datadir)
    expect(first.file).toBe(join(datadir, 'api-token'))
    expect(await modeOf(first.file)).toBe(0o600)
    expect(await readApiToken(first.file)).toBe(first.token)
    await chmod(first.file, 0o644)
    const second = await issueApiToken(datadir)
    expect(second.token).not.toBe(first.token)
    expect(await modeOf(second.file)).toBe(0o600)
    await chmod(second.file, 0o644)
    expect(isMurmurError(await rejectionOf(async () => readApiToken(second.file)), 'ERR_INSECURE_PERMISSIONS')).toBe(true)
  })
})
