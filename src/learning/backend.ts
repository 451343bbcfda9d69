import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { MurmurError } from '../errors.js'
import { BACKEND_NAMES, type BackendName } from './backend-names.js'
import { registerWasmGradientKernels } from './wasm-kernels/index.js'

export { BACKEND_NAMES, BROWSER_BACKEND_NAMES, isBackendName, type BackendName } from './backend-names.js'

// A variable specifier keeps TypeScript and bundlers from requiring the optional native package.
const NATIVE_PACKAGE = '@tensorflow/tfjs-node'

async function tryBackend (name: BackendName): Promise<string | null> {
  try {
    if (name === 'tensorflow' && tf.findBackendFactory('tensorflow') === null) await import(NATIVE_PACKAGE)
    // Before the backend starts, so that the kernels murmur replaces still get their setup run.
    if (name === 'wasm') registerWasmGradientKernels()
    if (!(await tf.setBackend(name))) return `TF.js could not initialise the ${name} backend`
    await tf.ready()
    return null
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

export interface BackendOptions {
  /** force this backend; fail if it cannot load */
  readonly preference?: BackendName
  /**
   * Whether the model trains convolutions. Every backend in the chain can now (murmur adds the
   * gradient kernels the wasm backend lacks), so this no longer changes the choice; kept so that
   * callers need not change.
   */
  readonly needsConvolutionGradients?: boolean
  /** the backends to try, fastest first (default BACKEND_NAMES, a process node's; a browser node's: BROWSER_BACKEND_NAMES) */
  readonly chain?: readonly BackendName[]
}

/**
 * Picks the fastest backend that works here: native TensorFlow, then wasm (with murmur's gradient
 * kernels it trains convolutional models too, many times faster than plain JS), then plain JS.
 * In Node the wasm backend runs its SIMD build on one thread: its threaded build needs Web Workers
 * made from Blob URLs, which Node cannot start.
 */
export async function selectBackend (options: BackendOptions = {}): Promise<BackendName> {
  // Production mode: no debug checks, and no console advice to install tfjs-node on every process.
  tf.env().set('PROD', true)
  if (options.preference !== undefined) {
    const problem = await tryBackend(options.preference)
    if (problem !== null) {
      throw new MurmurError('ERR_BACKEND_UNAVAILABLE', `backend "${options.preference}" cannot be used here: ${problem}` +
        (options.preference === 'tensorflow' ? ' (install the optional package @tensorflow/tfjs-node)' : ''))
    }
    return options.preference
  }
  for (const name of options.chain ?? BACKEND_NAMES) {
    if (await tryBackend(name) === null) return name
  }
  throw new MurmurError('ERR_BACKEND_UNAVAILABLE', 'no TF.js backend could be initialised')
}
