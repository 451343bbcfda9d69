import type { NodeData } from '../data/node-data.js'
import type { BackendName } from '../learning/backend-names.js'
import type { Manifest } from '../learning/manifest.js'

/** What a browser node's training worker is started with (its first message). */
export interface BrowserWorkerInit {
  readonly type: 'init'
  readonly manifest: Manifest
  /** the node's records, already split (they never leave the tab) */
  readonly data: NodeData
  /** seeds the order the trainer visits its records */
  readonly seed: number
  /** where TF.js finds its .wasm files (a URL ending in /) */
  readonly wasmPath: string
  /** a backend to use instead of the fastest that loads (webgl, wasm, cpu) */
  readonly backend?: BackendName
}
