import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, it, expect, vi } from 'vitest'
import { type Dataset, concatenate, sampleSize, subset } from '../src/data/dataset.js'
import { loadMnist } from '../src/data/mnist.js'
import { loadFashionMnist, loadIdxDirectory, parseIdx } from '../src/data/idx.js'
import { loadCsv } from '../src/data/csv.js'
import { loadNodeData, parseDataSpec } from '../src/data/spec.js'
import { isMurmurError } from '../src/errors.js'

let directory: string

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'murmur-data-'))
})

afterAll(async () => {
  await rm(directory, { recursive: true, force: true })
})

async function rejection (promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    if (error instanceof Error) return error
    throw new Error(`rejected with a non-error: ${String(error)}`)
  }
  throw new Error('expected a rejection')
}

/** An unsigned-byte IDX file: magic 0x0000080N, big-endian dimensions, then the values. */
function idxBytes (dims: number[], values: Uint8Array): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length))
  header.setUint8(2, 0x08)
  header.setUint8(3, dims.length)
  dims.forEach((size, axis) => header.setUint32(4 + 4 * axis, size, false))
  const bytes = new Uint8Array(header.byteLength + values.length)
  bytes.set(new Uint8Array(header.buffer))
  bytes.set(values, header.byteLength)
  return bytes
}

/** Images of rows×columns whose pixels encode their index, labels cycling 0..classes-1. */
function images (count: number, rows: number, columns: number): Uint8Array {
  return Uint8Array.from({ length: count * rows * columns }, (_, index) => (index * 7) % 256)
}

function cycleLabels (count: number, classes: number): Uint8Array {
  return Uint8Array.from({ length: count }, (_, index) => index % classes)
}

