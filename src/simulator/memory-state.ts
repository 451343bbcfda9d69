import type { Checkpoint, CheckpointReading, NodeStatePort } from '../core/node-state.js'

/**
 * A simulated node's store port: its checkpoint in memory, kept across the node's restarts. A crash
 * is modelled by severing the store before the core stops: what a dead process would have written
 * after its death (the final checkpoint of a clean stop) never lands.
 */
export class MemoryState implements NodeStatePort {
  private starts = 0
  private saved: Checkpoint | null = null
  private severed = false

  async recordStart (): Promise<number> {
    this.severed = false
    return this.starts++
  }

  async saveManifest (): Promise<void> {}

  async readCheckpoint (): Promise<CheckpointReading> {
    return { checkpoint: this.saved, problems: [] }
  }

  async writeCheckpoint (checkpoint: Checkpoint): Promise<void> {
    if (!this.severed) this.saved = checkpoint
  }

  /** From now until the next start, writes are lost (the node crashed). */
  sever (): void {
    this.severed = true
  }

  /** the newest checkpoint, null before the first */
  get checkpoint (): Checkpoint | null {
    return this.saved
  }
}
