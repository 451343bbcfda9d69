import type { Checkpoint, CheckpointReading, NodeStatePort } from '../core/node-state.js'

/**
 * A node's store port in memory, for simulations and in-process tests: its checkpoint, kept across
 * the node's restarts for as long as the object lives. Two faults can be injected: a crash, by
 * severing the store before the core stops (what a dead process would have written after its death,
 * the final checkpoint of a clean stop, never lands), and failing writes (`writeFault`), as a full
 * disk would.
 */
export class MemoryStore implements NodeStatePort {
  private starts = 0
  private saved: Checkpoint | null = null
  private severed = false
  /** the manifest the node last started with */
  manifest: unknown = null
  /** when set, a checkpoint write fails with the error it returns (undefined: the write succeeds) */
  writeFault: (() => Error | undefined) | null = null
  /** checkpoints written */
  writes = 0

  async recordStart (): Promise<number> {
    this.severed = false
    return this.starts++
  }

  async saveManifest (manifest: unknown): Promise<void> {
    this.manifest = manifest
  }

  async readCheckpoint (): Promise<CheckpointReading> {
    return { checkpoint: this.saved, problems: [] }
  }

  async writeCheckpoint (checkpoint: Checkpoint): Promise<void> {
    const fault = this.writeFault?.()
    if (fault !== undefined) throw fault
    if (this.severed) return
    // The counters are copied, as a real store keeps what was written: the node goes on counting.
    // The model's bytes are the core's fresh encoding and are not changed afterwards.
    this.saved = { ...checkpoint, counters: structuredClone(checkpoint.counters) }
    this.writes++
  }

  /** From now until the next start, writes are lost (the node crashed). */
  sever (): void {
    this.severed = true
  }

  /** the newest checkpoint (what a restart would find), null before the first */
  get checkpoint (): Checkpoint | null {
    return this.saved
  }
}
