import { readFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import type { NodeStatus } from '../src/node/status.js'
import type { NodeProcess } from '../src/swarm/node-process.js'

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

/** The error an action throws; fails the test when it throws none. */
export function errorOf (action: () => unknown): unknown {
  try {
    action()
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}

/** The error an async action rejects with; fails the test when it resolves. */
export async function rejectionOf (action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action()
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}

/** Polls a node's /status until the condition holds; fails with the last status after the timeout. */
export async function waitFor (node: NodeProcess, condition: (status: NodeStatus) => boolean, timeoutMs = 60_000): Promise<NodeStatus> {
  const deadline = Date.now() + timeoutMs
  let last: NodeStatus | null = null
  while (Date.now() < deadline) {
    last = await node.status()
    if (last !== null && condition(last)) return last
    await sleep(250)
  }
  throw new Error(`condition not reached in ${timeoutMs} ms; last status: ${JSON.stringify(last)}`)
}
