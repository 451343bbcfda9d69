import { MurmurError, type MurmurErrorCode } from '../errors.js'
import type { TrainingRequest, TrainingResponse } from './worker-protocol.js'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** A request of the worker protocol before it gets its id. */
export type TrainingCall = DistributiveOmit<TrainingRequest, 'id'>

/** An error that crossed the worker boundary, with its code back on it. */
export function workerError (error: { code: string; message: string }): MurmurError {
  return new MurmurError(error.code as MurmurErrorCode, error.message)
}

/**
 * The caller's side of the worker protocol, the same for a process node's worker thread and a
 * browser node's Web Worker: numbers requests, matches responses to them, and once the worker fails
 * rejects every pending and later call with that failure.
 */
export class TrainingRequests {
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  private nextId = 0
  private failure: Error | null = null

  constructor (private readonly post: (request: TrainingRequest) => void) {}

  call<T>(request: TrainingCall): Promise<T> {
    if (this.failure !== null) return Promise.reject(this.failure)
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: value => { resolve(value as T) }, reject })
      this.post({ ...request, id })
    })
  }

  /** Settles the call a response answers. */
  settle (response: TrainingResponse): void {
    const pending = this.pending.get(response.id)
    this.pending.delete(response.id)
    if (response.ok) pending?.resolve(response.result)
    else pending?.reject(workerError(response.error))
  }

  failAll (error: Error): void {
    this.failure ??= error
    for (const pending of this.pending.values()) pending.reject(this.failure)
    this.pending.clear()
  }
}
