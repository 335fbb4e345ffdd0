import { LRUCache } from 'lru-cache';

/**
 * A bounded LRU map for process-wide caches of pure computations (parsed certificates,
 * public keys, signature results), over `lru-cache` like the answer cache. Values may be
 * `null` (lru-cache does not store nullish values, so each is boxed).
 */
export class Lru<K extends {}, V> {
  private readonly cache: LRUCache<K, { readonly v: V }>;

  constructor(max: number) {
    this.cache = new LRUCache({ max });
  }

  get(key: K): V | undefined {
    return this.cache.get(key)?.v;
  }

  set(key: K, value: V): void {
    this.cache.set(key, { v: value });
  }

  get size(): number {
    return this.cache.size;
  }
}
