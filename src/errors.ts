/**
 * Every error murmur raises on purpose carries a stable code, so callers (the CLI, tests, embedders)
 * can react to the kind of failure without parsing messages, and a message a user can act on.
 */
export type MurmurErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_INVALID_DATA_SPEC'
  | 'ERR_DATA_NOT_FOUND'
  | 'ERR_INVALID_DATA'
  | 'ERR_INVALID_MANIFEST'
  | 'ERR_UNKNOWN_MODEL'
  | 'ERR_BACKEND_UNAVAILABLE'
  | 'ERR_INVALID_UPDATE'
  | 'ERR_STORE'
  | 'ERR_NODE_STATE'
  | 'ERR_WORKER'
  | 'ERR_MODEL_DIVERGED'
  | 'ERR_SWARM'
  | 'ERR_INSECURE_PERMISSIONS'
  /** murmur testbed: not root, a tool missing, or a namespace command failed */
  | 'ERR_TESTBED'
  | 'ERR_PRIVACY_BUDGET'

export class MurmurError extends Error {
  readonly code: MurmurErrorCode

  constructor (code: MurmurErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'MurmurError'
    this.code = code
  }
}

export function isMurmurError (error: unknown, code?: MurmurErrorCode): error is MurmurError {
  return error instanceof MurmurError && (code === undefined || error.code === code)
}
