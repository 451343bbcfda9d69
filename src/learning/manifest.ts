import { createHash } from 'node:crypto'
import canonicalize from 'canonicalize'
import { MurmurError } from '../errors.js'
import { checkManifestBounds } from './manifest-bounds.js'
import { DEFAULT_MERGE_RULE, formatMergeRule, MERGE_RULES_HELP, parseMergeRule } from './merge.js'
import { CODEC_NAMES_HELP, formatCodec, isCodecName, parseCodec } from './weight-codec.js'
import { noiseMultiplierFor } from './privacy.js'
import { checkAugmentations } from './augmentation.js'
import { recordEpochsFor } from './dp-sgd-epochs.js'
import { formatLocalAlgorithm, LOCAL_ALGORITHMS_HELP, parseLocalAlgorithm } from './local-algorithm.js'
import { modelSpec, weightShapes, type LayerSpec, type ModelSpec } from './models.js'
import { parseTopologyModel } from './topology-spec.js'

export const MANIFEST_VERSION = 1

export const OPTIMIZERS = ['adam', 'sgd'] as const
export type OptimizerName = typeof OPTIMIZERS[number]

export const EXCHANGE_MODES = ['push', 'broadcast'] as const
export type ExchangeMode = typeof EXCHANGE_MODES[number]

/** How a node shares its model after each round of local training. */
export interface ExchangeSettings {
  /**
   * push: the model goes over direct streams to `fanout` peers sampled at random (epidemic); gossipsub
   * only carries small announcements. broadcast: the full model is published on the gossip topic,
   * reaching every node (traffic per node grows with the swarm).
   */
  readonly mode: ExchangeMode
  readonly fanout: number
}

/**
 * Node-level differential privacy per exchange (DP-FedAvg style): each round's model change is
 * clipped to L2 norm `clip` and Gaussian noise of standard deviation noiseMultiplier × clip is added
 * before the model is shared. With `epsilonBudget`, a node stops sharing once it has spent that ε (at
 * `delta`). It protects a node's whole update, and its ε grows with every exchange (docs/privacy.md).
 */
export interface NodePrivacySettings {
  readonly level: 'node'
  readonly clip: number
  readonly noiseMultiplier: number
  readonly delta: number
  readonly epsilonBudget?: number
}

/**
 * Record-level differential privacy: DP-SGD inside each node's optimizer (Abadi et al. 2016). Every
 * training record joins a step's batch with probability batchSize / (the node's records), its
 * gradient is clipped to L2 norm `clip`, and Gaussian noise of standard deviation noiseMultiplier ×
 * clip is added to the batch's sum (see docs/privacy.md).
 *
 * The noise multiplier is either fixed here, or each node picks the smallest one for which `epochs`
 * passes over its own records spend `epsilonBudget` at `delta` (the sampling rate depends on how many
 * records a node holds). With `epsilonBudget`, a node stops training once that ε is spent; it keeps
 * merging and sharing, which spends nothing more.
 */
export interface RecordPrivacySettings {
  readonly level: 'record'
  /** L2 bound on each record's gradient */
  readonly clip: number
  readonly delta: number
  /** fixed noise multiplier; without it every node calibrates one from epsilonBudget and epochs */
  readonly noiseMultiplier?: number
  readonly epsilonBudget?: number
  /** the budget's horizon: passes over a node's own records that epsilonBudget must last */
  readonly epochs?: number
  /**
   * steps a node is expected to take in all (`murmur swarm` knows its duration): the horizon is the
   * smaller of this and `epochs` passes, so the noise is not set for steps the run never reaches
   */
  readonly expectedSteps?: number
  /** shifted copies of each image record whose gradients are averaged before clipping (augmentation.ts); absent: 1 */
  readonly augmentations?: number
}

export type PrivacySettings = NodePrivacySettings | RecordPrivacySettings

export const PRIVACY_LEVELS = ['record', 'node'] as const
export type PrivacyLevel = typeof PRIVACY_LEVELS[number]

