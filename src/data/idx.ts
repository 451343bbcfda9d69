import { open, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { createGunzip } from 'node:zlib'
import { MurmurError, isMurmurError } from '../errors.js'
import type { TrainTestSplit } from './dataset.js'
import { idxDataset as toDataset, parseIdx, type IdxArray } from './idx-format.js'

export { parseIdx, type IdxArray } from './idx-format.js'
import { DEFAULT_DATA_LIMITS, formatBytes, type DataLimits } from './limits.js'

/** gzip's magic bytes: IDX files may be compressed, as they are distributed */
const GZIP_MAGIC = [0x1f, 0x8b] as const

function isGzip (bytes: Uint8Array): boolean {
  return bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1]
}

/** Bytes an IDX file holds in all, from its header; null while the header is incomplete. */
function declaredSize (head: Uint8Array): number | null {
  if (head.length < 4) return null
  const rank = head[3] as number
  const headerLength = 4 + 4 * rank
  if (head.length < headerLength) return null
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength)
  let values = 1
  for (let axis = 0; axis < rank; axis++) values *= view.getUint32(4 + 4 * axis, false)
  return headerLength + values
}

/**
 * Inflates gzip data, refusing to produce more than the limit, and no more than the IDX header at
 * the start of the output declares (plus one byte, so that parseIdx can name the mismatch): a small
 * file that inflates to gigabytes stops at the limit instead of filling the memory.
 */
async function gunzipBounded (raw: Uint8Array, file: string, maxBytes: number): Promise<Uint8Array> {
  const gunzip = createGunzip()
  const chunks: Buffer[] = []
  let total = 0
  let allowed = maxBytes
  const refuse = (message: string): MurmurError => new MurmurError('ERR_INVALID_DATA', `${file}: ${message}`)
  const done = new Promise<void>((resolve, reject) => {
    gunzip.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      total += chunk.byteLength
      if (allowed === maxBytes) {
        const declared = declaredSize(Buffer.concat(chunks, Math.min(total, 4 + 4 * 255)))
        if (declared !== null) {
          if (declared > maxBytes) {
            gunzip.destroy()
            reject(refuse(`its header declares ${formatBytes(declared)} of data, more than the ${formatBytes(maxBytes)} a node loads from one file`))
            return
          }
          allowed = declared + 1
        }
      }
      if (total > allowed) {
        gunzip.destroy()
        reject(refuse(allowed === maxBytes
          ? `it inflates to more than ${formatBytes(maxBytes)}, more than a node loads from one file (a gzip bomb?)`
          : `it inflates to more data than its header declares (${formatBytes(allowed - 1)})`))
      }
    })
    gunzip.on('error', error => { reject(refuse(`gzip data is corrupt (${error.message}); download the file again`)) })
    gunzip.on('end', () => { resolve() })
  })
  gunzip.end(raw)
  await done
  return new Uint8Array(Buffer.concat(chunks, total))
}

/** Reads a whole file, refusing one larger than the limit before reading it. */
async function readBounded (file: string, maxBytes: number): Promise<Uint8Array> {
  const handle = await open(file, 'r')
  try {
    const { size } = await handle.stat()
    if (size > maxBytes) throw new MurmurError('ERR_INVALID_DATA', `${file} is ${formatBytes(size)}, more than the ${formatBytes(maxBytes)} a node loads from one file; split the data and give each node a part`)
    return new Uint8Array(await handle.readFile())
  } finally {
    await handle.close()
  }
}

/** One IDX file, gzipped or not, within the limits. */
export async function readIdxFile (file: string, limits: DataLimits = DEFAULT_DATA_LIMITS): Promise<IdxArray> {
  const raw = await readBounded(file, limits.maxFileBytes)
  // Sniff the gzip magic rather than trusting the '.gz' suffix: decompressed copies often keep the name.
  const bytes = isGzip(raw) ? await gunzipBounded(raw, file, limits.maxInflatedBytes) : raw
  try {
    return parseIdx(bytes)
  } catch (error) {
    if (isMurmurError(error)) throw new MurmurError(error.code, `${file}: ${error.message}`, { cause: error })
    throw error
  }
}

type Split = 'train' | 't10k'
type Kind = 'images' | 'labels'

