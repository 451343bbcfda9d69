import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MurmurError } from '../errors.js'
import { checkPrivateFile, writePrivateFile } from '../private-files.js'

/**
 * The local API's bearer token: state-changing requests (every method but GET and HEAD) must carry
 * `Authorization: Bearer TOKEN`. A node makes a new token at every start and writes it to
 * DATADIR/api-token (mode 600), so only the node's own user, who can read the datadir, can use it.
 */
export const API_TOKEN_FILE = 'api-token'

/** 32 random bytes, base64url: unguessable, and safe in a header without quoting. */
const TOKEN_BYTES = 32

export interface ApiToken {
  readonly token: string
  /** the file it was written to */
  readonly file: string
}

/** Makes a fresh token and writes it, replacing the previous one, to the datadir's api-token file. */
export async function issueApiToken (datadir: string): Promise<ApiToken> {
  const token = randomBytes(TOKEN_BYTES).toString('base64url')
  const file = join(datadir, API_TOKEN_FILE)
  await writePrivateFile(file, `${token}\n`, { overwrite: true })
  return { token, file }
}

/** Reads a token written by issueApiToken (a client's side: `murmur swarm`, scripts). */
export async function readApiToken (file: string): Promise<string> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `cannot read the API token ${file}: ${error instanceof Error ? error.message : String(error)}; the node writes it to its --datadir when it starts with --api`, { cause: error })
  }
  await checkPrivateFile(file, 'the local API token')
  const token = text.trim()
  if (!/^[A-Za-z0-9_-]{16,}$/.test(token)) throw new MurmurError('ERR_INVALID_ARGUMENT', `${file} does not hold an API token`)
  return token
}

/** Compares in constant time (over fixed-length digests, so the length leaks nothing either). */
export function tokenMatches (expected: string, presented: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(expected), digest(presented))
}
