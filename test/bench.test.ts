import { describe, expect, it } from 'vitest'
import { benchCommand, benchTable } from '../src/cli/commands/bench.js'
import { isMurmurError } from '../src/errors.js'
import { benchmarkTraining, isMeasurement, type TrainBenchResult } from '../src/learning/benchmark.js'
import { rejectionOf, schemaErrors } from './helpers.js'

describe('benchmarkTraining', () => {
  it('measures each model on each backend, one schema-valid line each', async () => {
    const streamed: TrainBenchResult[] = []
    const results = await benchmarkTraining({
      models: ['mlp'],
      backends: ['cpu', 'wasm'],
      batchSize: 16,
      repetitions: 2,
      warmupSteps: 1,
      warmupSeconds: 0,
      stepsPerRepetition: 3,
      onResult: result => streamed.push(result)
    })
    expect(results.map(result => `${result.model}/${result.backend}`)).toEqual(['mlp/cpu', 'mlp/wasm'])
    expect(streamed).toEqual(results)
    for (const result of results) {
      const line: unknown = JSON.parse(JSON.stringify(result))
      expect(schemaErrors('train-bench', line)).toEqual([])
      if (!isMeasurement(result)) throw new Error(`${result.backend} failed: ${result.error}`)
      expect(result.batchSize).toBe(16)
      expect(result.samplesPerSecond).toBeGreaterThan(0)
      expect(result.minSamplesPerSecond).toBeLessThanOrEqual(result.samplesPerSecond)
      expect(result.maxSamplesPerSecond).toBeGreaterThanOrEqual(result.samplesPerSecond)
      expect(result.repetitions).toBe(2)
      expect(result.samplesPerRepetition % 16).toBe(0)
    }
    const table = benchTable(results)
    expect(table).toContain('wasm')
    expect(table).toMatch(/\d+\.\d×/)
  })

  it('reports a backend that cannot load as an error line, not an exception', async () => {
    const [result] = await benchmarkTraining({ models: ['logistic'], backends: ['tensorflow'], repetitions: 1, warmupSteps: 1, warmupSeconds: 0, stepsPerRepetition: 1 })
    if (result === undefined) throw new Error('expected one result')
    // The native backend is an optional package; where it is installed it simply gets measured.
    if (isMeasurement(result)) return
    expect(result).toEqual({ model: 'logistic', backend: 'tensorflow', batchSize: 32, samplesPerSecond: 0, error: expect.stringMatching(/tensorflow/) as unknown })
    expect(schemaErrors('train-bench', JSON.parse(JSON.stringify(result)))).toEqual([])
  })

  it('refuses unknown models and bad settings', async () => {
    expect(isMurmurError(await rejectionOf(async () => await benchmarkTraining({ models: ['transformer'], backends: ['cpu'] })), 'ERR_UNKNOWN_MODEL')).toBe(true)
    expect(isMurmurError(await rejectionOf(async () => await benchmarkTraining({ models: ['mlp'], backends: ['cpu'], repetitions: 0 })), 'ERR_INVALID_ARGUMENT')).toBe(true)
  })
})

describe('murmur bench train flags', () => {
  async function parseError (...args: string[]): Promise<string> {
    const command = benchCommand()
    const train = command.commands.find(sub => sub.name() === 'train')
    let output = ''
    for (const target of [command, train]) target?.exitOverride().configureOutput({ writeErr: text => { output += text }, writeOut: () => undefined })
    await rejectionOf(async () => await command.parseAsync(['train', ...args], { from: 'user' }))
    return output
  }

  it.each([
    [['--models', 'mlp,transformer'], '--models'],
    [['--backends', 'gpu'], '--backends'],
    [['--repetitions', '0'], '--repetitions'],
    [['--steps', 'many'], '--steps'],
    [['--frobnicate'], '--frobnicate']
  ])('rejects %j naming %s', async (args, flag) => {
    expect(await parseError(...args)).toContain(flag)
  })
})
