import { describe, it, expect } from 'vitest'
import { createRandom, deriveSeed } from '../src/data/random.js'
import { type Partition, formatPartition, parsePartition, partitionIndices } from '../src/data/partition.js'
import { type DataSpec, formatDataSpec, parseDataSpec } from '../src/data/spec.js'
import { isMurmurError } from '../src/errors.js'
import { errorOf } from './helpers.js'

/** 3,000 samples over 10 classes of unequal sizes, in a scrambled order. */
function syntheticLabels (count = 3000, classes = 10): Int32Array {
  const random = createRandom(99)
  return Int32Array.from({ length: count }, () => Math.min(classes - 1, Math.floor(random.next() ** 1.3 * classes)))
}


/** Mean over parts of the share of the part's most common class. */
function meanDominantShare (labels: Int32Array, parts: number[][], classes: number): number {
  const shares = parts.map((part) => {
    const counts = new Array<number>(classes).fill(0)
    for (const index of part) counts[labels[index] as number]! += 1
    return Math.max(...counts) / part.length
  })
  return shares.reduce((a, b) => a + b, 0) / shares.length
}

function classesIn (labels: Int32Array, part: number[]): number {
  return new Set(part.map((index) => labels[index])).size
}

function expectExactCover (parts: number[][], count: number): void {
  const seen = new Array<number>(count).fill(0)
  for (const part of parts) for (const index of part) seen[index]! += 1
  expect(seen.every((times) => times === 1)).toBe(true)
  expect(parts.reduce((total, part) => total + part.length, 0)).toBe(count)
}

describe('createRandom', () => {
  it('repeats the same sequence for the same seed and differs across seeds', () => {
    const draw = (seed: number): number[] => {
      const random = createRandom(seed)
      return Array.from({ length: 50 }, () => random.next())
    }
    expect(draw(7)).toEqual(draw(7))
    expect(draw(7)).not.toEqual(draw(8))
    expect(draw(0)).not.toEqual(draw(2 ** 32))
    expect(draw(123).every((value) => value >= 0 && value < 1)).toBe(true)
  })

  it('draws integers in range and shuffles in place deterministically', () => {
    const random = createRandom(1)
    const integers = Array.from({ length: 1000 }, () => random.integer(6))
    expect(new Set(integers)).toEqual(new Set([0, 1, 2, 3, 4, 5]))
    const items = Array.from({ length: 20 }, (_, index) => index)
    const shuffled = createRandom(5).shuffle(items)
    expect(shuffled).toBe(items)
    expect([...shuffled].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, index) => index))
    expect(shuffled).toEqual(createRandom(5).shuffle(Array.from({ length: 20 }, (_, index) => index)))
    expect(shuffled).not.toEqual(Array.from({ length: 20 }, (_, index) => index))
  })

  it('has roughly the right moments for normal and gamma draws', () => {
    const random = createRandom(42)
    const normals = Array.from({ length: 20000 }, () => random.normal())
    const mean = normals.reduce((a, b) => a + b, 0) / normals.length
    const variance = normals.reduce((a, b) => a + (b - mean) ** 2, 0) / normals.length
    expect(Math.abs(mean)).toBeLessThan(0.05)
    expect(Math.abs(variance - 1)).toBeLessThan(0.05)
    for (const shape of [0.3, 1, 4]) {
      const draws = Array.from({ length: 20000 }, () => random.gamma(shape))
      expect(draws.every((value) => value >= 0)).toBe(true)
      expect(Math.abs(draws.reduce((a, b) => a + b, 0) / draws.length - shape)).toBeLessThan(0.1 * shape + 0.02)
    }
  })

  it('rejects bad seeds and derives distinct seeds from salts', () => {
    expect(isMurmurError(errorOf(() => createRandom(-1)), 'ERR_INVALID_ARGUMENT')).toBe(true)
    expect(isMurmurError(errorOf(() => createRandom(1.5)), 'ERR_INVALID_ARGUMENT')).toBe(true)
    expect(deriveSeed(3, 1)).toBe(deriveSeed(3, 1))
    expect(deriveSeed(3, 1)).not.toBe(deriveSeed(3, 2))
    expect(deriveSeed(3, 1)).not.toBe(deriveSeed(4, 1))
  })
})

