import { round } from './run-figures.js'
import { sleep } from './sleep.js'
import type { SwarmEvent } from './summary.js'

/**
 * A scenario's timeline in a run of real processes (`murmur swarm`, `murmur testbed`): its actions
 * performed on time, and the summary's `events`, what they did, timed from the start of training.
 * (`murmur simulate` schedules the same actions in virtual time instead.)
 */

/**
 * The summary's `events`, each timed in seconds from `startedAt`. Events recorded before training
 * starts (none in practice) are timed from the log's creation.
 */
export class EventLog {
  readonly events: SwarmEvent[] = []
  /** Date.now() when training started; the run sets it once its nodes are up */
  startedAt = Date.now()

  /** @param onEvent told of each event as it is recorded (progress display) */
  constructor (private readonly onEvent?: (event: SwarmEvent) => void) {}

  /** milliseconds since training started */
  elapsedMs (): number {
    return Date.now() - this.startedAt
  }

  record (event: Omit<SwarmEvent, 't'>): void {
    const full = { t: round(this.elapsedMs() / 1000), ...event }
    this.events.push(full)
    this.onEvent?.(full)
  }
}

export interface TimelineInit {
  /** Date.now() at the start of training: an action at `atMs` is due at startedAt + atMs */
  readonly startedAt: number
  /** Date.now() at the end of the run: no action starts at or after it */
  readonly deadline: number
  /** ends the wait for the next action; no further action starts */
  readonly signal: AbortSignal
}

/**
 * Performs each action when it is due, in order (actions sorted by `atMs`), one at a time: an action
 * that takes long (nodes restarting) delays the next ones rather than overlapping them.
 */
export async function playTimeline<Action extends { readonly atMs: number }> (actions: readonly Action[], perform: (action: Action) => Promise<void>, init: TimelineInit): Promise<void> {
  for (const action of actions) {
    await sleep(init.startedAt + action.atMs - Date.now(), init.signal)
    if (init.signal.aborted || Date.now() >= init.deadline) return
    await perform(action)
  }
}