/** per-example clip norm when none is given (the figure Opacus' and TF Privacy's tutorials start from) */
export const DEFAULT_RECORD_CLIP = 1
export const DEFAULT_DELTA = 1e-5

export type PrivacyOptions =
  | { readonly level?: 'node'; readonly clip: number; readonly noiseMultiplier: number; readonly delta?: number; readonly epsilonBudget?: number }
  /** a target: the noise is chosen so that `releases` exchanges spend exactly (epsilon, delta) */
  | { readonly level?: 'node'; readonly clip: number; readonly epsilon: number; readonly delta: number; readonly releases: number }
  | { readonly level: 'record'; readonly clip?: number; readonly delta?: number; readonly noiseMultiplier?: number; readonly epsilon?: number; readonly epochs?: number; readonly expectedSteps?: number; readonly augmentations?: number }

export function privacySettings (options: PrivacyOptions): PrivacySettings {
  if (options.level === 'record') {
    return checkRecordPrivacy({
      level: 'record',
      clip: options.clip ?? DEFAULT_RECORD_CLIP,
      delta: options.delta ?? DEFAULT_DELTA,
      ...(options.noiseMultiplier === undefined ? {} : { noiseMultiplier: options.noiseMultiplier }),
      ...(options.epsilon === undefined ? {} : { epsilonBudget: options.epsilon }),
      ...(options.epsilon === undefined || options.noiseMultiplier !== undefined ? {} : { epochs: options.epochs ?? recordEpochsFor(options.epsilon) }),
      ...(options.epsilon === undefined || options.noiseMultiplier !== undefined || options.expectedSteps === undefined ? {} : { expectedSteps: options.expectedSteps }),
      ...(options.augmentations === undefined ? {} : { augmentations: options.augmentations })
    }, text => new MurmurError('ERR_INVALID_ARGUMENT', text))
  }
  if ('epsilon' in options) {
    return { level: 'node', clip: options.clip, noiseMultiplier: noiseMultiplierFor({ epsilon: options.epsilon, delta: options.delta }, options.releases), delta: options.delta, epsilonBudget: options.epsilon }
  }
  return { level: 'node', clip: options.clip, noiseMultiplier: options.noiseMultiplier, delta: options.delta ?? DEFAULT_DELTA, ...(options.epsilonBudget === undefined ? {} : { epsilonBudget: options.epsilonBudget }) }
}

/** Record-level settings must say how much noise: a fixed multiplier, or a budget and its horizon. */
export function checkRecordPrivacy (settings: RecordPrivacySettings, error: (message: string) => Error): RecordPrivacySettings {
  if (!(settings.delta > 0 && settings.delta < 1)) throw error(`privacy.delta must lie strictly between 0 and 1, got ${settings.delta}`)
  if (settings.noiseMultiplier === undefined && (settings.epsilonBudget === undefined || settings.epochs === undefined)) {
    throw error('record-level privacy needs a noise multiplier, or an ε budget with the number of epochs it must last')
  }
  if (settings.expectedSteps !== undefined && !(Number.isSafeInteger(settings.expectedSteps) && settings.expectedSteps >= 1)) {
    throw error(`privacy.expectedSteps must be a whole number of steps, at least 1, got ${settings.expectedSteps}`)
  }
  checkAugmentations(settings.augmentations, error)
  return settings
}

export const DEFAULT_EXCHANGE: ExchangeSettings = { mode: 'push', fanout: 3 }

export interface TrainingSettings {
  readonly optimizer: OptimizerName
  readonly learningRate: number
  readonly batchSize: number
  /** local training steps (batches) a node takes between two exchanges */
  readonly localSteps: number
  /**
   * what local steps do for a swarm with skewed data: dsgd, fedprox:MU or qgm:BETA (local-algorithm.ts).
   * The one setting outside the swarm id: it changes nothing on the wire, so a node may override it.
   */
  readonly algorithm: string
}

