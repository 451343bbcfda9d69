import { createHash } from 'node:crypto'
import { ClassicLevel } from 'classic-level'
import { MurmurError } from '../errors.js'
import { createIdentity, decodeIdentity, encodeIdentity, type Identity } from '../p2p/identity.js'
import { ensurePrivateDirectory, tightenFiles } from '../private-files.js'
import { emptyCounters, type Checkpoint, type CheckpointReading, type NodeStatePort } from '../core/node-state.js'

export { emptyCounters, type Checkpoint, type CheckpointReading, type NodeCounters } from '../core/node-state.js'

/**
 * Version of the checkpoint record a node writes; a node refuses records of a version it does not
 * know. 2 adds the training model (Checkpoint.training); records of version 1 are still read (the node
 * then resumes from the served model).
 */
export const CHECKPOINT_FORMAT_VERSION = 2
/** the versions this node reads */
const READABLE_FORMAT_VERSIONS: readonly number[] = [1, 2]

const IDENTITY_KEY = 'identity'
/** the manifest the node last started with, so that `murmur export` can rebuild the network from a datadir alone */
const MANIFEST_KEY = 'manifest'
const STARTS_KEY = 'starts'
const LATEST_KEY = 'checkpoint/latest'
const SLOTS = ['a', 'b'] as const
type Slot = typeof SLOTS[number]
const metaKey = (slot: Slot): string => `checkpoint/${slot}/meta`
const modelKey = (slot: Slot): string => `checkpoint/${slot}/model`
const trainingKey = (slot: Slot): string => `checkpoint/${slot}/training`

type CheckpointFields = Omit<Checkpoint, 'model' | 'training'>

interface CheckpointMeta extends CheckpointFields {
  readonly formatVersion: number
  /** hex SHA-256 over the model bytes (and from version 2 the training model's) and the other fields, checked on every load */
  readonly checksum: string
  /** version 2: whether the record holds a training model */
  readonly hasTraining?: boolean
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function checksumOf (version: number, fields: CheckpointFields, model: Uint8Array, training: Uint8Array | undefined): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([version, fields.swarmId, fields.step, fields.samplesProcessed, fields.savedAt, fields.counters, ...(fields.privacy === undefined ? [] : [fields.privacy]), ...(version >= 2 ? [training !== undefined] : [])]))
    .update(model)
  if (training !== undefined) hash.update(training)
  return hash.digest('hex')
}

function levelCode (error: unknown): string | undefined {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  return typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : undefined
}

function describe (error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  return cause instanceof Error ? cause.message : String(cause)
}

export interface NodeStoreInit {
  /**
   * Fault injection, for tests and drills: called before every checkpoint write; an error it returns
   * fails that write as a full or failing disk would. Default: none.
   */
  readonly checkpointWriteFault?: () => Error | undefined
}

/**
 * A node's state under its --datadir, in a LevelDB database: identity, a count of starts, and the
 * two latest checkpoints (the core's store port, src/core/node-state.ts). A checkpoint is written in one atomic batch with a checksum, so a crash
 * at any moment leaves either the old or the new one; if the newest is damaged all the same (disk
 * trouble), the previous one is still there.
 */
export class NodeStore implements NodeStatePort {
  private readonly db: ClassicLevel<string, Uint8Array>
  private readonly init: NodeStoreInit
  readonly directory: string
  /** what opening the store changed or repaired, for the operator (the node reports them as warnings) */
  readonly warnings: readonly string[]

  private constructor (directory: string, db: ClassicLevel<string, Uint8Array>, init: NodeStoreInit, warnings: string[]) {
    this.directory = directory
    this.db = db
    this.init = init
    this.warnings = warnings
  }

