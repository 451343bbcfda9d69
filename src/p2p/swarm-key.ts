import { readFile } from 'node:fs/promises'
import { generateKey } from '@libp2p/pnet'
import { MurmurError } from '../errors.js'
import { checkPrivateFile } from '../private-files.js'
import { parseSwarmKey } from './swarm-key-format.js'

export { parseSwarmKey, parseSwarmKeyText } from './swarm-key-format.js'

/**
 * Pre-shared keys for private swarms (libp2p pnet): every connection is encrypted with the key before
 * anything else happens, so a peer without it completes no connection at all. The file format is
 * the one go-ipfs and js-libp2p use: "/key/swarm/psk/1.0.0/", "/base16/", then 64 hex digits.
 */
const KEY_FILE_BYTES = 95

export function generateSwarmKey (): Uint8Array {
  const key = new Uint8Array(KEY_FILE_BYTES)
  generateKey(key)
  return key
}

export async function readSwarmKey (file: string): Promise<Uint8Array> {
  let content: Uint8Array
  try {
    content = await readFile(file)
  } catch (error) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `cannot read the swarm key ${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
  // Anyone who can read the key can join the private swarm: refuse a key file others may read.
  await checkPrivateFile(file, 'a swarm key')
  return parseSwarmKey(content, file)
}

/** Reads an allow list: one peer id per line; blank lines and # comments are ignored. */
export async function readPeerList (file: string): Promise<string[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `cannot read the peer list ${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
  const peers = text.split(/\r?\n/).map(line => line.replace(/#.*/, '').trim()).filter(line => line !== '')
  for (const [index, peer] of peers.entries()) {
    if (!/^[1-9A-HJ-NP-Za-km-z]{40,100}$/.test(peer)) throw new MurmurError('ERR_INVALID_ARGUMENT', `${file}: entry ${index + 1} "${peer}" is not a peer id`)
  }
  return peers
}
