import { open } from 'node:fs/promises'
import { MurmurError, isMurmurError } from '../errors.js'
import { readExactly } from './file-read.js'
import { parseIdxHeader, scalePixels } from './idx-format.js'

/** images read from the file at a time: 1,024 MNIST images are 784 KiB */
const BLOCK_IMAGES = 1_024
/** the longest IDX header: 4 bytes, then one uint32 for each of at most 255 dimensions */
const LONGEST_HEADER = 4 + 4 * 255

export interface IdxImageRows {
  /** the file's dimensions: [count, rows, columns] */
  readonly dims: readonly [number, number, number]
  /** one array per selection: its images in its order, pixels scaled to [0, 1] */
  readonly selections: Float32Array[]
}

/**
 * Chosen images of an uncompressed IDX image file, as float rows scaled to [0, 1] like every IDX
 * loader scales them, read block by block. A node that keeps 7,500 of MNIST's 60,000 training images
 * converts only those: it never holds the 47 MB file, nor a float copy of all of it (188 MB).
 * Each selection lists image numbers (any order, repeats allowed).
 */
export async function readIdxImageRows (file: string, selections: ReadonlyArray<readonly number[]>): Promise<IdxImageRows> {
  const handle = await open(file, 'r')
  try {
    const { size } = await handle.stat()
    const head = new Uint8Array(Math.min(size, LONGEST_HEADER))
    await readExactly(handle, head, 0)
    let header: { dims: number[]; headerLength: number }
    try {
      header = parseIdxHeader(head)
    } catch (error) {
      if (isMurmurError(error)) throw new MurmurError(error.code, `${file}: ${error.message}`, { cause: error })
      throw error
    }
    const [count, rows, columns] = header.dims
    if (header.dims.length !== 3 || count === undefined || rows === undefined || columns === undefined) {
      throw new MurmurError('ERR_INVALID_DATA', `${file}: image files have 3 dimensions (count, rows, columns), this one has [${header.dims.join(', ')}]`)
    }
    const imageSize = rows * columns
    if (size !== header.headerLength + count * imageSize) {
      throw new MurmurError('ERR_INVALID_DATA', `${file}: IDX file size does not match its header: dimensions [${header.dims.join(', ')}] need ${count * imageSize} value bytes, the file has ${size - header.headerLength}`)
    }
    const outputs = selections.map(images => new Float32Array(images.length * imageSize))
    // Every wanted image with where it goes, in file order, so that the file is read front to back once.
    const wanted = selections.flatMap((images, selection) => images.map((image, slot) => {
      if (!Number.isInteger(image) || image < 0 || image >= count) throw new MurmurError('ERR_INVALID_ARGUMENT', `${file}: image ${image} is outside [0, ${count})`)
      return { image, selection, slot }
    })).sort((a, b) => a.image - b.image)
    const block = new Uint8Array(Math.min(BLOCK_IMAGES, count) * imageSize)
    let next = 0
    while (next < wanted.length) {
      const first = (wanted[next] as { image: number }).image
      const inBlock = Math.min(BLOCK_IMAGES, count - first)
      const bytes = block.subarray(0, inBlock * imageSize)
      if (!await readExactly(handle, bytes, header.headerLength + first * imageSize)) throw new MurmurError('ERR_INVALID_DATA', `${file} ended while it was read; is it being rewritten?`)
      for (; next < wanted.length && (wanted[next] as { image: number }).image < first + inBlock; next++) {
        const { image, selection, slot } = wanted[next] as { image: number; selection: number; slot: number }
        scalePixels(bytes.subarray((image - first) * imageSize, (image - first + 1) * imageSize), outputs[selection] as Float32Array, slot * imageSize)
      }
    }
    return { dims: [count, rows, columns], selections: outputs }
  } finally {
    await handle.close()
  }
}
