import { parseCsvText } from '../data/csv-format.js'
import type { Dataset, TrainTestSplit } from '../data/dataset.js'
import { idxDataset, parseIdx, type IdxArray } from '../data/idx-format.js'
import { DEFAULT_DATA_LIMITS, formatBytes } from '../data/limits.js'
import { nodeDataFromDataset, nodeDataFromPart, type NodeData } from '../data/node-data.js'
import { MurmurError } from '../errors.js'
import type { Manifest } from '../learning/manifest.js'
import { BUILTIN_DATA_FILES } from './web-config.js'

/**
 * A browser node's data: the built-in split served next to the page (its part of it, computed as a
 * process node computes `--data NAME:I/N`), or files the user picks (a CSV, or MNIST-style IDX
 * images and labels, optionally gzipped). Files are read in the tab and never uploaded.
 */

async function fetchBytes (url: string): Promise<Uint8Array> {
  const response = await fetch(url)
  if (!response.ok) throw new MurmurError('ERR_DATA_NOT_FOUND', `cannot load ${url}: HTTP ${response.status}`)
  return new Uint8Array(await response.arrayBuffer())
}

/** The built-in train/test split served as IDX files under `base`. */
export async function fetchBuiltinSplit (base: URL, name: string): Promise<TrainTestSplit> {
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    [BUILTIN_DATA_FILES.trainImages, BUILTIN_DATA_FILES.trainLabels, BUILTIN_DATA_FILES.testImages, BUILTIN_DATA_FILES.testLabels]
      .map(async file => parseIdx(await fetchBytes(new URL(file, base).href))))
  return {
    train: idxDataset(name, trainImages as IdxArray, trainLabels as IdxArray, BUILTIN_DATA_FILES.trainImages, BUILTIN_DATA_FILES.trainLabels),
    test: idxDataset(name, testImages as IdxArray, testLabels as IdxArray, BUILTIN_DATA_FILES.testImages, BUILTIN_DATA_FILES.testLabels)
  }
}

/** Part `part` of `parts` of the built-in split, as a process node started with --data NAME:PART/PARTS holds. */
export function builtinPart (split: TrainTestSplit, part: number, parts: number, manifest: Manifest, name: string): NodeData {
  return nodeDataFromPart(split, part, parts, { kind: 'iid' }, { seed: manifest.seed }, name)
}

async function readFile (file: File): Promise<Uint8Array> {
  if (file.size > DEFAULT_DATA_LIMITS.maxFileBytes) {
    throw new MurmurError('ERR_INVALID_DATA', `${file.name} is ${formatBytes(file.size)}, more than the ${formatBytes(DEFAULT_DATA_LIMITS.maxFileBytes)} a node loads from one file`)
  }
  const bytes = new Uint8Array(await file.arrayBuffer())
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes
  // A gzipped IDX file, as MNIST is distributed: inflated here, stopping at the limit (a gzip bomb stops there).
  const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip')).getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > DEFAULT_DATA_LIMITS.maxInflatedBytes) {
      await reader.cancel()
      throw new MurmurError('ERR_INVALID_DATA', `${file.name} inflates to more than ${formatBytes(DEFAULT_DATA_LIMITS.maxInflatedBytes)}`)
    }
    chunks.push(value)
  }
  const out = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

/**
 * The node's data from files the user picked: one CSV file (label column "label", else the last),
 * or two IDX files (images with 3 dimensions, labels with 1). Checked against the manifest's shape.
 */
export async function nodeDataFromFiles (files: readonly File[], manifest: Manifest, seed: number): Promise<NodeData> {
  let dataset: Dataset
  let what: string
  const first = files[0]
  if (files.length === 1 && first !== undefined && /\.csv$/i.test(first.name)) {
    dataset = parseCsvText(new TextDecoder().decode(await readFile(first)), first.name)
    what = first.name
  } else if (files.length === 2) {
    const arrays = await Promise.all(files.map(async file => ({ file, idx: parseIdx(await readFile(file)) })))
    const images = arrays.find(entry => entry.idx.dims.length === 3)
    const labels = arrays.find(entry => entry.idx.dims.length === 1)
    if (images === undefined || labels === undefined) throw new MurmurError('ERR_INVALID_DATA', 'pick two IDX files: images (3 dimensions) and labels (1 dimension)')
    dataset = idxDataset(images.file.name, images.idx, labels.idx, images.file.name, labels.file.name)
    what = images.file.name
  } else {
    throw new MurmurError('ERR_INVALID_DATA', 'pick one CSV file, or two IDX files (images and labels)')
  }
  const expected = manifest.dataset.inputShape.reduce((a, b) => a * b, 1)
  const actual = dataset.inputShape.reduce((a, b) => a * b, 1)
  if (expected !== actual) throw new MurmurError('ERR_INVALID_DATA', `${what} has samples of ${actual} values; this swarm's model takes ${expected} ([${manifest.dataset.inputShape.join(', ')}])`)
  if (dataset.classes > manifest.dataset.classes) throw new MurmurError('ERR_INVALID_DATA', `${what} has ${dataset.classes} classes; this swarm's model has ${manifest.dataset.classes}`)
  const reshaped: Dataset = { ...dataset, inputShape: [...manifest.dataset.inputShape], classes: manifest.dataset.classes }
  return nodeDataFromDataset(reshaped, { seed }, what)
}
