/** A warning as GET /status shows it. */
export interface NodeWarning {
  readonly message: string
  /** ISO 8601 */
  readonly at: string
}

export interface WarningLogInit {
  /** runtime warnings kept, the newest; start-up warnings are all kept (default 20) */
  readonly keep?: number
  readonly now?: () => Date
}

const DEFAULT_KEEP = 20

/**
 * What an operator should know that did not stop the node, for GET /status: every warning found at
 * start-up (a damaged checkpoint rolled back, a repaired database, an API exposed beyond loopback),
 * and the latest ones since (e.g. failed checkpoint writes). Bounded, so a chatty peer cannot grow it
 * or push the start-up warnings out.
 */
export class WarningLog {
  private readonly startup: NodeWarning[] = []
  private readonly recent: NodeWarning[] = []
  private readonly keep: number
  private readonly now: () => Date

  constructor (init: WarningLogInit = {}) {
    this.keep = init.keep ?? DEFAULT_KEEP
    this.now = init.now ?? (() => new Date())
  }

  /** A warning found while starting: kept for the node's whole run. */
  pin (message: string): void {
    this.startup.push({ message, at: this.now().toISOString() })
  }

  add (message: string): void {
    this.recent.push({ message, at: this.now().toISOString() })
    if (this.recent.length > this.keep) this.recent.splice(0, this.recent.length - this.keep)
  }

  list (): NodeWarning[] {
    return [...this.startup, ...this.recent]
  }
}
