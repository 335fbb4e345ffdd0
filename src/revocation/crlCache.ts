import { type Crl, parseCrl } from '../verify/crl.js';
import { looksLikePem, readPemBlocks } from '../x509/pem.js';
import { boundedFetch, type FetchOptions } from './fetch.js';

interface Entry {
  promise: Promise<Crl>;
  expiresAt: number;
}

/**
 * CRLs fetched from distribution points, shared by a whole scan (or service process): one
 * fetch per URL at a time (single-flight), reused until the CRL's nextUpdate (or the HTTP
 * max-age, whichever is sooner), bounded in count. Failures are remembered briefly so a dead
 * distribution point is not hammered by every endpoint.
 */
export class CrlCache {
  private readonly entries = new Map<string, Entry>();
  /** Network fetches made (for tests and benchmarks). */
  fetches = 0;

  constructor(
    private readonly fetchOptions: Omit<FetchOptions, 'method' | 'body'>,
    private readonly maxEntries = 64,
    private readonly failureTtlMs = 60_000,
  ) {}

  get(url: string, nowMs: number = Date.now()): Promise<Crl> {
    const hit = this.entries.get(url);
    if (hit && hit.expiresAt > nowMs) {
      this.entries.delete(url);
      this.entries.set(url, hit);
      return hit.promise;
    }
    const entry: Entry = {
      promise: Promise.resolve(null as unknown as Crl),
      expiresAt: Number.POSITIVE_INFINITY,
    };
    entry.promise = this.load(url).then(
      ({ crl, maxAgeSec }) => {
        const next = crl.nextUpdate ? crl.nextUpdate.seconds * 1000 : nowMs + 3600_000;
        entry.expiresAt = Math.min(
          next,
          maxAgeSec !== null ? Date.now() + maxAgeSec * 1000 : Number.POSITIVE_INFINITY,
        );
        return crl;
      },
      (e: Error) => {
        entry.expiresAt = Date.now() + this.failureTtlMs;
        throw e;
      },
    );
    entry.promise.catch(() => {});
    this.entries.set(url, entry);
    while (this.entries.size > this.maxEntries)
      this.entries.delete(this.entries.keys().next().value as string);
    return entry.promise;
  }

  private async load(url: string): Promise<{ crl: Crl; maxAgeSec: number | null }> {
    this.fetches++;
    const r = await boundedFetch(url, this.fetchOptions);
    const body = r.body;
    if (looksLikePem(body)) {
      const block = readPemBlocks(Buffer.from(body).toString('latin1')).find((b) => b.label === 'X509 CRL');
      if (!block) throw new Error(`${url} returned PEM without an X509 CRL block`);
      return { crl: parseCrl(block.der), maxAgeSec: r.maxAgeSec };
    }
    return { crl: parseCrl(body), maxAgeSec: r.maxAgeSec };
  }
}
