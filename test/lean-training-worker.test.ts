import { Worker } from 'node:worker_threads'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createManifest } from '../src/learning/manifest.js'
import type { TrainingWorkerInit } from '../src/learning/worker-protocol.js'
import { compiledModule } from '../src/paths.js'

/**
 * Runs the training worker behind a module resolve hook that reports every module it loads, trains
 * one step, and returns the worker's backend and the TF.js modules it loaded.
 */
async function trainInWorker (init: TrainingWorkerInit): Promise<{ backend: string; tfjs: string[] }> {
  const wrapper = `
    import { registerHooks } from 'node:module'
    import { parentPort } from 'node:worker_threads'
    registerHooks({ resolve (specifier, context, next) { const result = next(specifier, context); parentPort.postMessage({ type: 'module', url: result.url }); return result } })
    await import(${JSON.stringify(pathToFileURL(compiledModule('learning/training-worker.js')).href)})
  `
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(wrapper)}`), { workerData: init })
  const tfjs: string[] = []
  try {
    return await new Promise((resolve, reject) => {
      let backend = ''
      worker.on('message', (message: { type: string; url?: string; backend?: string; ok?: boolean; error?: { message: string } }) => {
        if (message.type === 'module' && message.url?.includes('/@tensorflow/') === true) tfjs.push(message.url)
        if (message.type === 'failed') reject(new Error(message.error?.message))
        if (message.type === 'ready') {
          backend = message.backend ?? ''
          worker.postMessage({ id: 0, method: 'train', steps: 1 })
        }
        if (message.type === 'response') {
          if (message.ok === true) resolve({ backend, tfjs })
          else reject(new Error(message.error?.message))
        }
      })
      worker.once('error', reject)
    })
  } finally {
    await worker.terminate()
  }
}

function manifest (model: string): TrainingWorkerInit['manifest'] {
  return createManifest({ model, dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 } })
}

describe('a node\'s training worker', () => {
  it('never loads TF.js for an mlp or logistic model; it does for a cnn and for a TF.js backend named', async () => {
    for (const model of ['mlp', 'logistic'] as const) {
      const run = await trainInWorker({ manifest: manifest(model), data: 'mnist:1/32', seed: 1 })
      expect(run.backend).toBe('flat')
      expect(run.tfjs).toEqual([])
    }
    // Controls: the hook sees TF.js where the worker needs it.
    const named = await trainInWorker({ manifest: manifest('mlp'), data: 'mnist:1/32', seed: 1, backend: 'cpu' })
    expect(named.backend).toBe('cpu')
    expect(named.tfjs.length).toBeGreaterThan(0)
    const cnn = await trainInWorker({ manifest: manifest('cnn'), data: 'mnist:1/32', seed: 1 })
    expect(cnn.backend).not.toBe('flat')
    expect(cnn.tfjs.length).toBeGreaterThan(0)
  })
})
