import { spawnSync } from 'node:child_process'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { compiledModule } from '../src/paths.js'

/**
 * Starts a process node's trainer (startTrainer, what `murmur start` runs) in a fresh Node.js process
 * whose every thread has a resolve hook (--import runs in worker threads too), trains one step, and
 * returns the backend and the TF.js modules any thread loaded.
 */
function trainInFreshProcess (model: string, backend?: string): { backend: string; tfjs: string[] } {
  const hook = `
    import { registerHooks } from 'node:module'
    registerHooks({ resolve (specifier, context, next) { const result = next(specifier, context); if (result.url.includes('/@tensorflow/')) process.stderr.write('TFJS ' + result.url + '\\n'); return result } })
  `
  // CommonJS (no --input-type: worker threads inherit the flags and would refuse it).
  const script = `(async () => {
    const { startTrainer } = await import(${JSON.stringify(pathToFileURL(compiledModule('node/trainer-start.js')).href)})
    const { createManifest } = await import(${JSON.stringify(pathToFileURL(compiledModule('learning/manifest.js')).href)})
    const manifest = createManifest({ model: ${JSON.stringify(model)}, dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 } })
    const trainer = await startTrainer({ manifest, dataSpec: 'mnist:1/32'${backend === undefined ? '' : `, backend: ${JSON.stringify(backend)}`} }, 1)
    const result = await trainer.train(1)
    await trainer.close()
    process.stdout.write(JSON.stringify({ backend: trainer.backend, samples: result.samples }) + '\\n')
  })().catch(error => { console.error(error); process.exit(1) })`
  const run = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, '-e', script], { encoding: 'utf8', timeout: 120_000 })
  expect(run.status, run.stderr).toBe(0)
  const result = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as { backend: string; samples: number }
  expect(result.samples).toBe(32)
  return { backend: result.backend, tfjs: run.stderr.split('\n').filter(line => line.startsWith('TFJS ')) }
}

describe('a process node\'s trainer', () => {
  it('never loads TF.js, on any thread, for an mlp or logistic model; the hook sees TF.js when a TF.js backend is named', () => {
    for (const model of ['mlp', 'logistic']) {
      const run = trainInFreshProcess(model)
      expect(run.backend).toBe('flat')
      expect(run.tfjs).toEqual([])
    }
    // Control: the same node with a TF.js backend named trains in its worker thread, with TF.js.
    const named = trainInFreshProcess('mlp', 'cpu')
    expect(named.backend).toBe('cpu')
    expect(named.tfjs.length).toBeGreaterThan(0)
  })
})
