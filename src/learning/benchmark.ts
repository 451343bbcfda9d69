import { performance } from 'node:perf_hooks'
import { loadMnist } from '../data/mnist.js'
import type { Dataset } from '../data/dataset.js'
import { MurmurError } from '../errors.js'
import { BACKEND_NAMES, selectBackend, type BackendName } from './backend.js'
import { LocalTrainer } from './local-trainer.js'
import { createManifest } from './manifest.js'
import { isModelName, MODEL_NAMES } from './models.js'

export { isMeasurement, TRAIN_BENCH_DEFAULTS, type TrainBenchFailure, type TrainBenchMeasurement, type TrainBenchOptions, type TrainBenchResult, type TrainBenchSubject } from './benchmark-results.js'
import { TRAIN_BENCH_DEFAULTS, type TrainBenchMeasurement, type TrainBenchOptions, type TrainBenchResult, type TrainBenchSubject } from './benchmark-results.js'
import { median } from '../statistics.js'

function requirePositiveInteger (name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new MurmurError('ERR_INVALID_ARGUMENT', `${name} must be a positive integer, got ${value}`)
  return value
}

/** The backends TF.js can initialise in this process, in the order murmur prefers them. */
export async function loadableBackends (): Promise<BackendName[]> {
  const loadable: BackendName[] = []
  for (const backend of BACKEND_NAMES) {
    try {
      await selectBackend({ preference: backend })
      loadable.push(backend)
    } catch {
      // not installed or not supported here: it is simply not benchmarked
    }
  }
  return loadable
}

async function timeSteps (trainer: LocalTrainer, steps: number): Promise<number> {
  const start = performance.now()
  await trainer.train(steps)
  return (performance.now() - start) / 1000
}

/** A runaway warm-up (a huge warmupSeconds on a fast model) stops here. */
const MOST_WARMUP_STEPS = 10_000

interface Settings {
  readonly batchSize: number
  readonly repetitions: number
  readonly warmupSteps: number
  readonly warmupSeconds: number
  readonly stepsPerRepetition: number
  readonly secondsPerRepetition: number
}

async function measure (subject: TrainBenchSubject, train: Dataset, settings: Settings): Promise<TrainBenchMeasurement> {
  const manifest = createManifest({
    model: subject.model,
    dataset: { name: train.name, inputShape: train.inputShape, classes: train.classes },
    training: { batchSize: settings.batchSize }
  })
  const trainer = await LocalTrainer.create(manifest, { train }, {
    backend: subject.backend,
    ...(subject.dpSgd === true ? { recordPrivacy: { level: 'record', clip: 1, noiseMultiplier: 1, delta: 1e-5 } } : {})
  })
  try {
    const warmup: number[] = []
    const started = performance.now()
    while (warmup.length < settings.warmupSteps ||
      ((performance.now() - started) / 1000 < settings.warmupSeconds && warmup.length < MOST_WARMUP_STEPS)) {
      warmup.push(await timeSteps(trainer, 1))
    }
    // The first step pays one-off costs; the others estimate the steady speed.
    const secondsPerStep = median(warmup.length > 1 ? warmup.slice(1) : warmup)
    const affordable = Math.floor(settings.secondsPerRepetition / Math.max(secondsPerStep, 1e-6))
    const steps = Math.max(1, Math.min(settings.stepsPerRepetition, affordable))
    const rates: number[] = []
    for (let repetition = 0; repetition < settings.repetitions; repetition++) {
      rates.push(steps * settings.batchSize / await timeSteps(trainer, steps))
    }
    return {
      ...subject,
      samplesPerSecond: median(rates),
      minSamplesPerSecond: Math.min(...rates),
      maxSamplesPerSecond: Math.max(...rates),
      repetitions: settings.repetitions,
      samplesPerRepetition: steps * settings.batchSize
    }
  } finally {
    await trainer.close()
  }
}

/**
 * Training speed of each model on each backend, on the built-in MNIST training split: samples per
 * second, the median of several timed repetitions after a warm-up. A model that a backend cannot
 * train (or a backend that cannot load) gives a result with an `error` instead.
 */
export async function benchmarkTraining (options: TrainBenchOptions): Promise<TrainBenchResult[]> {
  const settings: Settings = {
    batchSize: requirePositiveInteger('batchSize', options.batchSize ?? TRAIN_BENCH_DEFAULTS.batchSize),
    repetitions: requirePositiveInteger('repetitions', options.repetitions ?? TRAIN_BENCH_DEFAULTS.repetitions),
    warmupSteps: requirePositiveInteger('warmupSteps', options.warmupSteps ?? TRAIN_BENCH_DEFAULTS.warmupSteps),
    stepsPerRepetition: requirePositiveInteger('stepsPerRepetition', options.stepsPerRepetition ?? TRAIN_BENCH_DEFAULTS.stepsPerRepetition),
    secondsPerRepetition: options.secondsPerRepetition ?? TRAIN_BENCH_DEFAULTS.secondsPerRepetition,
    warmupSeconds: options.warmupSeconds ?? TRAIN_BENCH_DEFAULTS.warmupSeconds
  }
  if (!(settings.warmupSeconds >= 0)) throw new MurmurError('ERR_INVALID_ARGUMENT', `warmupSeconds must be zero or more, got ${settings.warmupSeconds}`)
  if (!(settings.secondsPerRepetition > 0)) throw new MurmurError('ERR_INVALID_ARGUMENT', `secondsPerRepetition must be above zero, got ${settings.secondsPerRepetition}`)
  if (options.models.length === 0) throw new MurmurError('ERR_INVALID_ARGUMENT', 'name at least one model to benchmark')
  const unknown = options.models.find(model => !isModelName(model))
  if (unknown !== undefined) throw new MurmurError('ERR_UNKNOWN_MODEL', `unknown model "${unknown}": choose from ${MODEL_NAMES.join(', ')}`)
  const backends = options.backends ?? await loadableBackends()
  const { train } = await loadMnist()
  const results: TrainBenchResult[] = []
  for (const model of options.models) {
    for (const backend of backends) {
      const plain = { model, backend, batchSize: settings.batchSize }
      for (const subject of options.dpSgd === true ? [plain, { ...plain, dpSgd: true }] : [plain]) {
        let result: TrainBenchResult
        try {
          result = await measure(subject, train, settings)
        } catch (error) {
          result = { ...subject, samplesPerSecond: 0, error: error instanceof Error ? error.message : String(error) }
        }
        results.push(result)
        options.onResult?.(result)
      }
    }
  }
  return results
}