/** Accepted names: train-images-idx3-ubyte, train-images.idx3-ubyte, each optionally with .gz. */
function candidateNames (split: Split, kind: Kind): string[] {
  const suffix = kind === 'images' ? 'idx3-ubyte' : 'idx1-ubyte'
  return [`${split}-${kind}-${suffix}`, `${split}-${kind}.${suffix}`].flatMap((name) => [name, `${name}.gz`])
}

function expectedFiles (): string {
  return (['train', 't10k'] as const).flatMap((split) => (['images', 'labels'] as const).map((kind) => candidateNames(split, kind)[0] as string)).join(', ')
}

/**
 * Loads a directory holding the four MNIST-style IDX files (train and t10k images and labels).
 * Pixels are scaled to [0, 1]; classes is the largest label + 1 (at least 2).
 */
export async function loadIdxDirectory (dir: string, name = 'idx', limits: DataLimits = DEFAULT_DATA_LIMITS): Promise<TrainTestSplit> {
  let entries: Set<string>
  try {
    entries = new Set(await readdir(dir))
  } catch (error) {
    throw new MurmurError('ERR_DATA_NOT_FOUND', `IDX data directory ${dir} cannot be read; it should hold ${expectedFiles()} (each optionally gzipped as .gz)`, { cause: error })
  }
  const find = (split: Split, kind: Kind): string => {
    const found = candidateNames(split, kind).find((candidate) => entries.has(candidate))
    if (found === undefined) {
      throw new MurmurError('ERR_DATA_NOT_FOUND', `IDX data directory ${dir} has no ${split} ${kind} file (looked for ${candidateNames(split, kind).join(', ')}); it should hold ${expectedFiles()} (each optionally gzipped as .gz)`)
    }
    return join(dir, found)
  }
  const files = { trainImages: find('train', 'images'), trainLabels: find('train', 'labels'), testImages: find('t10k', 'images'), testLabels: find('t10k', 'labels') }
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([files.trainImages, files.trainLabels, files.testImages, files.testLabels].map(async file => readIdxFile(file, limits))) as [IdxArray, IdxArray, IdxArray, IdxArray]
  const train = toDataset(name, trainImages, trainLabels, files.trainImages, files.trainLabels)
  const test = toDataset(name, testImages, testLabels, files.testImages, files.testLabels)
  if (train.inputShape.join('×') !== test.inputShape.join('×')) {
    throw new MurmurError('ERR_INVALID_DATA', `${dir}: train images are ${train.inputShape.slice(0, 2).join('×')} but test images are ${test.inputShape.slice(0, 2).join('×')}; both splits must have the same image size`)
  }
  // Both splits share one class count, so a model sized from the train split can score the test split.
  const classes = Math.max(train.classes, test.classes)
  return { train: { ...train, classes }, test: { ...test, classes } }
}

export const FASHION_MNIST_DIRECTORY_DEFAULT = '/usr/share/datasets/fashion-mnist'

const fashionCache = new Map<string, Promise<TrainTestSplit>>()

/** Drops the cached Fashion-MNIST splits, for a process that has taken what it needs. */
export function releaseFashionMnist (): void {
  fashionCache.clear()
}

/**
 * Fashion-MNIST (60,000 train / 10,000 test images of clothing, 10 classes) from the Debian package
 * dataset-fashion-mnist or any directory of its IDX files. Cached per directory, because a swarm
 * in one process would otherwise decode the same ~200 MB once per node.
 */
export async function loadFashionMnist (directory = process.env.MURMUR_FASHION_MNIST_DIR ?? FASHION_MNIST_DIRECTORY_DEFAULT): Promise<TrainTestSplit> {
  let loading = fashionCache.get(directory)
  if (loading === undefined) {
    loading = loadIdxDirectory(directory, 'fashion-mnist').catch((error: unknown) => {
      fashionCache.delete(directory)
      if (isMurmurError(error, 'ERR_DATA_NOT_FOUND')) {
        throw new MurmurError('ERR_DATA_NOT_FOUND', `Fashion-MNIST not found in ${directory}: install it with \`apt-get install dataset-fashion-mnist\` (which fills ${FASHION_MNIST_DIRECTORY_DEFAULT}) or set MURMUR_FASHION_MNIST_DIR to a directory holding its IDX files. (${error.message})`, { cause: error })
      }
      throw error
    })
    fashionCache.set(directory, loading)
  }
  return await loading
}
