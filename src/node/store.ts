import { mkdir } from 'node:fs/promises'
import { Level } from 'level'
import { MurmurError } from '../errors.js'
import { createIdentity, decodeIdentity, encodeIdentity, type Identity } from '../p2p/identity.js'

/** Counters a node keeps across restarts. */
export interface NodeCounters {
  exchanges: number
  updatesReceived: number
  updatesAccepted: number
  updatesRejected: number
  rejectedByReason: Record<string, number>
  bytesSent: number
  bytesReceived: number
  restarts: number
}

export function emptyCounters (): NodeCounters {
  return { exchanges: 0, updatesReceived: 0, updatesAccepted: 0, updatesRejected: 0, rejectedByReason: {}, bytesSent: 0, bytesReceived: 0, restarts: 0 }
}

/** A node's saved progress; the model is kept in the same encoding it travels in. */
export interface Checkpoint {
  readonly swarmId: string
  readonly step: number
  readonly samplesProcessed: number
  readonly savedAt: string
  readonly counters: NodeCounters
  /** the model, as an encoded update (see docs/protocol.md) */
  readonly model: Uint8Array
}

const IDENTITY_KEY = 'identity'
const CHECKPOINT_META_KEY = 'checkpoint/meta'
const CHECKPOINT_MODEL_KEY = 'checkpoint/model'

const text = { encode: (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value)), decode: (bytes: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(bytes)) }

/** A node's state under its --datadir, in a LevelDB database. */
export class NodeStore {
  private readonly db: Level<string, Uint8Array>
  readonly directory: string

  private constructor (directory: string, db: Level<string, Uint8Array>) {
    this.directory = directory
    this.db = db
  }

  static async open (directory: string): Promise<NodeStore> {
    await mkdir(directory, { recursive: true })
    const db = new Level<string, Uint8Array>(directory, { valueEncoding: 'view' })
    try {
      await db.open()
    } catch (error) {
      const cause = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)
      throw new MurmurError('ERR_STORE', `cannot open the node state in ${directory}: ${cause} (is another node using this --datadir?)`, { cause: error })
    }
    return new NodeStore(directory, db)
  }

  /** The node's identity; made and saved on first start so the peer id survives restarts. */
  async identity (): Promise<{ identity: Identity; created: boolean }> {
    const saved = await this.db.get(IDENTITY_KEY)
    if (saved !== undefined) return { identity: decodeIdentity(saved), created: false }
    const identity = await createIdentity()
    await this.db.put(IDENTITY_KEY, encodeIdentity(identity))
    return { identity, created: true }
  }

  async readCheckpoint (): Promise<Checkpoint | null> {
    const [meta, model] = await this.db.getMany([CHECKPOINT_META_KEY, CHECKPOINT_MODEL_KEY])
    if (meta === undefined || model === undefined) return null
    const fields = text.decode(meta) as Omit<Checkpoint, 'model'>
    return { ...fields, counters: { ...emptyCounters(), ...fields.counters }, model }
  }

  /** Saves model and counters in one atomic batch: a crash leaves the old checkpoint or the new one. */
  async writeCheckpoint (checkpoint: Checkpoint): Promise<void> {
    const { model, ...fields } = checkpoint
    await this.db.batch([
      { type: 'put', key: CHECKPOINT_META_KEY, value: text.encode(fields) },
      { type: 'put', key: CHECKPOINT_MODEL_KEY, value: model }
    ])
  }

  async close (): Promise<void> {
    await this.db.close()
  }
}
