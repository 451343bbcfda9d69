/**
 * A map that keeps at most `capacity` entries, dropping the least recently used one: per-peer state
 * is kept for peers an attacker can mint for free, so every such map needs a bound.
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>()

  constructor (readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('a bounded map needs a capacity of at least 1')
  }

  /** The value, which becomes the most recently used. */
  get (key: K): V | undefined {
    const value = this.entries.get(key)
    if (value !== undefined) { this.entries.delete(key); this.entries.set(key, value) }
    return value
  }

  /** The value, without changing the order of use. */
  peek (key: K): V | undefined {
    return this.entries.get(key)
  }

  has (key: K): boolean {
    return this.entries.has(key)
  }

  set (key: K, value: V): void {
    this.entries.delete(key)
    this.entries.set(key, value)
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K)
  }

  delete (key: K): void {
    this.entries.delete(key)
  }

  get size (): number {
    return this.entries.size
  }

  values (): IterableIterator<V> {
    return this.entries.values()
  }

  keys (): IterableIterator<K> {
    return this.entries.keys()
  }
}