// Byte comparison: expect().toEqual walks large typed arrays element by element, far too slowly.
function sameBytes (a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

/** Multiset of rows, to compare datasets regardless of row order. */
function rowCounts (dataset: Dataset): Map<string, number> {
  const size = sampleSize(dataset)
  const counts = new Map<string, number>()
  for (let row = 0; row < dataset.count; row++) {
    const hash = createHash('sha1')
    hash.update(new Uint8Array(dataset.features.buffer, dataset.features.byteOffset + row * size * 4, size * 4))
    hash.update(String(dataset.labels[row]))
    const key = hash.digest('hex')
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

describe('dataset helpers', () => {
  const dataset: Dataset = { name: 't', inputShape: [2], classes: 3, count: 3, features: Float32Array.of(0, 1, 2, 3, 4, 5), labels: Int32Array.of(0, 1, 2) }

  it('subset copies the chosen rows and concatenate joins them', () => {
    const picked = subset(dataset, [2, 0])
    expect(Array.from(picked.features)).toEqual([4, 5, 0, 1])
    expect(Array.from(picked.labels)).toEqual([2, 0])
    picked.features[0] = 99
    expect(dataset.features[4]).toBe(4)
    const joined = concatenate([dataset, picked])
    expect(joined.count).toBe(5)
    expect(Array.from(joined.labels)).toEqual([0, 1, 2, 2, 0])
    expect(sampleSize({ inputShape: [28, 28, 1] })).toBe(784)
  })

  it('refuses mismatched shapes and out-of-range rows', () => {
    expect(() => concatenate([dataset, { ...dataset, inputShape: [3], features: new Float32Array(9) }])).toThrow(/cannot concatenate/)
    expect(() => subset(dataset, [3])).toThrow(/outside/)
  })
})

describe('loadMnist', () => {
  it('splits the built-in digits into ~8,000 train and 2,000 test images', async () => {
    const { train, test } = await loadMnist()
    expect(train.inputShape).toEqual([28, 28, 1])
    expect(train.classes).toBe(10)
    expect(test.count).toBe(2000)
    expect(train.count).toBeGreaterThan(7500)
    expect(train.count).toBeLessThan(8500)
    for (const split of [train, test]) {
      expect(split.features.length).toBe(split.count * 784)
      expect(split.labels.length).toBe(split.count)
      expect(new Set(split.labels)).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))
      expect(split.features.every((value) => value >= 0 && value <= 1)).toBe(true)
      expect(split.features.some((value) => value > 0.5)).toBe(true)
    }
    // Shuffled, not grouped by digit.
    expect(new Set(train.labels.subarray(0, 100)).size).toBe(10)
  })

  it('loads once per process and the same split on a fresh load', async () => {
    const first = await loadMnist()
    expect(await loadMnist()).toBe(first)
    vi.resetModules()
    const fresh = await (await import('../src/data/mnist.js')).loadMnist()
    expect(fresh === first).toBe(false) // not.toBe would deep-compare 8 MB of floats
    expect(sameBytes(fresh.train.labels, first.train.labels)).toBe(true)
    expect(sameBytes(fresh.train.features, first.train.features)).toBe(true)
    expect(sameBytes(fresh.test.features, first.test.features)).toBe(true)
  })
})

describe('loadNodeData', () => {
  for (const spec of ['mnist:I/4', 'mnist:I/4:dirichlet:0.3']) {
    it(`parts of ${spec} are disjoint and together cover the train split`, async () => {
      const { train, test } = await loadMnist()
      const nodes = await Promise.all([1, 2, 3, 4].map(async (part) => await loadNodeData(parseDataSpec(spec.replace('I', String(part))), { seed: 17 })))
      expect(nodes.reduce((total, node) => total + node.train.count + node.holdout.count, 0)).toBe(train.count)
      const union = concatenate(nodes.flatMap((node) => [node.train, node.holdout]))
      expect(rowCounts(union)).toEqual(rowCounts(train))
      for (const node of nodes) {
        expect(node.test).toBe(test)
        const total = node.train.count + node.holdout.count
        expect(node.holdout.count).toBe(Math.round(total * 0.1))
      }
    })
  }

  it('is deterministic for a seed and changes with it', async () => {
    const spec = parseDataSpec('mnist:2/3')
    const a = await loadNodeData(spec, { seed: 1 })
    const b = await loadNodeData(spec, { seed: 1 })
    const c = await loadNodeData(spec, { seed: 2 })
    expect(sameBytes(b.train.labels, a.train.labels)).toBe(true)
    expect(sameBytes(b.holdout.features, a.holdout.features)).toBe(true)
    expect(sameBytes(c.train.features, a.train.features)).toBe(false)
  })

  it('holds out at least one sample and keeps at least one to train on', async () => {
    const file = join(directory, 'two-rows.csv')
    await writeFile(file, '1,2,0\n3,4,1\n')
    const none = await loadNodeData(parseDataSpec(`csv:${file}`), { seed: 1, holdoutFraction: 0 })
    expect([none.train.count, none.holdout.count]).toEqual([1, 1])
    expect(none.test).toBeUndefined()
    const most = await loadNodeData(parseDataSpec(`csv:${file}`), { seed: 1, holdoutFraction: 0.99 })
    expect([most.train.count, most.holdout.count]).toEqual([1, 1])
    await expect(loadNodeData(parseDataSpec(`csv:${file}`), { seed: 1, holdoutFraction: 1 })).rejects.toThrow(/holdoutFraction/)
  })
})

describe('IDX', () => {
  it('parses a plain IDX array', () => {
    const parsed = parseIdx(idxBytes([2, 3], Uint8Array.of(1, 2, 3, 4, 5, 6)))
    expect(parsed.dims).toEqual([2, 3])
    expect(Array.from(parsed.data)).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('rejects corrupted files with ERR_INVALID_DATA', () => {
    const good = idxBytes([4, 2, 2], images(4, 2, 2))
    const truncated = good.subarray(0, good.length - 3)
    const badMagic = Uint8Array.from(good)
    badMagic[0] = 0x12
    const badType = Uint8Array.from(good)
    badType[2] = 0x0d
    for (const [bytes, message] of [[truncated, /size does not match/], [badMagic, /not an IDX file/], [badType, /not supported/], [Uint8Array.of(0, 0), /not an IDX file/]] as const) {
      let caught: unknown
      try {
        parseIdx(bytes)
      } catch (error) {
        caught = error
      }
      expect(isMurmurError(caught, 'ERR_INVALID_DATA')).toBe(true)
      expect((caught as Error).message).toMatch(message)
    }
  })

  it('loads a directory of plain and gzipped files with either naming', async () => {
    const dir = join(directory, 'idx-ok')
    await mkdir(dir)
    await writeFile(join(dir, 'train-images-idx3-ubyte'), idxBytes([12, 4, 3], images(12, 4, 3)))
    await writeFile(join(dir, 'train-labels.idx1-ubyte.gz'), gzipSync(idxBytes([12], cycleLabels(12, 3))))
    await writeFile(join(dir, 't10k-images.idx3-ubyte.gz'), gzipSync(idxBytes([5, 4, 3], images(5, 4, 3))))
    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), idxBytes([5], cycleLabels(5, 2)))
    const { train, test } = await loadIdxDirectory(dir, 'tiny')
    expect(train.name).toBe('tiny')
    expect(train.inputShape).toEqual([4, 3, 1])
    expect([train.count, test.count]).toEqual([12, 5])
    expect([train.classes, test.classes]).toEqual([3, 3])
    expect(Array.from(train.labels.subarray(0, 4))).toEqual([0, 1, 2, 0])
    expect(train.features[1]).toBeCloseTo(7 / 255, 6)
    expect(test.features.every((value) => value >= 0 && value <= 1)).toBe(true)

    const node = await loadNodeData(parseDataSpec(`idx:${dir}`), { seed: 3, holdoutFraction: 0.25 })
    expect([node.train.count, node.holdout.count, node.test?.count]).toEqual([9, 3, 5])
  })

  it('reports missing files and corrupted gzip', async () => {
    const dir = join(directory, 'idx-bad')
    await mkdir(dir)
    await writeFile(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxBytes([2, 2, 2], images(2, 2, 2))).subarray(0, 12))
    const missing = await rejection(loadIdxDirectory(dir))
    expect(isMurmurError(missing, 'ERR_DATA_NOT_FOUND')).toBe(true)
    expect(missing.message).toContain(dir)
    expect(missing.message).toContain('train-labels-idx1-ubyte')
    expect(missing.message).toContain('t10k-images-idx3-ubyte')

    await writeFile(join(dir, 'train-labels-idx1-ubyte'), idxBytes([2], cycleLabels(2, 2)))
    await writeFile(join(dir, 't10k-images-idx3-ubyte'), idxBytes([2, 2, 2], images(2, 2, 2)))
    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), idxBytes([3], cycleLabels(3, 2)))
    const corrupt = await rejection(loadIdxDirectory(dir))
    expect(isMurmurError(corrupt, 'ERR_INVALID_DATA')).toBe(true)

    await writeFile(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxBytes([2, 2, 2], images(2, 2, 2))))
    const mismatch = await rejection(loadIdxDirectory(dir))
    expect(isMurmurError(mismatch, 'ERR_INVALID_DATA')).toBe(true)
    expect(mismatch.message).toContain('expected 2 labels')
  })

  it('tells the user how to install Fashion-MNIST when it is missing', async () => {
    const error = await rejection(loadFashionMnist(join(directory, 'no-such-dir')))
    expect(isMurmurError(error, 'ERR_DATA_NOT_FOUND')).toBe(true)
    expect(error.message).toContain('apt-get install dataset-fashion-mnist')
    expect(error.message).toContain('MURMUR_FASHION_MNIST_DIR')
  })
})

