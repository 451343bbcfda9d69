import type { Random } from '../data/random.js'
import { MurmurError } from '../errors.js'

/**
 * A distribution a simulated quantity is drawn from (a link's latency or bandwidth), written as text:
 * - `VALUE`: always that value;
 * - `uniform:LOW:HIGH`: uniform between the two;
 * - `lognormal:MEDIAN:SIGMA`: log-normal with that median and σ of the logarithm (heavy-tailed, as
 *   measured latencies and access bandwidths are).
 * Values carry units, read by the quantity's own parser (e.g. 20ms, 10mbit).
 */
export type Distribution =
  | { readonly kind: 'fixed'; readonly value: number }
  | { readonly kind: 'uniform'; readonly low: number; readonly high: number }
  | { readonly kind: 'lognormal'; readonly median: number; readonly sigma: number }

export function parseDistribution (text: string, parseValue: (text: string) => number, what: string): Distribution {
  const fail = (problem: string): never => {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `invalid ${what} "${text}": ${problem}; write VALUE, uniform:LOW:HIGH or lognormal:MEDIAN:SIGMA`)
  }
  const value = (part: string | undefined): number => {
    if (part === undefined || part === '') fail('a value is missing')
    let parsed: number
    try {
      parsed = parseValue(part as string)
    } catch (error) {
      return fail(error instanceof Error ? error.message : String(error))
    }
    if (!(Number.isFinite(parsed) && parsed >= 0)) fail(`"${part as string}" is not a non-negative amount`)
    return parsed
  }
  const [kind, ...rest] = text.trim().split(':')
  if (kind === 'uniform') {
    if (rest.length !== 2) fail('uniform takes LOW:HIGH')
    const low = value(rest[0])
    const high = value(rest[1])
    if (high < low) fail('HIGH is below LOW')
    return { kind: 'uniform', low, high }
  }
  if (kind === 'lognormal') {
    if (rest.length !== 2) fail('lognormal takes MEDIAN:SIGMA')
    const median = value(rest[0])
    const sigma = Number(rest[1])
    if (!(median > 0)) fail('MEDIAN must be above zero')
    if (!(Number.isFinite(sigma) && sigma >= 0 && sigma <= 5)) fail('SIGMA must be a number from 0 to 5')
    return { kind: 'lognormal', median, sigma }
  }
  if (rest.length > 0) fail(`unknown kind "${kind ?? ''}"`)
  return { kind: 'fixed', value: value(kind) }
}

export function formatDistribution (distribution: Distribution, formatValue: (value: number) => string): string {
  switch (distribution.kind) {
    case 'fixed': return formatValue(distribution.value)
    case 'uniform': return `uniform:${formatValue(distribution.low)}:${formatValue(distribution.high)}`
    case 'lognormal': return `lognormal:${formatValue(distribution.median)}:${distribution.sigma}`
  }
}

export function sample (distribution: Distribution, random: Random): number {
  switch (distribution.kind) {
    case 'fixed': return distribution.value
    case 'uniform': return distribution.low + random.next() * (distribution.high - distribution.low)
    case 'lognormal': return distribution.median * Math.exp(distribution.sigma * random.normal())
  }
}

/** Milliseconds: 20ms, 1.5s, or a bare number of milliseconds. */
export function parseMilliseconds (text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim())
  if (match === null) throw new MurmurError('ERR_INVALID_ARGUMENT', `"${text}" is not a time such as 20ms or 0.5s`)
  return Number(match[1]) * (match[2] === 's' ? 1000 : 1)
}

export function formatMilliseconds (value: number): string {
  return `${Number(value.toPrecision(6))}ms`
}

const BIT_UNITS: Readonly<Record<string, number>> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 }

/** Bits per second: 1mbit, 250kbit, 1gbit (per second, as tc writes them). */
export function parseBitsPerSecond (text: string): number {
  const match = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)$/i.exec(text.trim())
  if (match === null) throw new MurmurError('ERR_INVALID_ARGUMENT', `"${text}" is not a rate such as 1mbit, 250kbit or 1gbit`)
  const rate = Number(match[1]) * (BIT_UNITS[(match[2] as string).toLowerCase()] as number)
  if (!(rate > 0)) throw new MurmurError('ERR_INVALID_ARGUMENT', `"${text}": a rate must be above zero`)
  return rate
}

export function formatBitsPerSecond (value: number): string {
  if (value >= 1e9 && value % 1e9 === 0) return `${value / 1e9}gbit`
  if (value >= 1e6 && value % 1e6 === 0) return `${value / 1e6}mbit`
  if (value >= 1e3 && value % 1e3 === 0) return `${value / 1e3}kbit`
  return `${Number(value.toPrecision(6))}bit`
}
