/**
 * A map that keeps at most `maxSize` entries, forgetting the least recently used first. Reading an
 * entry with {@link LruMap.get} or writing it counts as a use; {@link LruMap.peek} does not.
 */
export class LruMap<K, V> {
  readonly maxSize: number;
  // Map iteration order is insertion order: re-inserting on use keeps the oldest entry first.
  readonly #entries = new Map<K, V>();

  constructor(maxSize: number) {
    if (!Number.isSafeInteger(maxSize) || maxSize < 1) {
      throw new RangeError(`maxSize must be a positive integer, got ${maxSize}`);
    }
    this.maxSize = maxSize;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry of `key`, now the most recently used. */
  get(key: K): V | undefined {
    if (!this.#entries.has(key)) return undefined;
    const value = this.#entries.get(key) as V;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  /** The entry of `key`, its place unchanged. */
  peek(key: K): V | undefined {
    return this.#entries.get(key);
  }

  /** Sets the entry of `key` as the most recently used, and forgets the oldest beyond `maxSize`. */
  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.maxSize) {
      this.#entries.delete(this.#entries.keys().next().value as K);
    }
  }

  keys(): IterableIterator<K> {
    return this.#entries.keys();
  }
}
