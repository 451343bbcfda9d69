import { describe, expect, it } from 'vitest'
import { benchCommand, skewTable } from '../src/cli/commands/bench.js'
import { benchmarkSkew, DEFAULT_SKEW_ALGORITHMS, skewCases, skewRows, type SkewResult, type SkewRow } from '../src/swarm/skew-bench.js'
import { DEFAULT_TRAINING } from '../src/learning/manifest.js'
import { rejectionOf } from './helpers.js'

describe('murmur bench skew cases', () => {
  it('covers MNIST MLP and Fashion-MNIST MLP and CNN × four partitions × every algorithm by default', () => {
    const cases = skewCases()
    expect(cases).toHaveLength(3 * 4 * DEFAULT_SKEW_ALGORITHMS.length)
    expect(new Set(cases.map(c => `${c.dataset}:${c.model}`))).toEqual(new Set(['mnist:mlp', 'fashion-mnist:mlp', 'fashion-mnist:cnn']))
    expect(new Set(cases.map(c => c.partition))).toEqual(new Set(['iid', 'dirichlet:0.5', 'dirichlet:0.1', 'shards:2']))
    // the manifest's default is always compared, and at least two algorithms built for non-IID data
    expect(DEFAULT_SKEW_ALGORITHMS[0]).toBe(DEFAULT_TRAINING.algorithm)
    expect(DEFAULT_SKEW_ALGORITHMS.filter(name => name.startsWith('fedprox:') || name.startsWith('qgm:'))).toHaveLength(2)
  })

  it('runs a chosen subset, partitions written canonically', () => {
    const cases = skewCases({ setups: [{ dataset: 'mnist', model: 'mlp' }], partitions: ['dirichlet:0.10', 'iid'], algorithms: ['dsgd'] })
    expect(cases).toEqual([
      { dataset: 'mnist', model: 'mlp', partition: 'dirichlet:0.1', algorithm: 'dsgd' },
      { dataset: 'mnist', model: 'mlp', partition: 'iid', algorithm: 'dsgd' }
    ])
  })

  it('prints one row per swarm with both gaps to the centralized model', () => {
    const result: SkewResult = {
      dataset: 'mnist', model: 'mlp', partition: 'dirichlet:0.1', algorithm: 'qgm:0.9', nodes: 8, mergeRule: 'mean', durationSeconds: 120,
      meanAccuracy: 0.9, minAccuracy: 0.85, centralizedAccuracy: 0.95, bytesSentPerNode: 12_345_678, samplesPerNode: 60_000, engine: 'simulate', repeat: 0, seed: 42
    }
    const table = skewTable([result])
    expect(table).toContain('qgm:0.9')
    expect(table).toContain('-5.0')
    expect(table).toContain('-10.0')
    expect(table).toContain('12.3')
  })

  it('gives the medians of a case\'s runs, each run\'s own gap counted, and the range of the mean\'s gap', () => {
    const run = (repeat: number, mean: number, central: number, algorithm = 'qgm:0.9'): SkewResult => ({
      dataset: 'fashion-mnist', model: 'cnn', partition: 'shards:2', algorithm, nodes: 8, mergeRule: 'clipped-gossip:0.25', durationSeconds: 120,
      meanAccuracy: mean, minAccuracy: mean - 0.01, centralizedAccuracy: central, bytesSentPerNode: 4e6, samplesPerNode: 60_000 + repeat, engine: 'swarm', repeat, seed: 42 + repeat
    })
    // Gaps −0.04, −0.05 (a lucky centralized model) and −0.01: their median is −0.04, where the
    // medians' difference would be 0.81 − 0.84 = −0.03.
    const rows = skewRows([run(0, 0.80, 0.84), run(1, 0.81, 0.86), run(2, 0.82, 0.83), run(0, 0.79, 0.84, 'dsgd')])
    expect(rows).toHaveLength(2)
    const [qgm, dsgd] = rows as [SkewRow, SkewRow]
    expect(qgm.runs).toBe(3)
    expect(qgm.meanAccuracy).toBeCloseTo(0.81, 9)
    expect(qgm.centralizedAccuracy).toBeCloseTo(0.84, 9)
    expect(qgm.meanGap).toBeCloseTo(-0.04, 9)
    expect(qgm.meanGapRange[0]).toBeCloseTo(-0.05, 9)
    expect(qgm.meanGapRange[1]).toBeCloseTo(-0.01, 9)
    expect(qgm.samplesPerNode).toBe(60_001)
    expect(dsgd.runs).toBe(1)
    const table = skewTable([run(0, 0.80, 0.84), run(1, 0.81, 0.86), run(2, 0.82, 0.83)])
    expect(table).toContain('-4.0 (-5.0 to -1.0)')
  })
})

