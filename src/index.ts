/**
 * murmur's TypeScript API, for embedding a node in another program. The CLI is built on the same
 * pieces: `murmur start` is MurmurNode, `murmur swarm` is runSwarm.
 */
export { MurmurNode, type MurmurNodeOptions, type MurmurNodeEvents, type ExchangeDetail } from './node/murmur-node.js'
export type { NodeStatus } from './node/status.js'
export { parseApiAddress, type ApiAddress } from './node/api.js'
export { runSwarm, type SwarmOptions, type SwarmProgress } from './swarm/launcher.js'
export type { SwarmSummary, NodeSummary, TimelinePoint } from './swarm/summary.js'
export { createManifest, parseManifest, swarmIdOf, type Manifest, type ManifestOptions, type TrainingSettings } from './learning/manifest.js'
export type { PrivacySettings, PrivacyOptions, RecordPrivacySettings, NodePrivacySettings } from './learning/manifest.js'
export { planDpSgd, type DpSgdPlan } from './learning/dp-sgd-plan.js'
export { RdpAccountant, noiseMultiplierFor } from './learning/privacy.js'
export type { RecordPrivacyStatus } from './node/record-privacy.js'
export { MODEL_NAMES, modelSpec, type ModelSpec, type LayerSpec } from './learning/models.js'
export { createMergeRule, WeightedMean, type MergeRule, type Contribution } from './learning/merge.js'
export { LocalTrainer, type TrainingData } from './learning/local-trainer.js'
export type { Trainer, TrainResult } from './learning/trainer.js'
export { BACKEND_NAMES, selectBackend, type BackendName } from './learning/backend.js'
export type { Weights, Tensor } from './learning/weights.js'
export { parseDataSpec, formatDataSpec, loadNodeData, type DataSpec, type NodeData } from './data/spec.js'
export { parsePartition, type Partition } from './data/partition.js'
export type { Dataset } from './data/dataset.js'
export { MurmurError, isMurmurError, type MurmurErrorCode } from './errors.js'
