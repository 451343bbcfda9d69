import { describe, it, expect, vi } from 'vitest'
import type { Weights } from '../src/learning/weights.js'
import { InProcessSwarm } from './inprocess/swarm.js'

/** Every merge a node's rule made: the centre it was given and what it returned. */
interface MergeCall { readonly center: Weights | undefined; readonly result: Weights; readonly previous: Weights | undefined }
const calls: MergeCall[] = []

// The nodes' rules, observed: each rule made by createMergeRule records its calls, in order.
vi.mock('../src/learning/merge.js', async importOriginal => {
  const actual = await importOriginal<typeof import('../src/learning/merge.js')>()
  return {
    ...actual,
    createMergeRule: (text: string) => {
      const rule = actual.createMergeRule(text)
      let previous: Weights | undefined
      return {
        name: rule.name,
        robust: rule.robust,
        merge: (...args: Parameters<typeof rule.merge>) => {
          const result = rule.merge(...args)
          calls.push({ center: args[2], result, previous })
          previous = result
          return result
        }
      }
    }
  }
})

const SHARDS = [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]

describe('the merge centre, in-process (memory network, virtual clock)', () => {
  it('a node clips around the model its round started from: its previous merged model', async () => {
    const swarm = new InProcessSwarm()
    await swarm.grow(3, index => ({ classes: SHARDS[index] }))
    await swarm.until(() => calls.length >= 60, 600_000, '60 merges')
    await swarm.stop()
    // Every merge after a node's first one is given a centre, and it is what that node's previous merge
    // returned (a warm join's adoption in between would replace it; a swarm started together has none).
    const later = calls.filter(call => call.previous !== undefined)
    expect(later.length).toBeGreaterThan(30)
    for (const call of later) {
      expect(call.center).toBeDefined()
      expect(call.center?.map(tensor => Array.from(tensor.values))).toEqual(call.previous?.map(tensor => Array.from(tensor.values)))
    }
  })
})
