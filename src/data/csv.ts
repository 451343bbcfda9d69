import { open } from 'node:fs/promises'
import { MurmurError } from '../errors.js'
import type { Dataset } from './dataset.js'
import { parseCsvText } from './csv-format.js'
import { DEFAULT_DATA_LIMITS, formatBytes, type DataLimits } from './limits.js'

async function readText (file: string, maxBytes: number): Promise<string> {
  let handle
  try {
    handle = await open(file, 'r')
  } catch (error) {
    throw new MurmurError('ERR_DATA_NOT_FOUND', `cannot read CSV file ${file}: ${error instanceof Error ? error.message : String(error)}; check the path given after csv:`, { cause: error })
  }
  try {
    const { size } = await handle.stat()
    if (size > maxBytes) {
      throw new MurmurError('ERR_INVALID_DATA', `CSV file ${file} is ${formatBytes(size)}, more than the ${formatBytes(maxBytes)} a node loads; split it and give each node a part`)
    }
    return await handle.readFile('utf8')
  } finally {
    await handle.close()
  }
}

/**
 * Loads a numeric CSV as a classification dataset. The first row is a header when it is not all
 * numbers. The label column is `labelColumn` (a header name or a 0-based index), else a column
 * named "label", else the last column; every other column is a feature, used as-is (no scaling).
 * Labels must be non-negative integers; classes is the largest label + 1 (at least 2).
 * There is no test split: the caller holds out part of the rows. Refused: files over
 * limits.maxFileBytes, values beyond the 32-bit float range, and a first row of column numbers
 * (looksLikeNumberedHeader).
 */
export async function loadCsv (file: string, labelColumn?: string, limits: DataLimits = DEFAULT_DATA_LIMITS): Promise<Dataset> {
  return parseCsvText(await readText(file, limits.maxFileBytes), file, labelColumn)
}