  /**
   * Opens (or creates) the store. The directory is made private (700) because it holds the node's
   * private key; LevelDB's files in it are made 600.
   */
  static async open (directory: string, init: NodeStoreInit = {}): Promise<NodeStore> {
    const warnings: string[] = []
    const tightened = await ensurePrivateDirectory(directory)
    if (tightened !== null) warnings.push(tightened)
    const open = async (): Promise<ClassicLevel<string, Uint8Array>> => {
      const db = new ClassicLevel<string, Uint8Array>(directory, { valueEncoding: 'view' })
      await db.open()
      return db
    }
    let db: ClassicLevel<string, Uint8Array>
    try {
      db = await open()
    } catch (error) {
      const code = levelCode(error)
      if (code === 'LEVEL_LOCKED') {
        throw new MurmurError('ERR_STORE', `${directory} is in use by another node: give each node its own --datadir`, { cause: error })
      }
      if (code !== 'LEVEL_CORRUPTION') {
        throw new MurmurError('ERR_STORE', `cannot open the node state in ${directory}: ${describe(error)}`, { cause: error })
      }
      // LevelDB can rebuild its own index from the data files; the checkpoints' checksums then say what survived.
      try {
        await ClassicLevel.repair(directory)
        db = await open()
      } catch (repairError) {
        throw new MurmurError('ERR_STORE', `the node state in ${directory} is damaged and could not be repaired (${describe(repairError)}): move it aside and start with a fresh --datadir; the node will then join with a new identity and fetch the model from its peers`, { cause: repairError })
      }
      warnings.push(`the node state in ${directory} was damaged (${describe(error)}) and LevelDB repaired it: recent writes may be lost, and a checkpoint that did not survive is reported on its own`)
    }
    // Files LevelDB made on opening (log, manifest) are private too, not only the directory.
    await tightenFiles(directory)
    return new NodeStore(directory, db, init, warnings)
  }

  /**
   * Opens an existing datadir to read it (murmur export): creates nothing, repairs nothing, writes
   * nothing. A running node holds the datadir's lock; the error then says where else to get its model.
   */
  static async openExisting (directory: string): Promise<NodeStore> {
    const db = new ClassicLevel<string, Uint8Array>(directory, { valueEncoding: 'view', createIfMissing: false })
    try {
      await db.open()
    } catch (error) {
      if (levelCode(error) === 'LEVEL_LOCKED') {
        throw new MurmurError('ERR_STORE', `${directory} is in use by a running node, which holds its lock: stop the node first, or fetch its model from the node's local API (murmur start --api HOST:PORT): GET http://HOST:PORT/model.json and /weights.bin`, { cause: error })
      }
      throw new MurmurError('ERR_STORE', `cannot open the node state in ${directory}: ${describe(error)} (is it a node's --datadir?)`, { cause: error })
    }
    return new NodeStore(directory, db, {}, [])
  }

  /** Records the manifest the node runs (JSON text). */
  async saveManifest (manifest: unknown): Promise<void> {
    await this.db.put(MANIFEST_KEY, encoder.encode(JSON.stringify(manifest)))
  }

  /** The manifest the node last started with, unchecked (parse it with parseManifest), or null before one was saved. */
  async readManifest (): Promise<unknown> {
    const saved = await this.db.get(MANIFEST_KEY)
    if (saved === undefined) return null
    try {
      return JSON.parse(decoder.decode(saved)) as unknown
    } catch {
      throw new MurmurError('ERR_STORE', `the manifest saved in ${this.directory} is not readable JSON`)
    }
  }

  /** The node's identity; made and saved on first start so the peer id survives restarts. */
  async identity (): Promise<{ identity: Identity; created: boolean }> {
    const saved = await this.db.get(IDENTITY_KEY)
    if (saved !== undefined) {
      try {
        return { identity: decodeIdentity(saved), created: false }
      } catch (error) {
        throw new MurmurError('ERR_STORE', `the identity key in ${this.directory} is damaged (${describe(error)}): the node cannot keep its peer id; start with a fresh --datadir`, { cause: error })
      }
    }
    const identity = await createIdentity()
    await this.db.put(IDENTITY_KEY, encodeIdentity(identity))
    return { identity, created: true }
  }

