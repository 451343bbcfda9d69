/**
 * `murmur/node`: a node to embed in another program. Importing it loads no TF.js on the caller's
 * thread: a node trains in a worker thread of its own (test/embedding.test.ts checks it).
 */
export { MurmurNode, type MurmurNodeOptions, type MurmurNodeEvents, type ExchangeDetail } from './murmur-node.js'
export type { NodeDataSource } from './trainer-start.js'
export type { RecordArrays } from '../data/spec.js'
export type { ModelSnapshot } from '../core/node-core.js'
export type { Logger } from '../core/logger.js'
export type { NodeStatus } from './status.js'
export type { NodeWarning } from './warning-log.js'
export { parseApiAddress, type ApiAddress } from './api.js'
export { readApiToken, API_TOKEN_FILE } from './api-token.js'
export { NodeStore, type NodeStoreInit } from './store.js'
export { createManifest, parseManifest, swarmIdOf, type Manifest, type ManifestOptions } from '../learning/manifest.js'
export type { Weights, Tensor } from '../learning/weights.js'
export { MurmurError, isMurmurError, type MurmurErrorCode } from '../errors.js'
