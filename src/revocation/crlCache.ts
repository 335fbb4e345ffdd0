import { AnswerCache } from '../util/answerCache.js';
import { type Crl, parseCrl } from '../x509/crl.js';
import { looksLikePem, readPemBlocks } from '../x509/pem.js';
import { boundedFetch, type FetchOptions } from './fetch.js';

export interface CrlCacheOptions {
  /** CRLs held at most (default 64). */
  readonly maxEntries?: number;
  /** How long a failed fetch is remembered (default 60 s). */
  readonly failureTtlMs?: number;
  /** A CRL is fetched again after this long at most, whatever its nextUpdate (default 1 h). */
  readonly maxTtlMs?: number;
  /** The clock (epoch ms; default Date.now). */
  readonly now?: () => number;
}

/**
 * CRLs fetched from distribution points, shared by a whole scan (or service process), in the
 * one answer cache ({@link AnswerCache}): one fetch per URL at a time (single-flight), reused
 * until the CRL's nextUpdate, the HTTP max-age or `maxTtlMs`, whichever is soonest, bounded
 * in count. A CRL already past its nextUpdate (it may still prove a revocation) and a failed
 * fetch are both remembered for `failureTtlMs`, so a dead or stale distribution point is not
 * hammered by every endpoint. Each caller waits under its own signal (its per-target
 * deadline): one target giving up never fails the fetch for the others, and a fetch every
 * waiter gave up on is cancelled and forgotten (not remembered as a failure).
 */
export class CrlCache {
  private readonly cache: AnswerCache<Crl>;
  private readonly failureTtlMs: number;
  private readonly maxTtlMs: number;

  constructor(
    private readonly fetchOptions: Omit<FetchOptions, 'method' | 'body' | 'signal'>,
    options: CrlCacheOptions = {},
  ) {
    this.failureTtlMs = options.failureTtlMs ?? 60_000;
    this.maxTtlMs = options.maxTtlMs ?? 3600_000;
    this.cache = new AnswerCache({
      max: options.maxEntries ?? 64,
      failureTtlMs: this.failureTtlMs,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  /** Network fetches made (for tests and benchmarks). */
  get fetches(): number {
    return this.cache.loads;
  }

  /** CRLs (and remembered failures) held. */
  get size(): number {
    return this.cache.size;
  }

  /** `nowMs` is the time the CRL's nextUpdate is measured from (default: the cache's clock). */
  get(url: string, nowMs?: number, signal?: AbortSignal): Promise<Crl> {
    return this.cache.get(
      url,
      async (own) => {
        const { crl, maxAgeSec } = await this.load(url, own);
        const now = nowMs ?? this.cache.now();
        const untilNext = crl.nextUpdate ? crl.nextUpdate.seconds * 1000 - now : this.maxTtlMs;
        const ttlMs = Math.min(
          this.maxTtlMs,
          untilNext > 0 ? untilNext : this.failureTtlMs,
          maxAgeSec !== null ? maxAgeSec * 1000 : Number.POSITIVE_INFINITY,
        );
        return { value: crl, ttlMs };
      },
      signal,
    );
  }

  private async load(url: string, signal: AbortSignal): Promise<{ crl: Crl; maxAgeSec: number | null }> {
    const r = await boundedFetch(url, { ...this.fetchOptions, signal });
    const body = r.body;
    if (looksLikePem(body)) {
      const block = readPemBlocks(Buffer.from(body).toString('latin1')).find((b) => b.label === 'X509 CRL');
      if (!block) throw new Error(`${url} returned PEM without an X509 CRL block`);
      return { crl: parseCrl(block.der), maxAgeSec: r.maxAgeSec };
    }
    return { crl: parseCrl(body), maxAgeSec: r.maxAgeSec };
  }
}