describe('parsePartition / formatPartition', () => {
  it('round-trips every kind', () => {
    const partitions: Partition[] = [{ kind: 'iid' }, { kind: 'dirichlet', alpha: 0.5 }, { kind: 'dirichlet', alpha: 10 }, { kind: 'shards', shardsPerNode: 2 }]
    for (const partition of partitions) expect(parsePartition(formatPartition(partition))).toEqual(partition)
    expect(parsePartition('dirichlet:0.05')).toEqual({ kind: 'dirichlet', alpha: 0.05 })
  })

  it('rejects malformed partitions naming the text and the accepted forms', () => {
    for (const text of ['', 'IID', 'iid:1', 'dirichlet', 'dirichlet:', 'dirichlet:0', 'dirichlet:-1', 'dirichlet:abc', 'shards', 'shards:0', 'shards:1.5', 'shards:2:3', 'random']) {
      const error = errorOf(() => parsePartition(text))
      expect(isMurmurError(error, 'ERR_INVALID_ARGUMENT'), text).toBe(true)
      expect((error as Error).message).toContain(`"${text}"`)
      expect((error as Error).message).toContain('dirichlet:ALPHA')
    }
  })
})

describe('partitionIndices', () => {
  const labels = syntheticLabels()
  const partitions: Partition[] = [{ kind: 'iid' }, { kind: 'dirichlet', alpha: 0.3 }, { kind: 'shards', shardsPerNode: 2 }]

  for (const partition of partitions) {
    const name = formatPartition(partition)
    it(`${name}: covers every index exactly once, is deterministic per seed and differs across seeds`, () => {
      for (const parts of [1, 3, 8]) {
        const result = partitionIndices(labels, 10, parts, partition, 11)
        expect(result).toHaveLength(parts)
        expectExactCover(result, labels.length)
        expect(result.every((part) => part.length > 0)).toBe(true)
        expect(partitionIndices(labels, 10, parts, partition, 11)).toEqual(result)
        if (parts > 1) expect(partitionIndices(labels, 10, parts, partition, 12)).not.toEqual(result)
      }
    })
  }

  it('iid: parts are near-equal and mixed', () => {
    const result = partitionIndices(labels, 10, 7, { kind: 'iid' }, 3)
    const sizes = result.map((part) => part.length)
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
    expect(result.every((part) => classesIn(labels, part) === 10)).toBe(true)
  })

  it('dirichlet: a small alpha skews the class mix far more than iid', () => {
    const iid = meanDominantShare(labels, partitionIndices(labels, 10, 10, { kind: 'iid' }, 5), 10)
    const skewed = meanDominantShare(labels, partitionIndices(labels, 10, 10, { kind: 'dirichlet', alpha: 0.1 }, 5), 10)
    const mild = meanDominantShare(labels, partitionIndices(labels, 10, 10, { kind: 'dirichlet', alpha: 100 }, 5), 10)
    expect(iid).toBeLessThan(0.3)
    expect(skewed).toBeGreaterThan(0.5)
    expect(skewed).toBeGreaterThan(iid + 0.25)
    expect(Math.abs(mild - iid)).toBeLessThan(0.1)
  })

  it('dirichlet: every part keeps a minimum size, even when more parts than classes and a tiny alpha', () => {
    const result = partitionIndices(labels, 10, 20, { kind: 'dirichlet', alpha: 0.01 }, 9)
    expectExactCover(result, labels.length)
    expect(Math.min(...result.map((part) => part.length))).toBeGreaterThanOrEqual(10)
  })

  it('shards: each part sees only a few classes and gets equal-size shards', () => {
    const result = partitionIndices(labels, 10, 10, { kind: 'shards', shardsPerNode: 2 }, 4)
    const counts = result.map((part) => classesIn(labels, part))
    // Two shards, each of which can straddle one class boundary.
    expect(Math.max(...counts)).toBeLessThanOrEqual(4)
    expect(counts.reduce((a, b) => a + b, 0) / counts.length).toBeLessThan(3.2)
    expect(new Set(result.map((part) => part.length))).toEqual(new Set([300]))
  })

  it('rejects impossible requests', () => {
    expect(isMurmurError(errorOf(() => partitionIndices(labels, 10, 0, { kind: 'iid' }, 1)), 'ERR_INVALID_ARGUMENT')).toBe(true)
    expect(isMurmurError(errorOf(() => partitionIndices(new Int32Array(5), 1, 6, { kind: 'iid' }, 1)), 'ERR_INVALID_ARGUMENT')).toBe(true)
    expect(isMurmurError(errorOf(() => partitionIndices(new Int32Array(10), 1, 3, { kind: 'shards', shardsPerNode: 4 }, 1)), 'ERR_INVALID_ARGUMENT')).toBe(true)
    expect(isMurmurError(errorOf(() => partitionIndices(Int32Array.of(0, 3), 3, 1, { kind: 'iid' }, 1)), 'ERR_INVALID_ARGUMENT')).toBe(true)
  })
})