/**
 * Everything the nodes of one swarm must agree on. Its content hash is the swarm id, so nodes with
 * different manifests land on different gossip topics and never mix their models.
 */
export interface Manifest {
  readonly version: number
  readonly model: ModelSpec
  readonly dataset: { readonly name: string; readonly inputShape: readonly number[]; readonly classes: number }
  /** fixes the initial weights that every node starts from */
  readonly seed: number
  readonly training: TrainingSettings
  readonly merge: { readonly rule: string }
  readonly exchange: ExchangeSettings
  /** how model values travel: fp32, fp16, int8[:BLOCK] or topk:FRACTION */
  readonly codec: string
  /** differential privacy; absent when off */
  readonly privacy?: PrivacySettings
}

export interface ManifestOptions {
  /** a built-in model's name, or a model described as data (e.g. read from a TF.js model.json by modelSpecFromFile) */
  model: string | ModelSpec
  dataset: { name: string; inputShape: readonly number[]; classes: number }
  seed?: number
  training?: Partial<TrainingSettings>
  mergeRule?: string
  exchange?: Partial<ExchangeSettings>
  codec?: string
  privacy?: PrivacyOptions
}

export const DEFAULT_SEED = 42
/**
 * int8 (blockwise, section 9 of docs/protocol.md): on home uplinks capped at 1 Mbit/s it reached 90 %
 * mean accuracy first (45 s against 60 s for fp32, simulations/slow-uplinks.json) at a quarter of the
 * bytes, with the same final accuracy as fp32 on loopback (README, dissemination figures).
 */
export const DEFAULT_CODEC = 'int8'

/**
 * Plain SGD with quasi-global momentum: under label skew, per-node Adam scales each node's own
 * gradients up to full steps, so averaging them no longer averages gradients and the classes a few
 * nodes hold lose (docs/architecture.md, "Training algorithms for skewed data"); with SGD the merge
 * averages gradients, and QGM is the paper's heavy-ball update.
 */
export const DEFAULT_TRAINING: TrainingSettings = { optimizer: 'sgd', learningRate: 0.2, batchSize: 32, localSteps: 20, algorithm: 'qgm:0.9' }

/** The learning rate a manifest gets when it names an optimizer but no rate. */
export const DEFAULT_LEARNING_RATES: Readonly<Record<OptimizerName, number>> = { sgd: 0.2, adam: 0.001 }

export function createManifest (options: ManifestOptions): Manifest {
  return parseManifest({
    version: MANIFEST_VERSION,
    model: typeof options.model === 'string' ? modelSpec(options.model, options.dataset.classes) : options.model,
    dataset: { name: options.dataset.name, inputShape: [...options.dataset.inputShape], classes: options.dataset.classes },
    seed: options.seed ?? DEFAULT_SEED,
    training: {
      ...DEFAULT_TRAINING,
      ...options.training,
      learningRate: options.training?.learningRate ?? DEFAULT_LEARNING_RATES[options.training?.optimizer ?? DEFAULT_TRAINING.optimizer]
    },
    merge: { rule: options.mergeRule ?? DEFAULT_MERGE_RULE },
    exchange: { ...DEFAULT_EXCHANGE, ...options.exchange },
    codec: options.codec ?? DEFAULT_CODEC,
    ...(options.privacy === undefined ? {} : { privacy: privacySettings(options.privacy) })
  })
}

/**
 * The swarm id: hex SHA-256 of the manifest in canonical JSON (RFC 8785), first 128 bits, without
 * training.algorithm (a node's local choice that changes nothing others see).
 */
export function swarmIdOf (manifest: Manifest): string {
  const shared: Partial<Record<keyof TrainingSettings, unknown>> = { ...manifest.training }
  delete shared.algorithm
  const text = canonicalize({ ...manifest, training: shared })
  if (text === undefined) throw new MurmurError('ERR_INVALID_MANIFEST', 'manifest cannot be serialised')
  return createHash('sha256').update(text).digest('hex').slice(0, 32)
}

