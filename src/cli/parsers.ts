import { InvalidArgumentError } from 'commander'
import { isMurmurError, MurmurError } from '../errors.js'

/**
 * Value parsers for command-line flags. Commander prefixes their messages with the flag and the
 * value, so a user always learns which flag was wrong.
 */
export function integer (minimum: number, maximum = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return value => {
    const parsed = Number(value)
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < minimum || parsed > maximum) {
      throw new InvalidArgumentError(`Expected an integer from ${minimum}${maximum === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${maximum}`}.`)
    }
    return parsed
  }
}

export function positiveNumber (value: string): number {
  const parsed = Number(value)
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('Expected a positive number.')
  return parsed
}

/** A share in (0, 1], e.g. --max-cpu 0.25. */
export function fraction (value: string): number {
  const parsed = Number(value)
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed <= 0 || parsed > 1) throw new InvalidArgumentError('Expected a number above 0 and at most 1, such as 0.25.')
  return parsed
}

/** Durations: 90, 90s, 1.5m, 2h, 500ms; a bare number is seconds. Returns milliseconds. */
export function duration (value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim())
  if (match === null) throw new InvalidArgumentError('Expected a duration such as 60s, 2m or 500ms.')
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | undefined ?? 's']
  const milliseconds = Number(match[1]) * scale
  if (milliseconds <= 0) throw new InvalidArgumentError('Expected a duration above zero.')
  return milliseconds
}

export function oneOf<T extends string> (allowed: readonly T[]): (value: string) => T {
  return value => {
    if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`Expected one of: ${allowed.join(', ')}.`)
    return value as T
  }
}

/** Wraps one of murmur's own parsers so its error becomes a flag error. */
export function parsedWith<T> (parse: (value: string) => T): (value: string) => T {
  return value => {
    try {
      return parse(value)
    } catch (error) {
      throw new InvalidArgumentError(isMurmurError(error) || error instanceof Error ? error.message : String(error))
    }
  }
}

/** For repeatable flags: --bootstrap A --bootstrap B. */
export function collect (value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

/** Runs a step that depends on one flag's value; its failure names that flag. */
export async function withFlag<T> (flag: string, work: Promise<T>): Promise<T> {
  try {
    return await work
  } catch (error) {
    if (isMurmurError(error)) throw new MurmurError(error.code, `${flag}: ${error.message}`, { cause: error })
    throw error
  }
}
