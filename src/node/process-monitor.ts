import { monitorEventLoopDelay } from 'node:perf_hooks'
import { MemoryReclaimer } from '../memory-reclaimer.js'

const EVENT_LOOP_RESOLUTION_MS = 10

/** What a process node reports about its process in GET /status. */
export interface ProcessStatus {
  eventLoop: { lagP50Ms: number; lagP99Ms: number }
  uptimeSeconds: number
  /** resident memory of the node's process (main thread, training worker and all) */
  memory: { rssBytes: number; heapUsedBytes: number }
}

/**
 * Event-loop lag, uptime and memory of the process a node runs in; while started it also frees the
 * main thread's dead model buffers early (memory-reclaimer.ts), which keeps the memory it reports down.
 */
export class ProcessMonitor {
  private readonly eventLoop = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS })
  private readonly startedAt = Date.now()
  private readonly reclaimer = new MemoryReclaimer()

  start (): void {
    this.eventLoop.enable()
    this.reclaimer.start()
  }

  stop (): void {
    this.eventLoop.disable()
    this.reclaimer.stop()
  }

  status (): ProcessStatus {
    // The histogram records the whole interval between two ticks; the lag is what exceeds the resolution.
    const lagMs = (nanoseconds: number): number => Number.isFinite(nanoseconds) ? Math.max(0, Math.round((nanoseconds / 1e6 - EVENT_LOOP_RESOLUTION_MS) * 100) / 100) : 0
    const usage = process.memoryUsage()
    return {
      eventLoop: { lagP50Ms: lagMs(this.eventLoop.percentile(50)), lagP99Ms: lagMs(this.eventLoop.percentile(99)) },
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      memory: { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed }
    }
  }
}
