import { readFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'

/** Checks a value against one of the project's own schemas in docs/schemas; returns the errors. */
export function schemaErrors (schema: 'swarm-summary' | 'node-status' | 'train-bench', value: unknown): string[] {
  const ajv = new Ajv2020({ allErrors: true, strict: false })
  const validate = ajv.compile(JSON.parse(readFileSync(new URL(`../docs/schemas/${schema}.schema.json`, import.meta.url), 'utf8')) as object)
  return validate(value) ? [] : (validate.errors ?? []).map(error => `${error.instancePath} ${error.message ?? ''}`)
}

export async function temporaryDirectory (prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `murmur-test-${prefix}-`))
}

export function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
