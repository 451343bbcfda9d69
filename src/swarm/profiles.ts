import { MurmurError } from '../errors.js'

/** Device profiles a simulated swarm can mix: the share of the time such a device trains. */
export const DEVICE_PROFILES: Readonly<Record<string, number>> = { fast: 1, medium: 0.5, slow: 0.2 }

export interface ProfileShare {
  /** a profile name, or a custom --max-cpu value written as a number */
  readonly name: string
  readonly maxCpu: number
  /** share of the swarm's nodes with this profile */
  readonly share: number
}

function fail (text: string, problem: string): never {
  throw new MurmurError('ERR_INVALID_ARGUMENT', `invalid profiles "${text}": ${problem}; write NAME:SHARE pairs such as fast:0.5,slow:0.5, with NAME one of ${Object.keys(DEVICE_PROFILES).join(', ')} or a training share in (0, 1], and shares summing to 1`)
}

/** Parses `fast:0.5,slow:0.5` (names from DEVICE_PROFILES, or a number as a custom CPU share). */
export function parseProfiles (text: string): ProfileShare[] {
  const profiles = text.split(',').map(part => {
    const [name = '', share = '', ...rest] = part.trim().split(':')
    if (rest.length > 0 || name === '' || share === '') fail(text, `"${part}" is not NAME:SHARE`)
    const maxCpu = DEVICE_PROFILES[name] ?? Number(name)
    if (!Number.isFinite(maxCpu) || maxCpu <= 0 || maxCpu > 1) fail(text, `unknown profile "${name}"`)
    const parsedShare = Number(share)
    if (!Number.isFinite(parsedShare) || parsedShare <= 0 || parsedShare > 1) fail(text, `share "${share}" is not in (0, 1]`)
    return { name, maxCpu, share: parsedShare }
  })
  const total = profiles.reduce((sum, profile) => sum + profile.share, 0)
  if (Math.abs(total - 1) > 0.01) fail(text, `the shares add up to ${total}`)
  return profiles
}

/** Deals profiles to nodes in proportion to their shares (largest remainder), in the order given. */
export function assignProfiles (profiles: readonly ProfileShare[], nodes: number): ProfileShare[] {
  const exact = profiles.map(profile => profile.share * nodes)
  const counts = exact.map(Math.floor)
  const order = exact.map((value, index) => ({ index, remainder: value - Math.floor(value) })).sort((a, b) => b.remainder - a.remainder)
  for (let i = 0; counts.reduce((a, b) => a + b, 0) < nodes; i++) {
    const target = order[i % order.length]?.index ?? 0
    counts[target] = (counts[target] ?? 0) + 1
  }
  return profiles.flatMap((profile, index) => Array.from({ length: counts[index] ?? 0 }, () => profile))
}
