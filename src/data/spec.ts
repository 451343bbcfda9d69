import { MurmurError, isMurmurError } from '../errors.js'
import { BUILTIN_DATASETS, type BuiltinDataset } from './builtin-datasets.js'
import type { TrainTestSplit } from './dataset.js'
import { loadCsv } from './csv.js'
import { loadFashionMnist, loadIdxDirectory, releaseFashionMnist } from './idx.js'
import { loadMnist, releaseMnist } from './mnist.js'
import { loadFullMnist, loadFullMnistPart, releaseFullMnist } from './mnist-full.js'
import { checkHoldoutFraction, nodeDataFromDataset, nodeDataFromPart, type LoadNodeDataOptions, type NodeData } from './node-data.js'
import { type Partition, formatPartition, parsePartition } from './partition.js'

export { holdOutRows, holdoutSeed, nodeDataFromArrays, type LoadNodeDataOptions, type NodeData, type RecordArrays } from './node-data.js'

export { BUILTIN_DATASETS, isBuiltinDataset, type BuiltinDataset } from './builtin-datasets.js'

/** What a node trains on, as given by `--data SPEC`. */
export type DataSpec =
  | { kind: 'builtin'; dataset: BuiltinDataset; /** 1-based */ part: number; parts: number; partition: Partition }
  | { kind: 'idx'; directory: string }
  | { kind: 'csv'; file: string; labelColumn?: string }

const ACCEPTED_FORMS = [
  'mnist:I/N[:PARTITION], mnist-full:I/N[:PARTITION] or fashion-mnist:I/N[:PARTITION] (part I of N, 1 ≤ I ≤ N; PARTITION is iid (default), dirichlet:ALPHA or shards:K; e.g. mnist:3/8:dirichlet:0.5; mnist has 8,000 train digits, mnist-full the standard 60,000)',
  'mnist, mnist-full or fashion-mnist (the whole train split, same as mnist:1/1)',
  'idx:DIRECTORY (MNIST-style IDX files)',
  'csv:FILE[:LABEL_COLUMN] (LABEL_COLUMN a header name or 0-based index; e.g. csv:data/x.csv:label)'
].join('; ')

function invalid (text: string, reason: string): MurmurError {
  return new MurmurError('ERR_INVALID_DATA_SPEC', `invalid data spec "${text}": ${reason}. Accepted forms: ${ACCEPTED_FORMS}`)
}

function parseBuiltin (text: string, dataset: BuiltinDataset, rest: string | undefined): DataSpec {
  if (rest === undefined) return { kind: 'builtin', dataset, part: 1, parts: 1, partition: { kind: 'iid' } }
  const match = /^(\d+)\/(\d+)(?::(.*))?$/.exec(rest)
  if (match === null) throw invalid(text, `after "${dataset}:" comes the part as I/N, e.g. ${dataset}:1/4`)
  const part = Number(match[1])
  const parts = Number(match[2])
  if (!Number.isSafeInteger(parts) || parts < 1) throw invalid(text, `the number of parts N must be at least 1, got ${match[2]}`)
  if (!Number.isSafeInteger(part) || part < 1 || part > parts) throw invalid(text, `the part I must be between 1 and ${parts}, got ${match[1]}`)
  let partition: Partition = { kind: 'iid' }
  if (match[3] !== undefined) {
    try {
      partition = parsePartition(match[3])
    } catch (error) {
      if (isMurmurError(error)) throw invalid(text, error.message)
      throw error
    }
  }
  return { kind: 'builtin', dataset, part, parts, partition }
}

// The file is split from a label column at the last colon, unless what follows looks like a path
// (has a slash), so that csv:data/x.csv, csv:data/x.csv:label and csv:data/x.csv:3 all work.
function parseCsv (text: string, rest: string): DataSpec {
  const colon = rest.lastIndexOf(':')
  const tail = rest.slice(colon + 1)
  if (colon > 0 && !/[/\\]/.test(tail)) {
    if (tail.trim() === '') throw invalid(text, 'the label column after the last colon is empty')
    return { kind: 'csv', file: rest.slice(0, colon), labelColumn: tail }
  }
  if (rest === '') throw invalid(text, 'csv: needs a file path')
  return { kind: 'csv', file: rest }
}

export function parseDataSpec (text: string): DataSpec {
  const trimmed = text.trim()
  const colon = trimmed.indexOf(':')
  const prefix = colon < 0 ? trimmed : trimmed.slice(0, colon)
  const rest = colon < 0 ? undefined : trimmed.slice(colon + 1)
  const builtin = BUILTIN_DATASETS.find((name) => name === prefix)
  if (builtin !== undefined) return parseBuiltin(text, builtin, rest)
  if (prefix === 'idx') {
    if (rest === undefined || rest === '') throw invalid(text, 'idx: needs a directory')
    return { kind: 'idx', directory: rest }
  }
  if (prefix === 'csv') {
    if (rest === undefined) throw invalid(text, 'csv: needs a file path')
    return parseCsv(text, rest)
  }
  throw invalid(text, trimmed === '' ? 'it is empty' : `unknown data source "${prefix}"`)
}

/** The text parseDataSpec reads back as the same spec. */
export function formatDataSpec (spec: DataSpec): string {
  switch (spec.kind) {
    case 'builtin': {
      const partition = spec.partition.kind === 'iid' ? '' : `:${formatPartition(spec.partition)}`
      return `${spec.dataset}:${spec.part}/${spec.parts}${partition}`
    }
    case 'idx': return `idx:${spec.directory}`
    case 'csv': return spec.labelColumn === undefined ? `csv:${spec.file}` : `csv:${spec.file}:${spec.labelColumn}`
  }
}

/**
 * Forgets the built-in datasets this process has cached. A node's training worker calls it once it
 * holds its own part: each node process would otherwise keep a whole copy it no longer needs.
 */
export function releaseBuiltinDatasets (): void {
  releaseMnist()
  releaseFullMnist()
  releaseFashionMnist()
}

export async function loadTrainTestSplit (dataset: BuiltinDataset): Promise<TrainTestSplit> {
  switch (dataset) {
    case 'mnist': return await loadMnist()
    case 'mnist-full': return await loadFullMnist()
    case 'fashion-mnist': return await loadFashionMnist()
  }
}

/**
 * Loads what a node started with `--data SPEC` trains on. For builtin datasets every node computes
 * the same partition of the train split from the shared seed and keeps part I, so no coordination
 * is needed for the parts to be disjoint.
 */
export async function loadNodeData (spec: DataSpec, options: LoadNodeDataOptions): Promise<NodeData> {
  checkHoldoutFraction(options.holdoutFraction ?? 0.1)
  switch (spec.kind) {
    case 'builtin':
      // The standard split's node reads only its own images (60,000 as floats would be 188 MB a node).
      if (spec.dataset === 'mnist-full') return await loadFullMnistPart(spec.part, spec.parts, spec.partition, options)
      return nodeDataFromPart(await loadTrainTestSplit(spec.dataset), spec.part, spec.parts, spec.partition, options, spec.dataset)
    case 'idx': {
      const { train, test } = await loadIdxDirectory(spec.directory, `idx:${spec.directory}`)
      return nodeDataFromDataset(train, options, `the train split in ${spec.directory}`, test)
    }
    case 'csv':
      return nodeDataFromDataset(await loadCsv(spec.file, spec.labelColumn), options, spec.file)
  }
}
