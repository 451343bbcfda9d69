import { MurmurError } from '../errors.js'

/** The first line of a swarm key file (the format go-ipfs and js-libp2p use). */
export const KEY_FILE_HEADER = '/key/swarm/psk/1.0.0/'
const HEADER = KEY_FILE_HEADER

/** Checks a swarm key file's content; returns it as pnet expects it. */
export function parseSwarmKey (content: Uint8Array, source: string): Uint8Array {
  const lines = new TextDecoder().decode(content).split(/\r\n|\r|\n/)
  if (lines[0] !== HEADER || lines[1] !== '/base16/' || !/^[0-9a-fA-F]{64}$/.test(lines[2] ?? '')) {
    throw new MurmurError('ERR_INVALID_ARGUMENT', `${source} is not a swarm key: expected the lines "${HEADER}", "/base16/" and 64 hex digits (make one with: murmur keygen --out ${source})`)
  }
  return new TextEncoder().encode(`${HEADER}\n/base16/\n${lines[2] ?? ''}`)
}

/**
 * A swarm key as a person pastes it into a browser node's page: the whole file, or only its 64 hex
 * digits (as in a URL fragment #key=HEX). Returns it as pnet expects it.
 */
export function parseSwarmKeyText (text: string): Uint8Array {
  const trimmed = text.trim()
  const file = /^[0-9a-fA-F]{64}$/.test(trimmed) ? `${HEADER}\n/base16/\n${trimmed}` : trimmed
  return parseSwarmKey(new TextEncoder().encode(file), 'the swarm key given')
}
