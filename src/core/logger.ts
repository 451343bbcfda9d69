/**
 * Where a node's messages for people go. The core logs little (its warnings are also 'warning'
 * events); an embedding program passes its own logger, a CLI prints, a test or simulator stays silent.
 */
export interface Logger {
  /** details useful when debugging the protocol */
  debug: (message: string) => void
  info: (message: string) => void
  /** something an operator should know that does not stop the node */
  warn: (message: string) => void
  error: (message: string) => void
}

/** A logger that drops everything (the default). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {}
}
