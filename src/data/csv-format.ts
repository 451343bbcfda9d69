import { MurmurError } from '../errors.js'
import { type Dataset, createDataset } from './dataset.js'

/** A plain decimal number; stricter than Number(), which also takes '', '0x1f' and 'Infinity'. */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

interface Row {
  /** 1-based line in the file, for error messages. */
  line: number
  cells: string[]
}

// Comma-separated cells; surrounding quotes are dropped. Quoted commas are not supported: a
// numeric CSV has none, and a header name with a comma would be unusable as --data label column anyway.
function splitRow (text: string): string[] {
  return text.split(',').map((cell) => {
    const trimmed = cell.trim()
    return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1).trim() : trimmed
  })
}

function isNumber (cell: string): boolean {
  return NUMBER.test(cell)
}

/** Features are 32-bit floats: anything larger in magnitude would become ±Infinity. */
const FLOAT32_MAX = 3.4028234663852886e38

/**
 * A first row of numbers that are the column numbers (0, 1, 2, … or 1, 2, 3, …), whose label appears
 * in no other row, is a header someone numbered, not a sample: read as data it would add a class
 * (e.g. 784 of 785 columns) and a sample of nonsense.
 */
function looksLikeNumberedHeader (cells: string[], labelIndex: number, others: readonly Row[]): boolean {
  if (cells.length < 3) return false
  const values = cells.map(Number)
  const start = values[0]
  if ((start !== 0 && start !== 1) || !values.every((value, index) => value === (start as number) + index)) return false
  const label = cells[labelIndex]
  return !others.some(row => row.cells[labelIndex] !== undefined && Number(row.cells[labelIndex]) === Number(label))
}

/** Reads a whole text file, refusing one larger than the limit before reading it. */

function describeColumn (index: number, header: string[] | undefined): string {
  const name = header?.[index]
  return name === undefined || name === '' ? `column ${index + 1}` : `column ${index + 1} ("${name}")`
}

function findLabelColumn (file: string, labelColumn: string | undefined, header: string[] | undefined, width: number): number {
  if (labelColumn === undefined) {
    const named = header?.findIndex((name) => name.toLowerCase() === 'label') ?? -1
    return named >= 0 ? named : width - 1
  }
  if (/^\d+$/.test(labelColumn)) {
    const index = Number(labelColumn)
    if (index >= width) {
      throw new MurmurError('ERR_INVALID_DATA', `${file}: label column index ${index} is out of range; the file has ${width} columns, so use a 0-based index from 0 to ${width - 1}`)
    }
    return index
  }
  if (header === undefined) {
    throw new MurmurError('ERR_INVALID_DATA', `${file}: label column "${labelColumn}" cannot be found because the file has no header row; give the label column as a 0-based index (0 to ${width - 1}) instead`)
  }
  const index = header.indexOf(labelColumn)
  if (index < 0) {
    throw new MurmurError('ERR_INVALID_DATA', `${file}: no column named "${labelColumn}"; the header has ${header.map((name) => `"${name}"`).join(', ')} (or give a 0-based column index)`)
  }
  return index
}

/**
 * Loads a numeric CSV as a classification dataset. The first row is a header when it is not all
 * numbers. The label column is `labelColumn` (a header name or a 0-based index), else a column
 * named "label", else the last column; every other column is a feature, used as-is (no scaling).
 * Labels must be non-negative integers; classes is the largest label + 1 (at least 2).
 * There is no test split: the caller holds out part of the rows. Refused: values beyond the 32-bit float range, and a first row of column numbers
 * (looksLikeNumberedHeader).
 */
export function parseCsvText (text: string, file: string, labelColumn?: string): Dataset {
  const rows: Row[] = text.replace(/^\uFEFF/, '').split(/\r?\n/)
    .map((content, index) => ({ line: index + 1, content }))
    .filter(({ content }) => content.trim() !== '')
    .map(({ line, content }) => ({ line, cells: splitRow(content) }))
  const first = rows[0]
  if (first === undefined) throw new MurmurError('ERR_INVALID_DATA', `CSV file ${file} is empty; it needs rows of numbers, one sample per line, with a label column`)
  const header = first.cells.every(isNumber) ? undefined : first.cells
  const data = header === undefined ? rows : rows.slice(1)
  const width = first.cells.length
  if (width < 2) {
    throw new MurmurError('ERR_INVALID_DATA', `${file} line ${first.line}: found 1 column; a CSV dataset needs at least one feature column and a label column, separated by commas`)
  }
  if (data.length === 0) throw new MurmurError('ERR_INVALID_DATA', `CSV file ${file} has a header row but no data rows`)
  const labelIndex = findLabelColumn(file, labelColumn, header, width)
  if (header === undefined && looksLikeNumberedHeader(first.cells, labelIndex, rows.slice(1))) {
    throw new MurmurError('ERR_INVALID_DATA', `${file} line ${first.line}: "${first.cells.slice(0, 3).join(',')},…" looks like a header of column numbers, not a sample (its label, ${describeColumn(labelIndex, undefined)} = ${first.cells[labelIndex] ?? ''}, appears in no other row); give the columns names (a header needs at least one cell that is not a number, e.g. x1,x2,…,label) or delete the line`)
  }

  const featureCount = width - 1
  const features = new Float32Array(data.length * featureCount)
  const labels = new Int32Array(data.length)
  let maxLabel = 0
  data.forEach(({ line, cells }, row) => {
    if (cells.length !== width) {
      throw new MurmurError('ERR_INVALID_DATA', `${file} line ${line}: found ${cells.length} columns, expected ${width} like line ${first.line}; every row needs the same number of comma-separated cells`)
    }
    let feature = row * featureCount
    cells.forEach((cell, column) => {
      if (!isNumber(cell)) {
        throw new MurmurError('ERR_INVALID_DATA', `${file} line ${line}, ${describeColumn(column, header)}: "${cell}" is not a number; every cell except the header must be a plain decimal number`)
      }
      const value = Number(cell)
      if (Math.abs(value) > FLOAT32_MAX) {
        throw new MurmurError('ERR_INVALID_DATA', `${file} line ${line}, ${describeColumn(column, header)}: "${cell}" is beyond the range of a 32-bit float (±3.4e38) and would load as ${value > 0 ? '' : '-'}Infinity; scale that column down`)
      }
      if (column === labelIndex) {
        if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
          throw new MurmurError('ERR_INVALID_DATA', `${file} line ${line}, ${describeColumn(column, header)}: label "${cell}" is not a class index; labels must be non-negative integers (0, 1, 2, ...)`)
        }
        labels[row] = value
        maxLabel = Math.max(maxLabel, value)
      } else {
        features[feature++] = value
      }
    })
  })
  return createDataset({ name: `csv:${file.split(/[\\/]/).pop() ?? file}`, inputShape: [featureCount], classes: Math.max(2, maxLabel + 1), features, labels })
}
