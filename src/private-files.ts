import { chmod, mkdir, open, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { MurmurError } from './errors.js'

/**
 * Files that hold secrets (a node's private key in its datadir, a swarm key, the local API token)
 * must not be readable by other users of the machine. This module creates them private and checks
 * the ones an operator hands in, as ssh does with private keys.
 */
export const PRIVATE_FILE_MODE = 0o600
export const PRIVATE_DIRECTORY_MODE = 0o700
/** permission bits for group and others: a private file or directory has none of them */
const SHARED_BITS = 0o077

// Windows has no POSIX modes (Node reports 0o666 for every file): there is nothing to check or tighten.
const POSIX = process.platform !== 'win32'

function octal (mode: number): string {
  return (mode & 0o777).toString(8).padStart(3, '0')
}

function message (error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * Creates a directory (and its parents) with mode 700. One that exists already and lets group or
 * others in is tightened to 700, and every file directly in it to 600: it is the node's own
 * directory and holds its private key. Returns what it changed, for a warning, or null.
 */
export async function ensurePrivateDirectory (directory: string): Promise<string | null> {
  await mkdir(directory, { recursive: true, mode: PRIVATE_DIRECTORY_MODE })
  if (!POSIX) return null
  const mode = (await stat(directory)).mode
  const changes: string[] = []
  if ((mode & SHARED_BITS) !== 0) {
    try {
      await chmod(directory, PRIVATE_DIRECTORY_MODE)
    } catch (error) {
      throw new MurmurError('ERR_INSECURE_PERMISSIONS', `${directory} holds the node's private key but other users may read it (mode ${octal(mode)}), and it cannot be made private (${message(error)}): run chmod 700 ${directory}, or use a --datadir of your own`, { cause: error })
    }
    changes.push(`${directory} was mode ${octal(mode)}: made it 700`)
  }
  const files = await tightenFiles(directory)
  if (files > 0) changes.push(`made ${files} file${files === 1 ? '' : 's'} in it mode 600`)
  return changes.length === 0 ? null : `${changes.join(', ')}, because it holds the node's private key`
}

/** Sets every regular file directly in the directory that group or others may access to mode 600; returns how many. */
export async function tightenFiles (directory: string): Promise<number> {
  if (!POSIX) return 0
  let tightened = 0
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    if (!entry.isFile()) continue
    const file = join(directory, entry.name)
    try {
      if (((await stat(file)).mode & SHARED_BITS) !== 0) {
        await chmod(file, PRIVATE_FILE_MODE)
        tightened++
      }
    } catch (error) {
      // LevelDB deletes files as it compacts: one listed a moment ago may be gone, with nothing left to protect.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  return tightened
}

/**
 * Writes a secret to a file that only its owner may read (600), also when it replaces an existing
 * file, whatever that file's mode was: the mode is set before the secret is written.
 */
export async function writePrivateFile (file: string, content: Uint8Array | string, options: { overwrite: boolean }): Promise<void> {
  const handle = await open(file, options.overwrite ? 'w' : 'wx', PRIVATE_FILE_MODE)
  try {
    if (POSIX) await handle.chmod(PRIVATE_FILE_MODE)
    await handle.writeFile(content)
  } finally {
    await handle.close()
  }
}

/**
 * Refuses a secret file that group or others may access, with the command that fixes it. `what`
 * names the secret for the message, e.g. "a swarm key".
 */
export async function checkPrivateFile (file: string, what: string): Promise<void> {
  if (!POSIX) return
  const mode = (await stat(file)).mode
  if ((mode & SHARED_BITS) !== 0) {
    throw new MurmurError('ERR_INSECURE_PERMISSIONS', `${file} holds ${what} but other users may access it (mode ${octal(mode)}); make it private with: chmod 600 ${file}`)
  }
}
