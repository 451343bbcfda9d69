import { type Command, Option } from 'commander'
import { MurmurError } from '../errors.js'
import type { PrivacyOptions } from '../learning/manifest.js'
import { integer, positiveNumber } from './parsers.js'

export interface PrivacyFlags {
  dpClip?: number
  dpNoise?: number
  dpEpsilon?: number
  dpDelta?: number
  dpReleases?: number
}

/** The differential-privacy flags, shared by `murmur manifest` and `murmur swarm`. */
export function addPrivacyFlags (command: Command): Command {
  return command
    .addOption(new Option('--dp-clip <norm>', 'differential privacy: clip each round\'s model change to this L2 norm before sharing').argParser(positiveNumber))
    .addOption(new Option('--dp-noise <multiplier>', 'differential privacy: Gaussian noise of this many times the clip norm').argParser(positiveNumber))
    .addOption(new Option('--dp-epsilon <epsilon>', 'differential privacy: a target ε instead of --dp-noise; the noise is chosen so --dp-releases exchanges spend it, and a node stops sharing when it is spent').argParser(positiveNumber))
    .addOption(new Option('--dp-delta <delta>', 'differential privacy: δ of the (ε, δ) guarantee (default 1e-5)').argParser(positiveNumber))
    .addOption(new Option('--dp-releases <n>', 'differential privacy: exchanges the --dp-epsilon budget must last').argParser(integer(1, 100_000_000)))
}

/** The privacy part of a manifest from the flags, or undefined when none was given. */
export function privacyFromFlags (flags: PrivacyFlags): PrivacyOptions | undefined {
  const given = flags.dpClip !== undefined || flags.dpNoise !== undefined || flags.dpEpsilon !== undefined || flags.dpReleases !== undefined || flags.dpDelta !== undefined
  if (!given) return undefined
  if (flags.dpClip === undefined) throw new MurmurError('ERR_INVALID_ARGUMENT', '--dp-clip: differential privacy needs a clip norm (for example --dp-clip 1)')
  if (flags.dpDelta !== undefined && flags.dpDelta >= 1) throw new MurmurError('ERR_INVALID_ARGUMENT', '--dp-delta: δ must be below 1 (for example 1e-5)')
  const delta = flags.dpDelta ?? 1e-5
  if (flags.dpNoise !== undefined && flags.dpEpsilon !== undefined) throw new MurmurError('ERR_INVALID_ARGUMENT', '--dp-epsilon: give either --dp-noise or --dp-epsilon, not both')
  if (flags.dpEpsilon !== undefined) {
    if (flags.dpReleases === undefined) throw new MurmurError('ERR_INVALID_ARGUMENT', '--dp-releases: a target --dp-epsilon needs the number of exchanges it must last')
    return { clip: flags.dpClip, epsilon: flags.dpEpsilon, delta, releases: flags.dpReleases }
  }
  if (flags.dpNoise === undefined) throw new MurmurError('ERR_INVALID_ARGUMENT', '--dp-noise: differential privacy needs --dp-noise MULTIPLIER or --dp-epsilon with --dp-releases')
  return { clip: flags.dpClip, noiseMultiplier: flags.dpNoise, delta }
}