describe('murmur bench skew --engine simulate', () => {
  it('runs a case in the simulator, in virtual time, and scores it against its centralized model', async () => {
    const progress: string[] = []
    const [result] = await benchmarkSkew({
      cases: skewCases({ setups: [{ dataset: 'mnist', model: 'logistic' }], partitions: ['shards:2'], algorithms: ['qgm:0.9'] }),
      nodes: 4,
      durationMs: 6_000,
      engine: 'simulate',
      onProgress: line => { progress.push(line) }
    })
    expect(progress[0]).toContain('(simulate)')
    expect(result?.engine).toBe('simulate')
    // 6 virtual seconds at the logistic model's 15 ms a step: 400 steps of 32 samples (and the round
    // of 20 under way at the end), whatever the machine's load
    expect(result?.samplesPerNode).toBeGreaterThanOrEqual(400 * 32)
    expect(result?.samplesPerNode).toBeLessThanOrEqual(420 * 32)
    expect(result?.durationSeconds).toBe(6)
    expect(result?.mergeRule).toBe('clipped-gossip:0.25')
    // nodes that hold two classes each learn the others' from their peers: far above one shard's 2 of 10 classes
    expect(result?.meanAccuracy).toBeGreaterThan((result?.centralizedAccuracy ?? 1) - 0.2)
    expect(result?.bytesSentPerNode).toBeGreaterThan(0)
  }, 300_000)

  it('runs each case as often as asked, each run with its own seed', async () => {
    const results = await benchmarkSkew({ cases: skewCases({ setups: [{ dataset: 'mnist', model: 'logistic' }], partitions: ['shards:2'], algorithms: ['dsgd'] }), nodes: 4, durationMs: 1_000, engine: 'simulate', seed: 7, repeats: 2 })
    expect(results.map(result => [result.repeat, result.seed])).toEqual([[0, 7], [1, 8]])
    // Another seed splits the data and starts the weights otherwise: the runs differ (the simulator is deterministic per seed).
    expect(results[0]?.meanAccuracy).not.toBe(results[1]?.meanAccuracy)
    expect(skewRows(results)[0]?.runs).toBe(2)
    await expect(benchmarkSkew({ cases: [], durationMs: 1_000, repeats: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
  }, 300_000)

  it('passes the fanout on: pushing to three peers sends about three times the bytes of one', async () => {
    const run = async (fanout: number): Promise<SkewResult> => {
      const [result] = await benchmarkSkew({ cases: skewCases({ setups: [{ dataset: 'mnist', model: 'logistic' }], partitions: ['iid'], algorithms: ['dsgd'] }), nodes: 4, durationMs: 3_000, engine: 'simulate', fanout })
      return result as SkewResult
    }
    const [one, three] = [await run(1), await run(3)]
    expect(three.bytesSentPerNode / one.bytesSentPerNode).toBeGreaterThan(2.5)
  }, 300_000)

  it('refuses the cnn, which the simulator does not train, before running anything', async () => {
    const progress: string[] = []
    const error = await rejectionOf(async () => await benchmarkSkew({
      cases: skewCases({ setups: [{ dataset: 'mnist', model: 'mlp' }, { dataset: 'fashion-mnist', model: 'cnn' }], partitions: ['iid'], algorithms: ['dsgd'] }),
      durationMs: 1_000,
      engine: 'simulate',
      onProgress: line => { progress.push(line) }
    }))
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    expect(String(error)).toContain('cnn')
    expect(progress).toEqual([])
  })
})

describe('murmur bench skew flags', () => {
  async function parseError (...args: string[]): Promise<string> {
    const command = benchCommand()
    const skew = command.commands.find(sub => sub.name() === 'skew')
    let output = ''
    for (const target of [command, skew]) target?.exitOverride().configureOutput({ writeErr: text => { output += text }, writeOut: () => undefined })
    await rejectionOf(async () => await command.parseAsync(['skew', ...args], { from: 'user' }))
    return output
  }

  it.each([
    [['--setups', 'cifar:mlp'], '--setups'],
    [['--setups', 'mnist:transformer'], '--setups'],
    [['--partitions', 'dirichlet:0'], '--partitions'],
    [['--algorithms', 'dsgd,adamw'], '--algorithms'],
    [['--algorithms', 'qgm:1'], '--algorithms'],
    [['--nodes', '1'], '--nodes'],
    [['--duration', 'soon'], '--duration'],
    [['--engine', 'cluster'], '--engine'],
    [['--fanout', '0'], '--fanout']
  ])('rejects %j naming %s', async (args, flag) => {
    expect(await parseError(...args)).toContain(flag)
  })
})
