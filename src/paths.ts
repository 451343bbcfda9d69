import { fileURLToPath } from 'node:url'
import { dirname, join, sep } from 'node:path'

const here = dirname(fileURLToPath(import.meta.url))

/**
 * Path of a compiled module (worker threads and child processes need JavaScript files). When murmur
 * runs from its TypeScript sources (tests), this points at the build in dist/ instead.
 */
export function compiledModule (relativePath: string): string {
  const parts = here.split(sep)
  if (parts[parts.length - 1] === 'src') return join(dirname(here), 'dist', relativePath)
  return join(here, relativePath)
}
