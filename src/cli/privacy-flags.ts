import { type Command, Option } from 'commander'
import { MurmurError } from '../errors.js'
import { checkRecordPrivacy, DEFAULT_DELTA, DEFAULT_RECORD_CLIP, type PrivacyOptions, type PrivacySettings, type RecordPrivacySettings } from '../learning/manifest.js'
import { MAX_AUGMENTATIONS } from '../learning/augmentation.js'
import { EPOCHS_PER_EPSILON, MAX_RECORD_EPOCHS, MIN_RECORD_EPOCHS, recordEpochsFor } from '../learning/dp-sgd-epochs.js'
import { integer, positiveNumber } from './parsers.js'

/** Record-level DP-SGD flags: `murmur manifest`, `swarm` and `start`. */
export interface RecordPrivacyFlags {
  dpEpsilon?: number
  dpDelta?: number
  dpEpochs?: number
  dpClip?: number
  dpNoise?: number
  dpAugmentations?: number
  /** renamed to --dp-node-releases; kept only to say so */
  dpReleases?: number
}

/** All differential-privacy flags: `murmur manifest` and `swarm`. */
export interface PrivacyFlags extends RecordPrivacyFlags {
  dpNodeClip?: number
  dpNodeNoise?: number
  dpNodeEpsilon?: number
  dpNodeReleases?: number
}

/**
 * What `murmur swarm` and `murmur manifest` train with under record-level DP-SGD when neither the
 * command line nor a scenario says otherwise (docs/privacy.md has the measurements): the dct-mlp,
 * whose fixed DCT leaves 4,810 weights for the noise to cover instead of the mlp's 101,770; plain
 * SGD with a large step, which noisy clipped gradients need (Adam at 0.001 learns little in the
 * budget), decayed by a cosine schedule; and 4 shifted copies of each record averaged before
 * clipping (augmentation.ts).
 */
export const DP_SGD_TRAINING_DEFAULTS = { model: 'dct-mlp', optimizer: 'sgd', learningRate: 2, batchSize: 64, localSteps: 10, dpAugmentations: 4 } as const

type DpSgdDefaultKey = keyof typeof DP_SGD_TRAINING_DEFAULTS

/** `flags` with DP_SGD_TRAINING_DEFAULTS in the places `open` says nobody chose. */
export function withDpSgdTrainingDefaults<T extends { [K in DpSgdDefaultKey]?: unknown }> (flags: T, open: (key: DpSgdDefaultKey) => boolean): T {
  const chosen = { ...flags }
  for (const key of Object.keys(DP_SGD_TRAINING_DEFAULTS) as DpSgdDefaultKey[]) {
    if (open(key)) (chosen as Record<DpSgdDefaultKey, unknown>)[key] = DP_SGD_TRAINING_DEFAULTS[key]
  }
  return chosen
}

/**
 * What DP-SGD trains with after the defaults, for the line `murmur swarm` and `murmur manifest` print.
 * `timed`: the run has a known duration, so the horizon is also bounded by the steps a node can take.
 */
export function dpSgdDefaultsLine (flags: { model?: string, optimizer?: string, learningRate?: number, batchSize?: number, localSteps?: number, dpAugmentations?: number, dpEpsilon?: number, dpEpochs?: number }, timed = false): string {
  const epochs = flags.dpEpochs ?? (flags.dpEpsilon === undefined ? undefined : recordEpochsFor(flags.dpEpsilon))
  const horizon = epochs === undefined ? '' : `, ${epochs} epochs${timed ? ' or the steps a node can take in the run if fewer' : ''}`
  return `model ${flags.model ?? 'of the manifest'}, ${flags.optimizer ?? 'the manifest optimizer'} at ${flags.learningRate ?? 'the manifest learning rate'} (cosine decay over the budget), batch ${flags.batchSize ?? 'of the manifest'}, ${flags.localSteps ?? 'the manifest\'s'} local steps, ${flags.dpAugmentations ?? 1} augmented copies${horizon} (DP-SGD defaults where no flag chose; docs/privacy.md)`
}

function invalid (message: string): MurmurError {
  return new MurmurError('ERR_INVALID_ARGUMENT', message)
}

