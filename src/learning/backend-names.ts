/** The TF.js backends a process node tries, fastest first; in a module of their own so that naming one does not load TF.js. */
export const BACKEND_NAMES = ['tensorflow', 'wasm', 'cpu'] as const
/** The backends a browser node tries, fastest first: WebGL where the browser has it, else wasm. */
export const BROWSER_BACKEND_NAMES = ['webgl', 'wasm', 'cpu'] as const
export type BackendName = typeof BACKEND_NAMES[number] | typeof BROWSER_BACKEND_NAMES[number]

export function isBackendName (name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name) || (BROWSER_BACKEND_NAMES as readonly string[]).includes(name)
}
