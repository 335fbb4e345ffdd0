import { LRUCache } from 'lru-cache';
import { abortReason } from '../probe/deadline.js';
import { SharedLoad } from './sharedLoad.js';

/** What a loader returns: the value and how long it may be reused (0 or less: not at all). */
export interface Answer<V> {
  readonly value: V;
  readonly ttlMs: number;
}

export interface AnswerCacheOptions {
  /** At most this many entries (in flight or settled); the least recently used go first. */
  readonly max: number;
  /** How long a failed load is remembered (so a dead server is not asked by every target). */
  readonly failureTtlMs: number;
  /** The clock TTLs are measured on, in epoch milliseconds (tests inject one). */
  readonly now?: () => number;
}

/**
 * The one cache of network answers (OCSP responses, CRLs, AIA issuer certificates), over
 * `lru-cache`: bounded in entries, each answer kept for the TTL its loader chose, failures
 * kept for `failureTtlMs`, and single-flight — one load per key however many callers wait.
 *
 * The single-flight entry is a {@link SharedLoad}: the load runs under its own signal, each
 * caller waits under its own (its per-target deadline), so one caller's abort rejects only
 * that caller; a load every caller gave up on is cancelled and forgotten at once, not
 * remembered as a failure. (lru-cache's own `fetchMethod` would abort the shared fetch when
 * the first caller's signal fires, hence this layer on top.)
 */
export class AnswerCache<V> {
  private readonly entries: LRUCache<string, SharedLoad<Answer<V>>>;
  private readonly failureTtlMs: number;
  /** The cache's clock (epoch ms). */
  readonly now: () => number;
  /** Loads started (network fetches or queries), for tests and benchmarks. */
  loads = 0;

  constructor(options: AnswerCacheOptions) {
    if (!Number.isInteger(options.max) || options.max < 1)
      throw new RangeError(`AnswerCache: max must be a positive integer, got ${options.max}`);
    this.now = options.now ?? Date.now;
    this.failureTtlMs = options.failureTtlMs;
    // ttlResolution 0: read the clock on every check (an injected clock may jump).
    this.entries = new LRUCache({ max: options.max, ttlResolution: 0, perf: { now: this.now } });
  }

  /** Entries held (in flight or settled and not yet found expired). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The answer for `key`: a live cached one (answer or failure), the load already in flight,
   * or a new load. `load` runs under the entry's own signal, never the caller's; `signal` only
   * ends this caller's wait.
   */
  get(key: string, load: (signal: AbortSignal) => Promise<Answer<V>>, signal?: AbortSignal): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && !hit.abandoned) return hit.join(signal).then(value);
    // Never start a load nobody waits for (it could not be abandoned).
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    this.loads++;
    const shared: SharedLoad<Answer<V>> = new SharedLoad(load, () => {
      if (this.entries.peek(key) === shared) this.entries.delete(key);
    });
    // In flight: no TTL until it settles.
    this.entries.set(key, shared);
    shared.promise.then(
      (a) => this.settle(key, shared, a.ttlMs),
      () => this.settle(key, shared, this.failureTtlMs),
    );
    return shared.join(signal).then(value);
  }

  /** Forget everything (in-flight loads go on for their waiters). */
  clear(): void {
    this.entries.clear();
  }

  private settle(key: string, shared: SharedLoad<Answer<V>>, ttlMs: number): void {
    // Evicted, replaced, or abandoned meanwhile: nothing to remember.
    if (shared.abandoned || this.entries.peek(key) !== shared) return;
    if (!(ttlMs > 0)) this.entries.delete(key);
    else this.entries.set(key, shared, { ttl: Math.ceil(ttlMs) });
  }
}

function value<V>(a: Answer<V>): V {
  return a.value;
}
