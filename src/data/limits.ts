/**
 * How much a data file may hold before a loader refuses it: a node loads its whole dataset into
 * memory (as 32-bit floats, 4 bytes a value), so an oversized or maliciously crafted file (a gzip
 * bomb: kilobytes that inflate to gigabytes) must be refused before it takes the machine's memory.
 */
export interface DataLimits {
  /** largest file read: a CSV file, or an IDX file as stored (compressed or not) */
  readonly maxFileBytes: number
  /** largest IDX content once gunzipped */
  readonly maxInflatedBytes: number
}

const MiB = 1 << 20

/** 256 MiB each: 4× that as float features is 1 GiB. Larger data sets are split across nodes. */
export const DEFAULT_DATA_LIMITS: DataLimits = { maxFileBytes: 256 * MiB, maxInflatedBytes: 256 * MiB }

export function formatBytes (bytes: number): string {
  return bytes >= MiB ? `${(bytes / MiB).toFixed(bytes % MiB === 0 ? 0 : 1)} MiB` : `${bytes} bytes`
}
