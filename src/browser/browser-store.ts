import { BrowserLevel } from 'browser-level'
import type { Checkpoint, CheckpointReading, NodeStatePort } from '../core/node-state.js'
import { createIdentity, decodeIdentity, encodeIdentity, type Identity } from '../p2p/identity.js'

const KEYS = { identity: 'identity', starts: 'starts', manifest: 'manifest', checkpoint: 'checkpoint', model: 'checkpoint-model', training: 'checkpoint-training' } as const

/**
 * A browser node's state in IndexedDB (the `level` family's browser backend): its identity, so a
 * reloaded tab comes back with the same peer id, and its checkpoints (the core's store port). Each
 * checkpoint is written in one batch, which browser-level commits in one IndexedDB transaction: all of
 * it or none.
 */
export class BrowserStore implements NodeStatePort {
  private readonly db: BrowserLevel<string, Uint8Array>

  private constructor (db: BrowserLevel<string, Uint8Array>) {
    this.db = db
  }

  /** Opens (or creates) the database `name`; one per swarm, so a tab can join several swarms. */
  static async open (name: string): Promise<BrowserStore> {
    const db = new BrowserLevel<string, Uint8Array>(name, { valueEncoding: 'view' })
    await db.open()
    return new BrowserStore(db)
  }

  private async read (key: string): Promise<Uint8Array | undefined> {
    return this.db.get(key)
  }

  private async readJson (key: string): Promise<unknown> {
    const bytes = await this.read(key)
    return bytes === undefined ? undefined : JSON.parse(new TextDecoder().decode(bytes)) as unknown
  }

  private static json (value: unknown): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(value))
  }

  /** The node's identity: the stored one, or a new one stored now. */
  async identity (): Promise<{ identity: Identity; created: boolean }> {
    const stored = await this.read(KEYS.identity)
    if (stored !== undefined) return { identity: decodeIdentity(stored), created: false }
    const identity = await createIdentity()
    await this.db.put(KEYS.identity, encodeIdentity(identity))
    return { identity, created: true }
  }

  async recordStart (): Promise<number> {
    const before = await this.readJson(KEYS.starts)
    const starts = typeof before === 'number' && Number.isSafeInteger(before) && before >= 0 ? before : 0
    await this.db.put(KEYS.starts, BrowserStore.json(starts + 1))
    return starts
  }

  async saveManifest (manifest: unknown): Promise<void> {
    await this.db.put(KEYS.manifest, BrowserStore.json(manifest))
  }

  async readCheckpoint (): Promise<CheckpointReading> {
    let meta: unknown
    let model: Uint8Array | undefined
    let training: Uint8Array | undefined
    try {
      meta = await this.readJson(KEYS.checkpoint)
      model = await this.read(KEYS.model)
      training = await this.read(KEYS.training)
    } catch (error) {
      return { checkpoint: null, problems: [`the stored checkpoint is unreadable (${error instanceof Error ? error.message : String(error)}); starting without it`] }
    }
    if (meta === undefined && model === undefined) return { checkpoint: null, problems: [] }
    const fields = meta as (Partial<Omit<Checkpoint, 'model' | 'training'>> & { hasTraining?: boolean }) | undefined
    if (model === undefined || fields === undefined || typeof fields.swarmId !== 'string' || typeof fields.step !== 'number' ||
      typeof fields.samplesProcessed !== 'number' || typeof fields.savedAt !== 'string' || typeof fields.counters !== 'object' || fields.counters === null) {
      return { checkpoint: null, problems: ['the stored checkpoint is incomplete; starting without it'] }
    }
    // A checkpoint written before training models were kept has no hasTraining: it resumes its served model.
    const { hasTraining, ...rest } = fields
    return { checkpoint: { ...(rest as Omit<Checkpoint, 'model' | 'training'>), model, ...(hasTraining === true && training !== undefined ? { training } : {}) }, problems: [] }
  }

  async writeCheckpoint (checkpoint: Checkpoint): Promise<void> {
    const { model, training, ...meta } = checkpoint
    await this.db.batch([
      { type: 'put', key: KEYS.checkpoint, value: BrowserStore.json({ ...meta, hasTraining: training !== undefined }) },
      { type: 'put', key: KEYS.model, value: model },
      training === undefined ? { type: 'del', key: KEYS.training } : { type: 'put', key: KEYS.training, value: training }
    ])
  }

  /** Forgets everything: the next start is a new node with a new peer id. */
  async clear (): Promise<void> {
    await this.db.clear()
  }

  async close (): Promise<void> {
    await this.db.close()
  }
}
