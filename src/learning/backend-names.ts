/** The TF.js backends murmur knows, in a module of their own so that naming one does not load TF.js. */
export const BACKEND_NAMES = ['tensorflow', 'wasm', 'cpu'] as const
export type BackendName = typeof BACKEND_NAMES[number]

export function isBackendName (name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name)
}