  /** Counts this start and returns how many starts there were before it (restarts). */
  async recordStart (): Promise<number> {
    const saved = await this.db.get(STARTS_KEY)
    const previous = saved === undefined ? 0 : Number(decoder.decode(saved)) || 0
    await this.db.put(STARTS_KEY, encoder.encode(String(previous + 1)))
    return previous
  }

  private async readSlot (slot: Slot): Promise<Checkpoint> {
    const [meta, model, storedTraining] = await this.db.getMany([metaKey(slot), modelKey(slot), trainingKey(slot)])
    if (meta === undefined || model === undefined) throw new Error('missing')
    let fields: CheckpointMeta
    try {
      fields = JSON.parse(decoder.decode(meta)) as CheckpointMeta
    } catch {
      throw new Error('its description is not readable')
    }
    if (!READABLE_FORMAT_VERSIONS.includes(fields.formatVersion)) throw new Error(`format version ${String(fields.formatVersion)}, this node reads versions ${READABLE_FORMAT_VERSIONS.join(' and ')}`)
    const { checksum, formatVersion, hasTraining, ...checkpoint } = fields
    // A version-1 record has no training model; a key left by another record is not this one's.
    const training = formatVersion >= 2 && hasTraining === true ? storedTraining : undefined
    if (formatVersion >= 2 && hasTraining === true && training === undefined) throw new Error('its training model is missing')
    if (checksumOf(formatVersion, checkpoint, model, training) !== checksum) throw new Error('checksum mismatch')
    return { ...checkpoint, counters: { ...emptyCounters(), ...checkpoint.counters }, model, ...(training === undefined ? {} : { training }) }
  }

  /** The newest checkpoint whose checksum holds, and a description of any damaged one it skipped. */
  async readCheckpoint (): Promise<CheckpointReading> {
    const latest = await this.db.get(LATEST_KEY)
    if (latest === undefined) return { checkpoint: null, problems: [] }
    const newest = decoder.decode(latest) === 'b' ? 'b' : 'a'
    const problems: string[] = []
    for (const slot of newest === 'a' ? SLOTS : [...SLOTS].reverse()) {
      try {
        return { checkpoint: await this.readSlot(slot), problems }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        if (message !== 'missing' || slot === newest) problems.push(`${slot === newest ? 'latest' : 'previous'} checkpoint in ${this.directory} skipped: ${message}`)
      }
    }
    return { checkpoint: null, problems }
  }

  /** Saves model and counters in one atomic batch, into the slot that does not hold the latest checkpoint. */
  async writeCheckpoint (checkpoint: Checkpoint): Promise<void> {
    const fault = this.init.checkpointWriteFault?.()
    if (fault !== undefined) throw fault
    const { model, training, ...fields } = checkpoint
    const latest = await this.db.get(LATEST_KEY)
    const slot: Slot = latest !== undefined && decoder.decode(latest) === 'a' ? 'b' : 'a'
    const meta: CheckpointMeta = { ...fields, formatVersion: CHECKPOINT_FORMAT_VERSION, hasTraining: training !== undefined, checksum: checksumOf(CHECKPOINT_FORMAT_VERSION, fields, model, training) }
    await this.db.batch([
      { type: 'put', key: metaKey(slot), value: encoder.encode(JSON.stringify(meta)) },
      { type: 'put', key: modelKey(slot), value: model },
      training === undefined ? { type: 'del', key: trainingKey(slot) } : { type: 'put', key: trainingKey(slot), value: training },
      { type: 'put', key: LATEST_KEY, value: encoder.encode(slot) }
    ], { sync: true })
  }

  async close (): Promise<void> {
    await this.db.close()
    // Files LevelDB made while running are protected by the directory's mode; at rest they are private too.
    // The database is closed either way; a directory removed meanwhile has nothing left to protect.
    await tightenFiles(this.directory).catch(() => 0)
  }
}