function fail (message: string): never {
  throw new MurmurError('ERR_INVALID_MANIFEST', `invalid manifest: ${message}`)
}

function record (value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${path} must be an object`)
  return value as Record<string, unknown>
}

function positiveInteger (value: unknown, path: string): number {
  if (!Number.isInteger(value) || (value as number) <= 0) fail(`${path} must be a positive integer, got ${JSON.stringify(value)}`)
  return value as number
}

function positiveNumber (value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(`${path} must be a positive number, got ${JSON.stringify(value)}`)
  return value
}

function oneOf<T extends string> (value: unknown, allowed: readonly T[], path: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) fail(`${path} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`)
  return value as T
}

function parseLayer (value: unknown, path: string): LayerSpec {
  const layer = record(value, path)
  const activations = ['relu', 'softmax', 'linear', 'tanh', 'sigmoid'] as const
  switch (layer.type) {
    case 'flatten':
      return { type: 'flatten' }
    case 'dense':
      return { type: 'dense', units: positiveInteger(layer.units, `${path}.units`), activation: oneOf(layer.activation, activations, `${path}.activation`) }
    case 'conv2d':
      return {
        type: 'conv2d',
        filters: positiveInteger(layer.filters, `${path}.filters`),
        kernelSize: positiveInteger(layer.kernelSize, `${path}.kernelSize`),
        strides: positiveInteger(layer.strides, `${path}.strides`),
        padding: oneOf(layer.padding, ['same', 'valid'] as const, `${path}.padding`),
        activation: oneOf(layer.activation, activations, `${path}.activation`)
      }
    case 'maxPooling2d':
      return { type: 'maxPooling2d', poolSize: positiveInteger(layer.poolSize, `${path}.poolSize`) }
    case 'dct2d':
      return { type: 'dct2d', size: positiveInteger(layer.size, `${path}.size`) }
    default:
      return fail(`${path}.type must be one of flatten, dense, conv2d, maxPooling2d, dct2d, got ${JSON.stringify(layer.type)}`)
  }
}

function parsePrivacy (value: unknown): PrivacySettings {
  const privacy = record(value, 'privacy')
  const delta = positiveNumber(privacy.delta, 'privacy.delta')
  if (delta >= 1) fail('privacy.delta must be below 1')
  // Manifests written before record-level privacy existed have no level: theirs was node-level.
  const level = privacy.level === undefined ? 'node' : oneOf(privacy.level, PRIVACY_LEVELS, 'privacy.level')
  const epsilonBudget = privacy.epsilonBudget === undefined ? {} : { epsilonBudget: positiveNumber(privacy.epsilonBudget, 'privacy.epsilonBudget') }
  if (level === 'record') {
    return checkRecordPrivacy({
      level,
      clip: positiveNumber(privacy.clip, 'privacy.clip'),
      delta,
      ...(privacy.noiseMultiplier === undefined ? {} : { noiseMultiplier: positiveNumber(privacy.noiseMultiplier, 'privacy.noiseMultiplier') }),
      ...epsilonBudget,
      ...(privacy.epochs === undefined ? {} : { epochs: positiveNumber(privacy.epochs, 'privacy.epochs') }),
      ...(privacy.expectedSteps === undefined ? {} : { expectedSteps: positiveNumber(privacy.expectedSteps, 'privacy.expectedSteps') }),
      ...(privacy.augmentations === undefined ? {} : { augmentations: positiveNumber(privacy.augmentations, 'privacy.augmentations') })
    }, message => new MurmurError('ERR_INVALID_MANIFEST', `invalid manifest: ${message}`))
  }
  return {
    level,
    clip: positiveNumber(privacy.clip, 'privacy.clip'),
    noiseMultiplier: positiveNumber(privacy.noiseMultiplier, 'privacy.noiseMultiplier'),
    delta,
    ...epsilonBudget
  }
}

function mergeRule (value: unknown): string {
  try {
    if (typeof value !== 'string') throw new Error('not a string')
    return formatMergeRule(parseMergeRule(value))
  } catch {
    return fail(`merge.rule must be one of ${MERGE_RULES_HELP}, got ${JSON.stringify(value)}`)
  }
}

/** A manifest without training.algorithm (written before it existed) trains with the default. */
function localAlgorithm (value: unknown): string {
  if (value === undefined) return DEFAULT_TRAINING.algorithm
  try {
    if (typeof value !== 'string') throw new Error('not a string')
    return formatLocalAlgorithm(parseLocalAlgorithm(value))
  } catch {
    return fail(`training.algorithm must be one of ${LOCAL_ALGORITHMS_HELP}, got ${JSON.stringify(value)}`)
  }
}

/** Checks a manifest read from a file or the network, field by field and against MANIFEST_LIMITS, and returns a typed copy. */
export function parseManifest (value: unknown): Manifest {
  const root = record(value, 'manifest')
  if (root.version !== MANIFEST_VERSION) fail(`version must be ${MANIFEST_VERSION}, got ${JSON.stringify(root.version)}`)
  const model = record(root.model, 'model')
  if (typeof model.name !== 'string' || model.name === '') fail('model.name must be a non-empty string')
  const topology = model.topology === undefined ? null : parseTopologyModel(model, fail)
  if (topology === null && (!Array.isArray(model.layers) || model.layers.length === 0)) fail('model.layers must be a non-empty array')
  const layers = topology === null ? (model.layers as unknown[]).map((layer, index) => parseLayer(layer, `model.layers[${index}]`)) : []
  const dataset = record(root.dataset, 'dataset')
  if (typeof dataset.name !== 'string' || dataset.name === '') fail('dataset.name must be a non-empty string')
  if (!Array.isArray(dataset.inputShape) || dataset.inputShape.length === 0) fail('dataset.inputShape must be a non-empty array')
  const inputShape = dataset.inputShape.map((size, index) => positiveInteger(size, `dataset.inputShape[${index}]`))
  const classes = positiveInteger(dataset.classes, 'dataset.classes')
  if (!Number.isInteger(root.seed) || (root.seed as number) < 0 || (root.seed as number) > 0xffffffff) fail('seed must be an integer from 0 to 4294967295')
  const training = record(root.training, 'training')
  const merge = record(root.merge, 'merge')
  const exchange = record(root.exchange, 'exchange')
  if (typeof root.codec !== 'string' || !isCodecName(root.codec)) fail(`codec must be one of ${CODEC_NAMES_HELP}, got ${JSON.stringify(root.codec)}`)
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    model: topology ?? { name: model.name, layers },
    dataset: { name: dataset.name, inputShape, classes },
    seed: root.seed as number,
    training: {
      optimizer: oneOf(training.optimizer, OPTIMIZERS, 'training.optimizer'),
      learningRate: positiveNumber(training.learningRate, 'training.learningRate'),
      batchSize: positiveInteger(training.batchSize, 'training.batchSize'),
      localSteps: positiveInteger(training.localSteps, 'training.localSteps'),
      algorithm: localAlgorithm(training.algorithm)
    },
    merge: { rule: mergeRule(merge.rule) },
    exchange: { mode: oneOf(exchange.mode, EXCHANGE_MODES, 'exchange.mode'), fanout: positiveInteger(exchange.fanout, 'exchange.fanout') },
    codec: formatCodec(parseCodec(root.codec)),
    ...(root.privacy === undefined ? {} : { privacy: parsePrivacy(root.privacy) })
  }
  checkManifestBounds(manifest)
  // A topology model's input and output are checked against the data by TF.js when a trainer builds it (layers-model.ts).
  if (topology !== null) return manifest
  const shapes = weightShapes(manifest.model, manifest.dataset.inputShape)
  const last = shapes[shapes.length - 1]
  if (last?.shape[0] !== classes) fail(`the model's last layer has ${last?.shape[0] ?? 0} units but the dataset has ${classes} classes`)
  return manifest
}
