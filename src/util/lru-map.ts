/**
 * A map that keeps its `max` most recently used entries: reading or writing a key makes it the newest, and a write
 * beyond `max` hands the oldest entries to `evict` (which frees what they hold). For caches of opened models.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(
    private readonly max: number,
    private readonly evict: (value: V, key: K) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    for (const [oldest, old] of this.entries) {
      if (this.entries.size <= this.max) break;
      this.entries.delete(oldest);
      this.evict(old, oldest);
    }
  }

  /** Removes `key` without evicting it (the caller frees what it held, or it held nothing). */
  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Removes every entry and returns their values, for the caller to free. */
  clear(): V[] {
    const values = [...this.entries.values()];
    this.entries.clear();
    return values;
  }
}
