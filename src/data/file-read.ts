import type { FileHandle } from 'node:fs/promises'

/**
 * Fills `target` from the file at `position`; false when the file ends first. A single read may
 * return fewer bytes than asked, so loaders that read into their own arrays (no copy of the whole
 * file) read through this.
 */
export async function readExactly (file: FileHandle, target: Uint8Array, position: number): Promise<boolean> {
  let done = 0
  while (done < target.byteLength) {
    const { bytesRead } = await file.read(target, done, target.byteLength - done, position + done)
    if (bytesRead === 0) return false
    done += bytesRead
  }
  return true
}
