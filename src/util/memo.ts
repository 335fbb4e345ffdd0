/**
 * A bounded memo for small, pure, hot decodings keyed by their exact input bytes (names,
 * AlgorithmIdentifiers): two generations of Map, the young one retiring the old one when it
 * fills. Why not Lru (lru-cache): its per-access bookkeeping costs about as much as decoding a
 * short name again, which defeats the purpose on this path. Eviction is coarser than LRU (a
 * whole old generation at a time; an entry read from the old generation moves to the young
 * one), and the size stays below 2 × `generation` entries.
 */
export class Memo<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();

  constructor(private readonly generation: number) {}

  get(key: string): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) this.set(key, o);
    return o;
  }

  set(key: string, value: V): void {
    this.young.set(key, value);
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  clear(): void {
    this.young = new Map();
    this.old = new Map();
  }

  get size(): number {
    return this.young.size + this.old.size;
  }
}
