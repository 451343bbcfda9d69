/** A value loaded at most once per process, kept until released. */
export interface LoadedOnce<T> {
  /** the value, loading it on the first call; later calls share that load */
  get: () => Promise<T>
  /** true once a load has started and was neither released nor failed */
  readonly held: () => boolean
  /** forgets the value, for a process that has taken what it needs; the next get loads again */
  release: () => void
}

/**
 * Loads with `load` on first use and keeps the result. A failed load is forgotten, so that it does
 * not poison the process: a later call tries again.
 */
export function loadOnce<T> (load: () => Promise<T>): LoadedOnce<T> {
  let cached: Promise<T> | undefined
  return {
    get: async () => {
      if (cached === undefined) {
        const loading = load()
        cached = loading
        loading.catch(() => { if (cached === loading) cached = undefined })
      }
      return await cached
    },
    held: () => cached !== undefined,
    release: () => { cached = undefined }
  }
}
