import { spawnSync } from 'node:child_process'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { compiledModule } from '../src/paths.js'

/**
 * A node process trains in its worker thread only: its main thread, which serves libp2p and the API,
 * must not load TF.js (tens of MiB per process, issue 11). Runs a module with a resolve hook in a
 * fresh Node.js process and lists the TF.js modules it loaded.
 */
function tfjsModulesLoadedBy (code: string): string[] {
  const script = `
    import { registerHooks } from 'node:module'
    const loaded = []
    registerHooks({ resolve (specifier, context, next) { const result = next(specifier, context); loaded.push(result.url); return result } })
    ${code}
    process.stdout.write('\\n' + JSON.stringify(loaded.filter(url => url.includes('/@tensorflow/'))) + '\\n')
  `
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 })
  expect(run.status, run.stderr).toBe(0)
  const lines = run.stdout.trim().split('\n')
  return JSON.parse(lines[lines.length - 1] ?? '[]') as string[]
}

describe('a node process', () => {
  it('loads no TF.js on its main thread for `murmur start`, and the hook sees TF.js where it trains', () => {
    const cli = pathToFileURL(compiledModule('cli/index.js')).href
    // The command line a node runs, up to where it would start (--help stops it there).
    const start = tfjsModulesLoadedBy(`process.argv = [process.argv[0], 'murmur', 'start', '--help']; await import(${JSON.stringify(cli)})`)
    expect(start).toEqual([])
    // Control: the worker's trainer does load TF.js, and the hook reports it.
    const trainer = pathToFileURL(compiledModule('learning/local-trainer.js')).href
    expect(tfjsModulesLoadedBy(`await import(${JSON.stringify(trainer)})`).length).toBeGreaterThan(0)
  })
})
