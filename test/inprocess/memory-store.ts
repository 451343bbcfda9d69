import type { Checkpoint, CheckpointReading, NodeStatePort } from '../../src/core/node-state.js'

/**
 * A node's state in memory, for in-process tests: kept as long as the object is (a restart reuses
 * it), with a fault hook that fails checkpoint writes as a full disk would.
 */
export class MemoryStore implements NodeStatePort {
  private starts = 0
  private latest: Checkpoint | null = null
  manifest: unknown = null
  /** when set, every checkpoint write fails with what it returns */
  writeFault: (() => Error | undefined) | null = null
  writes = 0

  async recordStart (): Promise<number> {
    return this.starts++
  }

  async saveManifest (manifest: unknown): Promise<void> {
    this.manifest = manifest
  }

  async readCheckpoint (): Promise<CheckpointReading> {
    return { checkpoint: this.latest, problems: [] }
  }

  async writeCheckpoint (checkpoint: Checkpoint): Promise<void> {
    const fault = this.writeFault?.()
    if (fault !== undefined) throw fault
    // A copy, as a real store would keep: the node goes on changing its counters.
    this.latest = { ...checkpoint, counters: structuredClone(checkpoint.counters), model: checkpoint.model.slice() }
    this.writes++
  }

  /** the checkpoint a restart would find */
  get checkpoint (): Checkpoint | null {
    return this.latest
  }
}