describe('parseDataSpec / formatDataSpec', () => {
  it('parses every accepted form', () => {
    expect(parseDataSpec('mnist')).toEqual({ kind: 'builtin', dataset: 'mnist', part: 1, parts: 1, partition: { kind: 'iid' } })
    expect(parseDataSpec('mnist:3/8:dirichlet:0.5')).toEqual({ kind: 'builtin', dataset: 'mnist', part: 3, parts: 8, partition: { kind: 'dirichlet', alpha: 0.5 } })
    expect(parseDataSpec('fashion-mnist:2/4')).toEqual({ kind: 'builtin', dataset: 'fashion-mnist', part: 2, parts: 4, partition: { kind: 'iid' } })
    expect(parseDataSpec('fashion-mnist:4/4:shards:2')).toEqual({ kind: 'builtin', dataset: 'fashion-mnist', part: 4, parts: 4, partition: { kind: 'shards', shardsPerNode: 2 } })
    expect(parseDataSpec('idx:/data/mnist')).toEqual({ kind: 'idx', directory: '/data/mnist' })
    expect(parseDataSpec('csv:data/x.csv')).toEqual({ kind: 'csv', file: 'data/x.csv' })
    expect(parseDataSpec('csv:data/x.csv:label')).toEqual({ kind: 'csv', file: 'data/x.csv', labelColumn: 'label' })
    expect(parseDataSpec('csv:data/x.csv:3')).toEqual({ kind: 'csv', file: 'data/x.csv', labelColumn: '3' })
    expect(parseDataSpec('csv:weird:dir/x.csv')).toEqual({ kind: 'csv', file: 'weird:dir/x.csv' })
  })

  it('round-trips through formatDataSpec', () => {
    const specs: DataSpec[] = [
      { kind: 'builtin', dataset: 'mnist', part: 1, parts: 1, partition: { kind: 'iid' } },
      { kind: 'builtin', dataset: 'mnist', part: 3, parts: 8, partition: { kind: 'dirichlet', alpha: 0.5 } },
      { kind: 'builtin', dataset: 'fashion-mnist', part: 2, parts: 5, partition: { kind: 'shards', shardsPerNode: 3 } },
      { kind: 'idx', directory: '/srv/data/fashion' },
      { kind: 'csv', file: 'data/x.csv' },
      { kind: 'csv', file: 'data/x.csv', labelColumn: 'species' },
      { kind: 'csv', file: '/abs/x.csv', labelColumn: '0' }
    ]
    for (const spec of specs) expect(parseDataSpec(formatDataSpec(spec))).toEqual(spec)
    for (const text of ['mnist:3/8:dirichlet:0.5', 'fashion-mnist:1/2', 'csv:data/x.csv:label', 'idx:/d']) expect(formatDataSpec(parseDataSpec(text))).toBe(text)
  })

  it('rejects bad specs with ERR_INVALID_DATA_SPEC quoting the spec and listing the forms', () => {
    const bad = ['', 'cifar:1/2', 'mnist:0/4', 'mnist:5/4', 'mnist:1/0', 'mnist:a/b', 'mnist:1', 'mnist:1/4:foo', 'mnist:1/4:dirichlet:-1', 'mnist:1/4:shards:0', 'idx:', 'idx', 'csv:', 'csv', 'csv:x.csv:']
    for (const text of bad) {
      const error = errorOf(() => parseDataSpec(text))
      expect(isMurmurError(error, 'ERR_INVALID_DATA_SPEC'), text).toBe(true)
      expect((error as Error).message).toContain(`"${text}"`)
      expect((error as Error).message).toContain('mnist:I/N[:PARTITION]')
      expect((error as Error).message).toContain('csv:FILE')
    }
  })
})
