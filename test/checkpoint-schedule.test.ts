import { describe, it, expect } from 'vitest'
import { CheckpointSchedule } from '../src/core/checkpoint-schedule.js'
import { WarningLog } from '../src/node/warning-log.js'

describe('the checkpoint schedule', () => {
  it('writes every interval, retries a failed write with doubling backoff up to a cap, and says when it recovers', async () => {
    let now = 1_000
    const schedule = new CheckpointSchedule({ intervalMs: 10_000, retryMs: 1_000, maxRetryMs: 4_000, now: () => now })
    expect(schedule.due()).toBe(false)
    now += 10_000
    expect(schedule.due()).toBe(true)

    let writes = 0
    const diskFull = async (): Promise<void> => { writes++; throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }) }
    const delays: number[] = []
    for (let failure = 1; failure <= 4; failure++) {
      const message = await schedule.attempt(diskFull)
      expect(message).toContain('ENOSPC')
      expect(message).toContain(`${failure} in a row`)
      const start = now
      while (!schedule.due()) now += 100
      delays.push(now - start)
    }
    expect(writes).toBe(4)
    expect(delays).toEqual([1_000, 2_000, 4_000, 4_000])

    expect(await schedule.attempt(async () => {})).toBe('checkpoint written again after 4 failed attempts')
    expect(schedule.failures).toBe(0)
    now += 9_900
    expect(schedule.due()).toBe(false)
    now += 100
    expect(await schedule.attempt(async () => {})).toBeNull()
  })
})

describe('the warning log', () => {
  it('keeps every start-up warning and only the latest others', () => {
    const log = new WarningLog({ keep: 3, now: () => new Date(0) })
    log.pin('latest checkpoint skipped: checksum mismatch')
    for (let index = 0; index < 10; index++) log.add(`graylisted peer ${index}`)
    expect(log.list().map(warning => warning.message)).toEqual(['latest checkpoint skipped: checksum mismatch', 'graylisted peer 7', 'graylisted peer 8', 'graylisted peer 9'])
    expect(log.list()[0]?.at).toBe('1970-01-01T00:00:00.000Z')
  })
})
