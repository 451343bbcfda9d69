/**
 * The simulator's agenda: actions due at virtual times, taken in time order. Actions due at the same
 * time run in the order they were scheduled (a sequence number breaks ties), so a run never depends
 * on how a heap happens to order equal keys: the same seed replays the same run.
 */

export interface ScheduledAction {
  /** virtual milliseconds since the start of the simulation */
  readonly at: number
  readonly sequence: number
  readonly run: () => void
  cancelled: boolean
}

/** A binary min-heap on (at, sequence). */
export class EventQueue {
  private readonly heap: ScheduledAction[] = []
  private sequence = 0

  get size (): number {
    return this.heap.length
  }

  /** Schedules `run` at virtual time `at`; the returned handle can be cancelled. */
  push (at: number, run: () => void): ScheduledAction {
    if (!Number.isFinite(at)) throw new RangeError(`an event needs a finite time, got ${at}`)
    const action: ScheduledAction = { at, sequence: this.sequence++, run, cancelled: false }
    const heap = this.heap
    heap.push(action)
    let child = heap.length - 1
    while (child > 0) {
      const parent = (child - 1) >> 1
      if (!earlier(action, heap[parent] as ScheduledAction)) break
      heap[child] = heap[parent] as ScheduledAction
      child = parent
    }
    heap[child] = action
    return action
  }

  /** The time of the next action not cancelled, or undefined when none is left. */
  peekTime (): number | undefined {
    this.dropCancelled()
    return this.heap[0]?.at
  }

  /** Removes and returns the next action not cancelled. */
  pop (): ScheduledAction | undefined {
    this.dropCancelled()
    return this.take()
  }

  private dropCancelled (): void {
    while (this.heap.length > 0 && (this.heap[0] as ScheduledAction).cancelled) this.take()
  }

  private take (): ScheduledAction | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    let parent = 0
    for (;;) {
      const left = 2 * parent + 1
      if (left >= heap.length) break
      const right = left + 1
      const child = right < heap.length && earlier(heap[right] as ScheduledAction, heap[left] as ScheduledAction) ? right : left
      if (!earlier(heap[child] as ScheduledAction, last)) break
      heap[parent] = heap[child] as ScheduledAction
      parent = child
    }
    heap[parent] = last
    return top
  }
}

function earlier (a: ScheduledAction, b: ScheduledAction): boolean {
  return a.at < b.at || (a.at === b.at && a.sequence < b.sequence)
}
