import { MurmurError } from '../errors.js'
import type { RecordPrivacySettings } from './manifest.js'
import { noiseMultiplierFor } from './privacy.js'

/**
 * What one node's DP-SGD runs with, fixed when it starts: its sampling rate follows from how many
 * records it holds, and (without a fixed noise multiplier) so does its noise.
 */
export interface DpSgdPlan {
  /** L2 bound on each record's gradient */
  readonly clip: number
  readonly noiseMultiplier: number
  /** q: the probability that a record joins a step's batch (Poisson sampling) */
  readonly samplingRate: number
  /** q × records = the manifest's batch size: what the noisy gradient sum is divided by */
  readonly expectedBatchSize: number
  readonly delta: number
  /** the node stops training once it has spent this ε; null without a budget */
  readonly epsilonBudget: number | null
  /**
   * steps the budget was calibrated to last: epochs / q, or the settings' expectedSteps when fewer;
   * null with a fixed noise multiplier
   */
  readonly horizonSteps: number | null
  /**
   * copies of each record, each randomly shifted, whose gradients are averaged before clipping
   * (augmentation multiplicity, augmentation.ts); 1: the record alone
   */
  readonly augmentations: number
}

/**
 * The learning-rate factor for a node's DP-SGD step number `step` (counted over all its runs):
 * cosine decay from 1 to 0 over the budget's horizon (Loshchilov & Hutter 2017, "SGDR"), so the
 * last noisy steps move the model least; 1 throughout without a horizon (a fixed noise multiplier).
 * Only the step count decides it, never a record: the schedule is post-processing and costs no ε.
 */
export function learningRateScale (plan: DpSgdPlan, step: number): number {
  if (plan.horizonSteps === null) return 1
  const progress = Math.min(1, Math.max(0, step) / plan.horizonSteps)
  return 0.5 * (1 + Math.cos(Math.PI * progress))
}

/**
 * Above this noise multiplier the noise swamps the clipped gradients at any batch size murmur's
 * nodes use: a budget that needs more is refused rather than met with a model that cannot learn.
 */
export const MAX_NOISE_MULTIPLIER = 10

function refuse (message: string): MurmurError {
  return new MurmurError('ERR_PRIVACY_BUDGET', message)
}

/**
 * A node's DP-SGD plan for `records` training records and the manifest's batch size, or a refusal
 * that says what to change when its budget cannot be met.
 */
export function planDpSgd (settings: RecordPrivacySettings, records: number, batchSize: number): DpSgdPlan {
  if (!Number.isSafeInteger(records) || records < 1) throw refuse(`DP-SGD needs at least one training record, got ${records}`)
  if (batchSize > records) {
    throw refuse(`this node holds ${records} training records, fewer than the batch size ${batchSize}: DP-SGD samples each record with probability batch size / records, which cannot exceed 1; use a smaller --batch-size or give the node more data`)
  }
  if (settings.delta >= 1 / records) {
    throw refuse(`δ = ${settings.delta} is not below 1 / ${records} (one over this node's training records): so large a δ allows publishing a record outright; use a smaller --dp-delta, e.g. ${(0.1 / records).toPrecision(1)}`)
  }
  const samplingRate = batchSize / records
  const base = { clip: settings.clip, samplingRate, expectedBatchSize: batchSize, delta: settings.delta, epsilonBudget: settings.epsilonBudget ?? null, augmentations: settings.augmentations ?? 1 }
  if (settings.noiseMultiplier !== undefined) return { ...base, noiseMultiplier: settings.noiseMultiplier, horizonSteps: null }
  const { epsilonBudget, epochs } = settings
  if (epsilonBudget === undefined || epochs === undefined) throw refuse('record-level privacy needs a noise multiplier, or an ε budget with the number of epochs it must last')
  // The noise is set for the steps the node is expected to take: a horizon the run never reaches
  // would buy noise for steps never taken (and leave the cosine schedule undecayed).
  const horizonSteps = Math.max(1, Math.min(Math.ceil(epochs / samplingRate), settings.expectedSteps ?? Infinity))
  let noiseMultiplier: number
  try {
    noiseMultiplier = noiseMultiplierFor({ epsilon: epsilonBudget, delta: settings.delta }, horizonSteps, samplingRate)
  } catch (error) {
    throw refuse(`cannot calibrate DP-SGD to ε = ${epsilonBudget}: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (noiseMultiplier > MAX_NOISE_MULTIPLIER) {
    throw refuse(`the budget ε = ${epsilonBudget} at δ = ${settings.delta} cannot be met: ${horizonSteps} steps over ${records} records, each sampling ${(samplingRate * 100).toPrecision(3)} % of them (${(horizonSteps * samplingRate).toPrecision(3)} epochs), would need a noise multiplier of ${noiseMultiplier.toPrecision(3)}, above the ${MAX_NOISE_MULTIPLIER} at which the model no longer learns; allow a larger --dp-epsilon, fewer --dp-epochs, or a larger --batch-size`)
  }
  return { ...base, noiseMultiplier, horizonSteps }
}
