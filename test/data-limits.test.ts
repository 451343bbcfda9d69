import { createWriteStream } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip, gzipSync } from 'node:zlib'
import { beforeAll, describe, it, expect } from 'vitest'
import { loadCsv } from '../src/data/csv.js'
import { loadIdxDirectory } from '../src/data/idx.js'
import { DEFAULT_DATA_LIMITS } from '../src/data/limits.js'
import { isMurmurError } from '../src/errors.js'
import { rejectionOf, temporaryDirectory } from './helpers.js'

let directory: string

beforeAll(async () => {
  directory = await temporaryDirectory('data-limits')
})

async function csvFile (name: string, text: string): Promise<string> {
  const file = join(directory, name)
  await writeFile(file, text)
  return file
}

async function refusal (promise: () => Promise<unknown>): Promise<Error> {
  const error = await rejectionOf(promise)
  expect(isMurmurError(error, 'ERR_INVALID_DATA'), String(error)).toBe(true)
  return error as Error
}

function idxHeader (dims: number[]): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length))
  header.setUint8(2, 0x08)
  header.setUint8(3, dims.length)
  dims.forEach((size, axis) => header.setUint32(4 + 4 * axis, size, false))
  return new Uint8Array(header.buffer)
}

/** A gzip file of the header followed by `zeros` zero bytes, compressed as it is produced (no large buffer). */
async function gzipOf (file: string, header: Uint8Array, zeros: number): Promise<number> {
  const chunk = new Uint8Array(1 << 20)
  async function * content (): AsyncGenerator<Uint8Array> {
    yield header
    for (let left = zeros; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left)
  }
  const out = createWriteStream(file)
  await pipeline(Readable.from(content()), createGzip({ level: 9 }), out)
  return out.bytesWritten
}

/** A valid IDX directory of tiny 2×2 images, with the train images file left to the caller. */
async function idxDirectory (name: string): Promise<string> {
  const dir = join(directory, name)
  await mkdir(dir)
  const labels = (count: number): Uint8Array => Uint8Array.from({ length: count }, (_, index) => index % 2)
  await writeFile(join(dir, 'train-labels-idx1-ubyte'), Buffer.concat([idxHeader([4]), labels(4)]))
  await writeFile(join(dir, 't10k-images-idx3-ubyte'), Buffer.concat([idxHeader([2, 2, 2]), new Uint8Array(8)]))
  await writeFile(join(dir, 't10k-labels-idx1-ubyte'), Buffer.concat([idxHeader([2]), labels(2)]))
  return dir
}

describe('CSV input limits', () => {
  it('refuse values beyond the 32-bit float range, naming line and column', async () => {
    const ok = await loadCsv(await csvFile('finite.csv', 'a,b,label\n1e38,-3.4e38,0\n1,2,1\n'))
    expect(Array.from(ok.features).every(Number.isFinite)).toBe(true)

    const error = await refusal(async () => loadCsv(await csvFile('huge.csv', 'a,b,label\n1,2,0\n3,1e39,1\n')))
    expect(error.message).toContain('line 3, column 2 ("b")')
    expect(error.message).toContain('"1e39"')
    expect(error.message).toContain('Infinity')
    const negative = await refusal(async () => loadCsv(await csvFile('huge-negative.csv', '1,2,0\n-1e400,4,1\n')))
    expect(negative.message).toContain('line 2, column 1')
  })

  it('refuse a first row of column numbers instead of reading it as a sample, and accept such a row that is data', async () => {
    const numbered = ['0,1,2,3,4', '0.1,0.2,0.3,0.4,0', '0.5,0.6,0.7,0.8,1', '0.2,0.1,0.3,0.9,1'].join('\n') + '\n'
    const error = await refusal(async () => loadCsv(await csvFile('numbered.csv', numbered)))
    expect(error.message).toContain('line 1')
    expect(error.message).toContain('column 5')
    expect(error.message).toMatch(/header of column numbers/)
    const fromOne = await refusal(async () => loadCsv(await csvFile('numbered-1.csv', '1,2,3\n5,6,0\n7,8,1\n')))
    expect(fromOne.message).toContain('line 1')

    // The same first row as data: its label (2) is a label of other rows too, so it is a sample.
    const data = await loadCsv(await csvFile('data.csv', '0,1,2\n5,6,2\n7,8,0\n'))
    expect(data.count).toBe(3)
    expect(data.classes).toBe(3)
  })

  it('refuse a file larger than the limit before reading it', async () => {
    const file = await csvFile('big.csv', 'a,label\n' + '1,0\n'.repeat(5_000))
    const error = await refusal(async () => loadCsv(file, undefined, { ...DEFAULT_DATA_LIMITS, maxFileBytes: 10_000 }))
    expect(error.message).toContain(file)
    expect(error.message).toMatch(/20008 bytes, more than the 10000 bytes/)
    expect((await loadCsv(file, undefined, { ...DEFAULT_DATA_LIMITS, maxFileBytes: 20_008 })).count).toBe(5_000)
  })
})

describe('IDX input limits', () => {
  it('stop a gzip bomb at the limit instead of inflating it', async () => {
    const dir = await idxDirectory('bomb')
    const file = join(dir, 'train-images-idx3-ubyte.gz')
    // Its header claims 4 images of 2×2, then 64 MiB of zeros follow: a few hundred kB on disk.
    const stored = await gzipOf(file, idxHeader([4, 2, 2]), 64 << 20)
    expect(stored).toBeLessThan(1 << 20)
    const error = await refusal(async () => loadIdxDirectory(dir))
    expect(error.message).toContain(file)
    expect(error.message).toMatch(/inflates to more data than its header declares \(32 bytes\)/)
  })

  it('refuse a file whose header declares more than the inflate limit, before inflating it', async () => {
    const dir = await idxDirectory('declared')
    const file = join(dir, 'train-images-idx3-ubyte.gz')
    // 4 Gi images of 64 Ki × 64 Ki pixels: refused from the header with the default limits.
    await writeFile(file, gzipSync(Buffer.concat([idxHeader([0xffffffff, 65_536, 65_536]), new Uint8Array(1024)])))
    const error = await refusal(async () => loadIdxDirectory(dir))
    expect(error.message).toMatch(/header declares .* more than the 256 MiB a node loads from one file/)

    // Within its header's size but above a lower limit: refused at that limit.
    await gzipOf(file, idxHeader([4096, 32, 32]), 4096 * 32 * 32)
    const limited = await refusal(async () => loadIdxDirectory(dir, 'idx', { ...DEFAULT_DATA_LIMITS, maxInflatedBytes: 1 << 20 }))
    expect(limited.message).toMatch(/header declares 4\.0 MiB of data, more than the 1 MiB/)
  })

  it('refuse a stored file larger than the limit, and load the same files within it', async () => {
    const dir = await idxDirectory('large')
    const file = join(dir, 'train-images-idx3-ubyte')
    await writeFile(file, Buffer.concat([idxHeader([4, 2, 2]), new Uint8Array(16)]))
    // 30 bytes: only this file is over it (the test images are 24 bytes), so the files being read in
    // parallel cannot race for which refusal comes first.
    const error = await refusal(async () => loadIdxDirectory(dir, 'idx', { ...DEFAULT_DATA_LIMITS, maxFileBytes: 30 }))
    expect(error.message).toContain(file)
    expect(error.message).toMatch(/32 bytes, more than the 30 bytes/)
    const { train } = await loadIdxDirectory(dir, 'idx', { ...DEFAULT_DATA_LIMITS, maxFileBytes: 32 })
    expect(train.count).toBe(4)
  })
})