/** The record-level flags, for every command that takes them. */
export function addRecordPrivacyFlags (command: Command): Command {
  return command
    .addOption(new Option('--dp-epsilon <epsilon>', 'record-level differential privacy (DP-SGD): the ε budget for each node\'s own records; the noise is chosen so --dp-epochs passes over them spend it, and a node stops training when it is spent').argParser(positiveNumber))
    .addOption(new Option('--dp-delta <delta>', `differential privacy: δ of the (ε, δ) guarantee (default ${DEFAULT_DELTA}; below 1 / a node's records)`).argParser(positiveNumber))
    .addOption(new Option('--dp-epochs <n>', `DP-SGD: passes over a node's records the --dp-epsilon budget must last (default ${EPOCHS_PER_EPSILON} per unit of ε, from ${MIN_RECORD_EPOCHS} to ${MAX_RECORD_EPOCHS}; murmur swarm: or the steps a node can take in the run, if fewer)`).argParser(positiveNumber))
    .addOption(new Option('--dp-augmentations <k>', `DP-SGD: average each image record's gradient over this many copies shifted by up to a pixel before clipping (no privacy cost; ${DP_SGD_TRAINING_DEFAULTS.dpAugmentations} with the DP-SGD defaults, else 1)`).argParser(integer(1, MAX_AUGMENTATIONS)))
    .addOption(new Option('--dp-clip <norm>', `DP-SGD: clip each record's gradient to this L2 norm (default ${DEFAULT_RECORD_CLIP})`).argParser(positiveNumber))
    .addOption(new Option('--dp-noise <multiplier>', 'DP-SGD: a fixed noise multiplier (noise of this many times the clip) instead of one chosen from --dp-epsilon; with --dp-epsilon the budget still stops training').argParser(positiveNumber))
    .addOption(new Option('--dp-releases <n>').hideHelp().argParser(integer(1, 100_000_000)))
}

/** Record-level and node-level flags: `murmur manifest` and `murmur swarm`. */
export function addPrivacyFlags (command: Command): Command {
  return addRecordPrivacyFlags(command)
    .addOption(new Option('--dp-node-clip <norm>', 'node-level differential privacy per exchange: clip each round\'s model change to this L2 norm before sharing').argParser(positiveNumber))
    .addOption(new Option('--dp-node-noise <multiplier>', 'node-level DP: Gaussian noise of this many times --dp-node-clip on each shared change').argParser(positiveNumber))
    .addOption(new Option('--dp-node-epsilon <epsilon>', 'node-level DP: a target ε instead of --dp-node-noise; the noise is chosen so --dp-node-releases exchanges spend it, and a node stops sharing when it is spent').argParser(positiveNumber))
    .addOption(new Option('--dp-node-releases <n>', 'node-level DP: exchanges the --dp-node-epsilon budget must last').argParser(integer(1, 100_000_000)))
}

function refuseRenamed (flags: RecordPrivacyFlags): void {
  if (flags.dpReleases !== undefined) throw invalid('--dp-releases: node-level privacy per exchange is now --dp-node-clip with --dp-node-noise, or --dp-node-epsilon with --dp-node-releases; --dp-epsilon and --dp-delta alone select record-level DP-SGD')
}

function checkDelta (delta: number | undefined): void {
  if (delta !== undefined && delta >= 1) throw invalid('--dp-delta: δ must be below 1 (for example 1e-5)')
}

function recordGiven (flags: RecordPrivacyFlags): boolean {
  return flags.dpEpsilon !== undefined || flags.dpEpochs !== undefined || flags.dpClip !== undefined || flags.dpNoise !== undefined || flags.dpAugmentations !== undefined
}

function recordOptions (flags: RecordPrivacyFlags): PrivacyOptions {
  if (flags.dpEpsilon === undefined && flags.dpNoise === undefined) {
    throw invalid('--dp-epsilon: record-level DP-SGD needs a budget (--dp-epsilon E, with --dp-delta D) or a fixed --dp-noise multiplier')
  }
  if (flags.dpEpochs !== undefined && flags.dpEpsilon === undefined) throw invalid('--dp-epochs: the horizon is for a --dp-epsilon budget; give --dp-epsilon as well')
  return {
    level: 'record',
    ...(flags.dpClip === undefined ? {} : { clip: flags.dpClip }),
    ...(flags.dpDelta === undefined ? {} : { delta: flags.dpDelta }),
    ...(flags.dpNoise === undefined ? {} : { noiseMultiplier: flags.dpNoise }),
    ...(flags.dpEpsilon === undefined ? {} : { epsilon: flags.dpEpsilon }),
    ...(flags.dpEpochs === undefined ? {} : { epochs: flags.dpEpochs }),
    ...(flags.dpAugmentations === undefined ? {} : { augmentations: flags.dpAugmentations })
  }
}

function nodeOptions (flags: PrivacyFlags): PrivacyOptions {
  if (flags.dpNodeClip === undefined) throw invalid('--dp-node-clip: node-level differential privacy needs a clip norm (for example --dp-node-clip 1)')
  const delta = flags.dpDelta ?? DEFAULT_DELTA
  if (flags.dpNodeNoise !== undefined && flags.dpNodeEpsilon !== undefined) throw invalid('--dp-node-epsilon: give either --dp-node-noise or --dp-node-epsilon, not both')
  if (flags.dpNodeEpsilon !== undefined) {
    if (flags.dpNodeReleases === undefined) throw invalid('--dp-node-releases: a target --dp-node-epsilon needs the number of exchanges it must last')
    return { level: 'node', clip: flags.dpNodeClip, epsilon: flags.dpNodeEpsilon, delta, releases: flags.dpNodeReleases }
  }
  if (flags.dpNodeNoise === undefined) throw invalid('--dp-node-noise: node-level differential privacy needs --dp-node-noise MULTIPLIER or --dp-node-epsilon with --dp-node-releases')
  return { level: 'node', clip: flags.dpNodeClip, noiseMultiplier: flags.dpNodeNoise, delta }
}

