import { getHeapStatistics } from 'node:v8'
import { describe, expect, it } from 'vitest'
import { MemoryReclaimer } from '../src/memory-reclaimer.js'

const MIB = 2 ** 20

/** Model-sized buffers that die at once, as a node's received and decoded updates do. */
function allocateAndDrop (bytes: number): void {
  const buffers: Float32Array[] = []
  for (let done = 0; done < bytes; done += 400_000) buffers.push(new Float32Array(100_000).fill(1))
  expect(buffers.length).toBeGreaterThan(0)
}

async function until (condition: () => boolean): Promise<void> {
  // V8 frees the buffers of a collection on a background thread: wait for it, do not sleep blindly.
  while (!condition()) await new Promise(resolve => setImmediate(resolve))
}

describe('MemoryReclaimer', () => {
  it('collects once dead ArrayBuffers have grown past its threshold, and frees them', async () => {
    const reclaimer = new MemoryReclaimer({ growthBytes: 16 * MIB })
    reclaimer.collect()
    const base = getHeapStatistics().external_memory
    // Below the threshold: nothing happens.
    allocateAndDrop(4 * MIB)
    expect(reclaimer.check()).toBe(false)
    allocateAndDrop(40 * MIB)
    // Control: the dead buffers are still counted until something collects them.
    expect(getHeapStatistics().external_memory - base).toBeGreaterThan(32 * MIB)
    expect(reclaimer.check()).toBe(true)
    expect(reclaimer.collections).toBe(2)
    await until(() => getHeapStatistics().external_memory - base < 8 * MIB)
    expect(reclaimer.check()).toBe(false)
  })
})
