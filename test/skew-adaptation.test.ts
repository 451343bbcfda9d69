import { describe, expect, it } from 'vitest'
import { chanceSkew, labelCounts, labelSkew } from '../src/data/label-skew.js'
import { partitionIndices, parsePartition } from '../src/data/partition.js'
import { createRandom } from '../src/data/random.js'
import { SKEWED_FANOUT_FACTOR, skewFanout } from '../src/core/skew-adaptation.js'
import { benchmarkSkew, skewCases, type SkewResult } from '../src/swarm/skew-bench.js'

/** 8 parts of 8,000 records with balanced labels, split as the benchmarks split MNIST */
function partLabels (partition: string): number[][] {
  const random = createRandom(7)
  const labels = Int32Array.from({ length: 8_000 }, () => random.integer(10))
  return partitionIndices(labels, 10, 8, parsePartition(partition), 42).map(rows => labelCounts(labels, 10, Int32Array.from(rows)))
}

describe('label skew', () => {
  it('is the total variation distance from balanced labels', () => {
    expect(labelSkew([5, 5, 5, 5])).toBe(0)
    expect(labelSkew([20, 0, 0, 0])).toBeCloseTo(0.75, 12)
    expect(labelSkew([10, 10, 0, 0])).toBeCloseTo(0.5, 12)
    expect(labelSkew([])).toBe(0)
    expect(labelSkew([0, 0])).toBe(0)
  })

  it('counts labels of the chosen rows and refuses labels outside the classes', () => {
    const labels = Int32Array.from([0, 1, 1, 2, 2, 2])
    expect(labelCounts(labels, 3)).toEqual([1, 2, 3])
    expect(labelCounts(labels, 4, Int32Array.from([1, 2, 5]))).toEqual([0, 2, 1, 0])
    expect(() => labelCounts(labels, 2)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_DATA' }))
  })

  it('tells IID parts from label-skewed ones', () => {
    for (const counts of partLabels('iid')) expect(labelSkew(counts)).toBeLessThan(0.1)
    for (const counts of partLabels('shards:2')) expect(labelSkew(counts)).toBeGreaterThan(0.5)
  })
})

describe('an exchange that follows label skew', () => {
  it('keeps the manifest fanout for balanced labels and raises it to 7/3 of it for strongly skewed ones', () => {
    for (const counts of partLabels('iid')) expect(skewFanout(3, counts)).toBe(3)
    for (const counts of partLabels('shards:2')) expect(skewFanout(3, counts)).toBe(7)
    expect(skewFanout(3, [40, 0, 0, 0])).toBe(Math.round(3 * SKEWED_FANOUT_FACTOR))
    expect(skewFanout(6, [40, 0, 0, 0])).toBe(14)
    // unknown labels: the manifest's fanout
    expect(skewFanout(3, undefined)).toBe(3)
    // in between, in proportion
    const partly = skewFanout(3, [55, 5, 5, 5, 5, 5, 5, 5, 5, 5])
    expect(partly).toBeGreaterThan(3)
    expect(partly).toBeLessThan(7)
  })

  it('keeps the manifest\'s settings on a node with too few records to tell skew from chance', () => {
    // A simulated phone: 7 records drawn from balanced labels read as skewed by chance alone.
    const random = createRandom(3)
    const phones = Array.from({ length: 200 }, () => labelCounts(Int32Array.from({ length: 7 }, () => random.integer(10)), 10))
    // Control: at most 7 of 10 classes, so every skew is at least 0.3, and most are over 0.4, where a
    // node with enough records would adapt.
    expect(phones.every(counts => labelSkew(counts) > 0.3 - 1e-9)).toBe(true)
    expect(phones.filter(counts => labelSkew(counts) > 0.4).length).toBeGreaterThan(100)
    for (const counts of phones) {
      expect(skewFanout(3, counts)).toBe(3)
    }
    // A small node whose labels are skewed beyond chance still adapts: 24 records of one class.
    expect(skewFanout(3, [24, 0, 0, 0, 0, 0, 0, 0, 0, 0])).toBe(7)
  })

  it('puts the skew of balanced draws where chance puts it', () => {
    const random = createRandom(5)
    for (const records of [7, 100, 1_000]) {
      const draws = Array.from({ length: 400 }, () => labelSkew(labelCounts(Int32Array.from({ length: records }, () => random.integer(10)), 10)))
      const mean = draws.reduce((sum, skew) => sum + skew, 0) / draws.length
      expect(Math.abs(mean / chanceSkew(records, 10) - 1)).toBeLessThan(0.15)
    }
    expect(chanceSkew(0, 10)).toBe(Infinity)
  })

  it('a simulated swarm of label-skewed nodes sends about 7/3 the bytes of an IID one, with the same manifest', async () => {
    const run = async (partition: string): Promise<SkewResult> => {
      const [result] = await benchmarkSkew({ cases: skewCases({ setups: [{ dataset: 'mnist', model: 'logistic' }], partitions: [partition], algorithms: ['dsgd'] }), nodes: 8, durationMs: 3_000, engine: 'simulate' })
      return result as SkewResult
    }
    const [iid, skewed] = [await run('iid'), await run('shards:2')]
    // Control: both trained about as many steps (virtual time; the rounds under way at the end
    // differ), so bytes per sample compare pushes: 7 peers every 20 steps against 3.
    expect(Math.abs(skewed.samplesPerNode / iid.samplesPerNode - 1)).toBeLessThan(0.1)
    const ratio = (skewed.bytesSentPerNode / skewed.samplesPerNode) / (iid.bytesSentPerNode / iid.samplesPerNode)
    expect(ratio).toBeGreaterThan(1.9)
    expect(ratio).toBeLessThan(2.8)
  }, 300_000)
})
