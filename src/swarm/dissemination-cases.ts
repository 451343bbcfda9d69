import type { ExchangeMode } from '../learning/manifest.js'

/* What the dissemination benchmark runs, apart from the runner so that the CLI can name it without loading TF.js. */

export interface DisseminationCase {
  readonly nodes: number
  readonly mode: ExchangeMode
  readonly codec: string
  readonly fanout?: number
}

/** The default matrix: push at growing sizes against broadcast, and each codec at eight nodes. */
export const DEFAULT_DISSEMINATION_CASES: readonly DisseminationCase[] = [
  { nodes: 8, mode: 'push', codec: 'fp32' },
  { nodes: 16, mode: 'push', codec: 'fp32' },
  { nodes: 32, mode: 'push', codec: 'fp32' },
  { nodes: 8, mode: 'broadcast', codec: 'fp32' },
  { nodes: 32, mode: 'broadcast', codec: 'fp32' },
  { nodes: 8, mode: 'push', codec: 'fp16' },
  { nodes: 8, mode: 'push', codec: 'int8' },
  { nodes: 8, mode: 'push', codec: 'topk:0.1' }
]

