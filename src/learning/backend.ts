import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { MurmurError } from '../errors.js'

export const BACKEND_NAMES = ['tensorflow', 'wasm', 'cpu'] as const
export type BackendName = typeof BACKEND_NAMES[number]

export function isBackendName (name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name)
}

// A variable specifier keeps TypeScript and bundlers from requiring the optional native package.
const NATIVE_PACKAGE = '@tensorflow/tfjs-node'

async function tryBackend (name: BackendName): Promise<string | null> {
  try {
    if (name === 'tensorflow' && tf.findBackendFactory('tensorflow') === null) await import(NATIVE_PACKAGE)
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
  /** the wasm backend has no Conv2DBackpropFilter kernel yet, so convolutional models skip it */
  readonly needsConvolutionGradients?: boolean
}

/** Picks the fastest backend that works here: native TensorFlow, then wasm, then plain JS. */
export async function selectBackend (options: BackendOptions = {}): Promise<BackendName> {
  if (options.preference !== undefined) {
    const problem = await tryBackend(options.preference)
    if (problem !== null) {
      throw new MurmurError('ERR_BACKEND_UNAVAILABLE', `backend "${options.preference}" cannot be used here: ${problem}` +
        (options.preference === 'tensorflow' ? ' (install the optional package @tensorflow/tfjs-node)' : ''))
    }
    return options.preference
  }
  const chain: BackendName[] = options.needsConvolutionGradients === true ? ['tensorflow', 'cpu'] : ['tensorflow', 'wasm', 'cpu']
  for (const name of chain) {
    if (await tryBackend(name) === null) return name
  }
  throw new MurmurError('ERR_BACKEND_UNAVAILABLE', 'no TF.js backend could be initialised')
}
