import { MurmurError } from '../errors.js'
import type { Random } from '../data/random.js'

/**
 * Augmentation multiplicity for DP-SGD (De, Berrada, Hayes, Smith, Balle 2022, "Unlocking
 * high-accuracy differentially private image classification through scale", section 3.1): each
 * sampled record enters the step as several randomly shifted copies, and the gradients of the copies
 * are AVERAGED BEFORE the record's gradient is clipped. The average is still a function of that one
 * record, so clipping still bounds what the record contributes by C: the sensitivity, hence the
 * privacy cost, is unchanged; the average only has less variance than one copy's gradient.
 *
 * The copies here are translations by up to SHIFT_PIXELS in each direction (the first copy is the
 * record itself): for digits, the augmentation that keeps the label. The random shifts need not be
 * secret: the guarantee holds for any choice of copies.
 */

/** largest shift of a copy in each direction, in pixels */
export const SHIFT_PIXELS = 1
/** more copies cost compute in proportion and add little (De et al. use up to 16 on CIFAR-10) */
export const MAX_AUGMENTATIONS = 16

/** Refuses a copy count that is not a whole number between 1 and MAX_AUGMENTATIONS. */
export function checkAugmentations (augmentations: number | undefined, error: (message: string) => Error): void {
  if (augmentations === undefined) return
  if (!Number.isInteger(augmentations) || augmentations < 1 || augmentations > MAX_AUGMENTATIONS) {
    throw error(`privacy.augmentations must be a whole number from 1 to ${MAX_AUGMENTATIONS}, got ${augmentations}`)
  }
}

/** Shifted copies need records that are images: [height, width, channels]. */
export function checkAugmentable (inputShape: readonly number[], augmentations: number): void {
  if (augmentations > 1 && inputShape.length !== 3) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `DP-SGD augmentations shift images, but this model's records have shape [${inputShape.join(', ')}]; use --dp-augmentations 1`)
  }
}

/**
 * `copies` copies of each of the `records` images in `features` (row-major [height, width, channels]
 * each), record by record: copy 0 as it is, the others shifted by a random whole number of pixels in
 * [−SHIFT_PIXELS, SHIFT_PIXELS] along each axis, with zeros shifted in.
 */
export function shiftedCopies (features: Float32Array, shape: readonly [number, number, number], copies: number, random: Random): Float32Array {
  const [height, width, channels] = shape
  const size = height * width * channels
  const records = features.length / size
  const out = new Float32Array(records * copies * size)
  const span = 2 * SHIFT_PIXELS + 1
  for (let record = 0; record < records; record++) {
    const source = record * size
    for (let copy = 0; copy < copies; copy++) {
      const target = (record * copies + copy) * size
      const down = copy === 0 ? 0 : random.integer(span) - SHIFT_PIXELS
      const right = copy === 0 ? 0 : random.integer(span) - SHIFT_PIXELS
      for (let row = 0; row < height; row++) {
        const from = row - down
        if (from < 0 || from >= height) continue
        const first = Math.max(0, right)
        const last = Math.min(width, width + right)
        // One contiguous run of a row: columns [first, last) come from [first − right, last − right).
        out.set(features.subarray(source + (from * width + first - right) * channels, source + (from * width + last - right) * channels), target + (row * width + first) * channels)
      }
    }
  }
  return out
}
