import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { describe, it, expect } from 'vitest'

const run = promisify(execFile)
const root = new URL('../', import.meta.url)

/** The fenced block of README.md that follows the marker comment naming the example file. */
async function readmeExample (file: string): Promise<string> {
  const readme = await readFile(new URL('README.md', root), 'utf8')
  const marker = `<!-- ${file} -->`
  const start = readme.indexOf(marker)
  expect(start, `README.md has no ${marker}`).toBeGreaterThanOrEqual(0)
  const fence = /```js\n([\s\S]*?)```/.exec(readme.slice(start))
  return fence?.[1] ?? ''
}

describe('embedding a node (README)', () => {
  it('the README\'s example is examples/embed-node.mjs, word for word', async () => {
    const example = await readFile(new URL('examples/embed-node.mjs', root), 'utf8')
    expect(await readmeExample('examples/embed-node.mjs')).toBe(example)
  })

  it('runs: trains on arrays, takes the model, stops; no TF.js on the caller\'s thread', async () => {
    // The guard fails any import of @tensorflow/* on the main thread; the worker loads TF.js freely.
    const { stdout } = await run(process.execPath, ['--import', './test/fixtures/no-tfjs-on-main-thread.mjs', 'examples/embed-node.mjs'], { cwd: root, timeout: 90_000 })
    expect(stdout).toMatch(/^node \S+ listening on \/ip4\/127\.0\.0\.1\/tcp\/\d+/m)
    expect(stdout).toMatch(/held-out accuracy 0\.[89]|held-out accuracy 1/)
    expect(stdout).toMatch(/^model at step \d+: \[4×3\] \[3\]$/m)
  }, 120_000)

  it('control: the guard does catch TF.js on the main thread', async () => {
    const failure = await run(process.execPath, ['--import', './test/fixtures/no-tfjs-on-main-thread.mjs', '--input-type=module', '-e', 'await import("murmur")'], { cwd: root, timeout: 60_000 }).then(() => null, (error: unknown) => error as { stderr: string })
    expect(failure?.stderr).toMatch(/TF\.js imported on the main thread: @tensorflow/)
  }, 60_000)
})
