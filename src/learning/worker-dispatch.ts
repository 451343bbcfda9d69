import { isMurmurError } from '../errors.js'
import type { Trainer } from './trainer.js'
import type { TrainingRequest, TrainingResponse } from './worker-protocol.js'

/** An error as it crosses a worker boundary: its MurmurError code kept, anything else ERR_WORKER. */
export function describeWorkerError (error: unknown): { code: string; message: string } {
  if (isMurmurError(error)) return { code: error.code, message: error.message }
  return { code: 'ERR_WORKER', message: error instanceof Error ? error.message : String(error) }
}

async function handle (trainer: Trainer, request: TrainingRequest): Promise<unknown> {
  switch (request.method) {
    case 'train': return trainer.train(request.steps, request.options)
    case 'getWeights': return trainer.getWeights()
    case 'setWeights': return trainer.setWeights(request.weights)
    case 'evaluate': return trainer.evaluate(request.split)
  }
}

/**
 * The request loop of a training worker, the same for a process node's worker thread and a browser
 * node's Web Worker: each request gets one response, and requests are served one at a time, in
 * order, because a model is not safe to train and read at once. `trainer` may still be starting;
 * requests wait for it, and fail with its start-up error if it never starts.
 */
export function createRequestDispatcher (trainer: Promise<Trainer>, send: (response: TrainingResponse) => void): (request: TrainingRequest) => void {
  let queue = Promise.resolve()
  return request => {
    queue = queue.then(async () => {
      try {
        send({ type: 'response', id: request.id, ok: true, result: await handle(await trainer, request) })
      } catch (error) {
        send({ type: 'response', id: request.id, ok: false, error: describeWorkerError(error) })
      }
    })
  }
}