/** The privacy part of a manifest from the flags, or undefined when none was given. */
export function privacyFromFlags (flags: PrivacyFlags): PrivacyOptions | undefined {
  refuseRenamed(flags)
  checkDelta(flags.dpDelta)
  const node = flags.dpNodeClip !== undefined || flags.dpNodeNoise !== undefined || flags.dpNodeEpsilon !== undefined || flags.dpNodeReleases !== undefined
  const record = recordGiven(flags)
  if (node && record) throw invalid('--dp-node-*: choose record-level DP-SGD (--dp-epsilon, --dp-noise, …) or node-level privacy per exchange (--dp-node-*), not both')
  if (node) return nodeOptions(flags)
  if (record) return recordOptions(flags)
  if (flags.dpDelta !== undefined) throw invalid('--dp-delta: δ alone turns nothing on; add --dp-epsilon E for record-level DP-SGD')
  return undefined
}

/**
 * `murmur start`: the record-level privacy this node trains with — the manifest's, with any of the
 * flags given in its place — or undefined when neither asks for it. A node may protect its own
 * records even when the manifest does not: DP-SGD changes nothing other nodes need to agree on.
 * Of the DP-SGD training defaults a node can only pick what stays its own: without the manifest's
 * or the flag's, image records (`inputShape` [height, width, channels]) get the default augmented
 * copies; the horizon follows the budget given (recordEpochsFor). Model, optimizer, learning rate and
 * batch size are the swarm's, in the manifest (`murmur manifest --dp-epsilon` picks them).
 * The manifest's expectedSteps are those of a node that trains all the time: a node that trains a
 * share `trainingShare` of the time (`--max-cpu`) expects that share of them.
 */
export function recordPrivacyForNode (manifestPrivacy: PrivacySettings | undefined, flags: RecordPrivacyFlags, inputShape: readonly number[] = [], trainingShare = 1): RecordPrivacySettings | undefined {
  refuseRenamed(flags)
  checkDelta(flags.dpDelta)
  const base = manifestPrivacy?.level === 'record' ? withTrainingShare(manifestPrivacy, trainingShare) : undefined
  if (!recordGiven(flags)) {
    if (flags.dpDelta === undefined || base === undefined) {
      if (flags.dpDelta !== undefined) throw invalid('--dp-delta: δ alone turns nothing on; add --dp-epsilon E for record-level DP-SGD')
      return base
    }
  }
  // A fixed noise multiplier from the flags replaces calibration; a budget from the flags replaces the manifest's noise.
  const noiseMultiplier = flags.dpNoise ?? (flags.dpEpsilon === undefined ? base?.noiseMultiplier : undefined)
  const epsilonBudget = flags.dpEpsilon ?? base?.epsilonBudget
  // A budget from the flags gets its own horizon: the manifest's was chosen for the manifest's budget.
  const epochs = flags.dpEpochs ?? (flags.dpEpsilon === undefined ? base?.epochs : undefined) ?? (epsilonBudget === undefined ? undefined : recordEpochsFor(epsilonBudget))
  const augmentations = flags.dpAugmentations ?? base?.augmentations ?? (inputShape.length === 3 ? DP_SGD_TRAINING_DEFAULTS.dpAugmentations : undefined)
  const settings: RecordPrivacySettings = {
    level: 'record',
    clip: flags.dpClip ?? base?.clip ?? DEFAULT_RECORD_CLIP,
    delta: flags.dpDelta ?? base?.delta ?? DEFAULT_DELTA,
    ...(noiseMultiplier === undefined ? {} : { noiseMultiplier }),
    ...(epsilonBudget === undefined ? {} : { epsilonBudget }),
    ...(epsilonBudget === undefined || noiseMultiplier !== undefined || epochs === undefined ? {} : { epochs }),
    // The steps the node can take do not depend on whose budget it is: they stay a bound on the horizon.
    ...(epsilonBudget === undefined || noiseMultiplier !== undefined || base?.expectedSteps === undefined ? {} : { expectedSteps: base.expectedSteps }),
    ...(augmentations === undefined ? {} : { augmentations })
  }
  return checkRecordPrivacy(settings, message => invalid(`--dp-epsilon: ${message}`))
}

/** The manifest's settings for a node that trains `share` of the time: that share of the expected steps. */
function withTrainingShare (settings: RecordPrivacySettings, share: number): RecordPrivacySettings {
  if (settings.expectedSteps === undefined || share >= 1) return settings
  return { ...settings, expectedSteps: Math.max(1, Math.round(settings.expectedSteps * share)) }
}