describe('loadCsv', () => {
  async function csv (name: string, text: string): Promise<string> {
    const file = join(directory, name)
    await writeFile(file, text)
    return file
  }

  it('reads a headed file, finding the "label" column wherever it is', async () => {
    const file = await csv('headed.csv', 'a,label,b\n0.5,1,2\n1.5,0,-3\n\n2.5,2,4e1\n')
    const dataset = await loadCsv(file)
    expect(dataset.name).toBe('csv:headed.csv')
    expect(dataset.inputShape).toEqual([2])
    expect(dataset.count).toBe(3)
    expect(dataset.classes).toBe(3)
    expect(Array.from(dataset.labels)).toEqual([1, 0, 2])
    expect(Array.from(dataset.features)).toEqual([0.5, 2, 1.5, -3, 2.5, 40])
  })

  it('takes the label column by name or 0-based index', async () => {
    const file = await csv('named.csv', 'x,y,kind\n1,0,3\n2,1,4\n')
    const byName = await loadCsv(file, 'y')
    expect(Array.from(byName.labels)).toEqual([0, 1])
    expect(Array.from(byName.features)).toEqual([1, 3, 2, 4])
    const byIndex = await loadCsv(file, '2')
    expect(Array.from(byIndex.labels)).toEqual([3, 4])
    expect(byIndex.classes).toBe(5)
    const byDefault = await loadCsv(file)
    expect(Array.from(byDefault.labels)).toEqual([3, 4])
  })

  it('reads a file without header, labels in the last column by default', async () => {
    const file = await csv('bare.csv', '0,0.2,1\r\n2,0.4,0\r\n')
    const dataset = await loadCsv(file)
    expect(dataset.count).toBe(2)
    expect(Array.from(dataset.labels)).toEqual([1, 0])
    expect(dataset.features[3]).toBeCloseTo(0.4, 6)
    const first = await loadCsv(file, '0')
    expect(Array.from(first.labels)).toEqual([0, 2])
    expect(first.features[0]).toBeCloseTo(0.2, 6)
    expect(first.features[1]).toBe(1)
  })

  it('names file, line and column of a bad cell', async () => {
    const file = await csv('bad-cell.csv', 'a,b,label\n1,2,0\n3,oops,1\n')
    const error = await rejection(loadCsv(file))
    expect(isMurmurError(error, 'ERR_INVALID_DATA')).toBe(true)
    expect(error.message).toContain(file)
    expect(error.message).toContain('line 3')
    expect(error.message).toContain('column 2 ("b")')
    expect(error.message).toContain('"oops"')
  })

  it('rejects ragged rows, bad labels, unknown label columns, empty and missing files', async () => {
    const cases: [string, string, string | undefined, RegExp][] = [
      ['ragged.csv', '1,2,0\n1,2\n', undefined, /line 2: found 2 columns, expected 3/],
      ['fraction-label.csv', '1,2,0\n1,2,0.5\n', undefined, /line 2, column 3: label "0.5"/],
      ['negative-label.csv', 'a,label\n1,-1\n', undefined, /line 2, column 2 \("label"\): label "-1"/],
      ['unknown-name.csv', 'a,b\n1,0\n', 'species', /no column named "species"/],
      ['unknown-index.csv', 'a,b\n1,0\n', '5', /index 5 is out of range/],
      ['name-without-header.csv', '1,0\n2,1\n', 'label', /no header row/],
      ['empty.csv', '\n\n', undefined, /is empty/],
      ['header-only.csv', 'a,label\n', undefined, /no data rows/]
    ]
    for (const [name, text, labelColumn, message] of cases) {
      const file = await csv(name, text)
      const error = await rejection(loadCsv(file, labelColumn))
      expect(isMurmurError(error, 'ERR_INVALID_DATA'), name).toBe(true)
      expect(error.message, name).toMatch(message)
      expect(error.message, name).toContain(file)
    }
    const missing = await rejection(loadCsv(join(directory, 'missing.csv')))
    expect(isMurmurError(missing, 'ERR_DATA_NOT_FOUND')).toBe(true)
    expect(missing.message).toContain('missing.csv')
  })
})
