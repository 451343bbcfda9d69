import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, it, expect } from 'vitest'
import { parseManifest, swarmIdOf } from '../src/learning/manifest.js'
import * as tf from '@tensorflow/tfjs'
import { selectBackend } from '../src/learning/backend.js'
import { temporaryDirectory } from './helpers.js'
import { customModel, saveModel } from './model-helpers.js'

const cli = new URL('../dist/cli/index.js', import.meta.url).pathname

async function murmur (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], { timeout: 60_000 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

describe('the murmur command line', () => {
  it('prints a manifest whose hash is stable and depends on the seed', async () => {
    const first = await murmur('manifest', '--model', 'mlp', '--dataset', 'mnist', '--seed', '3')
    const again = await murmur('manifest', '--model', 'mlp', '--dataset', 'mnist', '--seed', '3')
    const other = await murmur('manifest', '--model', 'mlp', '--dataset', 'mnist', '--seed', '4')
    expect(first.code).toBe(0)
    const manifest = parseManifest(JSON.parse(first.stdout))
    expect(manifest.seed).toBe(3)
    expect(manifest.dataset).toEqual({ name: 'mnist', inputShape: [28, 28, 1], classes: 10 })
    expect(swarmIdOf(parseManifest(JSON.parse(again.stdout)))).toBe(swarmIdOf(manifest))
    expect(swarmIdOf(parseManifest(JSON.parse(other.stdout)))).not.toBe(swarmIdOf(manifest))
  })

  it('takes a TF.js model.json as the architecture, and refuses an unsupported layer by name', async () => {
    const directory = await temporaryDirectory('cli-model')
    await selectBackend()
    const model = customModel()
    const file = await saveModel(model, directory)
    const result = await murmur('manifest', '--model-file', file, '--dataset', 'mnist')
    expect(result.code, result.stderr).toBe(0)
    const manifest = parseManifest(JSON.parse(result.stdout))
    expect(manifest.model.name).toBe('custom_mlp')
    expect('topology' in manifest.model && manifest.model.initialWeights !== undefined).toBe(true)
    const recurrent = tf.sequential()
    recurrent.add(tf.layers.gru({ units: 4, inputShape: [28, 28] }))
    recurrent.add(tf.layers.dense({ units: 10, activation: 'softmax' }))
    const refused = await murmur('manifest', '--model-file', await saveModel(recurrent, directory), '--dataset', 'mnist')
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/--model-file: .*unsupported layer GRU/)
    model.dispose()
    recurrent.dispose()
  })

  it('has --help on every command', async () => {
    for (const command of ['manifest', 'start', 'swarm', 'export', 'predict']) {
      const result = await murmur(command, '--help')
      expect(result.code).toBe(0)
      expect(result.stdout).toContain(`Usage: murmur ${command}`)
    }
  })

  it('rejects bad flags with a message naming the flag and a non-zero exit', async () => {
    const directory = await temporaryDirectory('cli')
    const manifestFile = join(directory, 'manifest.json')
    await writeFile(manifestFile, (await murmur('manifest')).stdout)
    const cases: Array<[string[], string]> = [
      [['swarm', '--nodes', 'many'], '--nodes'],
      [['swarm', '--duration', 'soon'], '--duration'],
      [['swarm', '--partition', 'dirichlet:-1'], '--partition'],
      [['swarm', '--model', 'transformer'], '--model'],
      [['swarm', '--frobnicate'], '--frobnicate'],
      [['manifest', '--seed', '-5'], '--seed'],
      [['start', '--manifest', manifestFile, '--datadir', directory, '--data', 'mnist:9/8'], '--data'],
      [['start', '--manifest', manifestFile, '--datadir', directory, '--data', 'mnist:1/8', '--api', 'localhost'], '--api'],
      [['start', '--manifest', join(directory, 'missing.json'), '--datadir', directory, '--data', 'mnist:1/8'], '--manifest'],
      [['start', '--manifest', manifestFile, '--datadir', directory, '--data', 'mnist:1/8', '--bootstrap', '/ip4/127.0.0.1/tcp/1'], '--bootstrap'],
      [['start', '--manifest', manifestFile, '--datadir', directory], '--data'],
      [['start', '--manifest', manifestFile, '--datadir', directory, '--data', 'mnist:1/8', '--max-cpu', '0'], '--max-cpu'],
      [['start', '--manifest', manifestFile, '--datadir', directory, '--data', 'mnist:1/8', '--backend', 'gpu'], '--backend'],
      [['swarm', '--profiles', 'fast:0.5,slow:0.2'], '--profiles'],
      [['manifest', '--model-file', join(directory, 'missing.json')], '--model-file'],
      [['manifest', '--model-file', manifestFile, '--model', 'cnn'], '--model-file'],
      [['swarm', '--dashboard', 'anywhere'], '--dashboard'],
      [['export', '--datadir', join(directory, 'no-node'), '--out', join(directory, 'out')], '--datadir'],
      [['predict', '--model', join(directory, 'no-model'), '--data', 'mnist'], '--model']
    ]
    for (const [args, flag] of cases) {
      const result = await murmur(...args)
      expect(result.code, args.join(' ')).not.toBe(0)
      expect(result.stderr, args.join(' ')).toContain(flag)
    }
  })
})
