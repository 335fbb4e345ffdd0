import { SharedLoad } from '../util/sharedLoad.js';
import { type Crl, parseCrl } from '../verify/crl.js';
import { looksLikePem, readPemBlocks } from '../x509/pem.js';
import { boundedFetch, type FetchOptions } from './fetch.js';

interface Entry {
  load: SharedLoad<Crl>;
  expiresAt: number;
}

/**
 * CRLs fetched from distribution points, shared by a whole scan (or service process): one
 * fetch per URL at a time (single-flight), reused until the CRL's nextUpdate (or the HTTP
 * max-age, whichever is sooner), bounded in count. Failures are remembered briefly so a dead
 * distribution point is not hammered by every endpoint. Each caller waits under its own
 * signal (its per-target deadline): one target giving up never fails the fetch for the others,
 * and a fetch every waiter gave up on is cancelled and forgotten (not remembered as a failure).
 */
export class CrlCache {
  private readonly entries = new Map<string, Entry>();
  /** Network fetches made (for tests and benchmarks). */
  fetches = 0;

  constructor(
    private readonly fetchOptions: Omit<FetchOptions, 'method' | 'body' | 'signal'>,
    private readonly maxEntries = 64,
    private readonly failureTtlMs = 60_000,
  ) {}

  get(url: string, nowMs: number = Date.now(), signal?: AbortSignal): Promise<Crl> {
    const hit = this.entries.get(url);
    if (hit && hit.expiresAt > nowMs && !hit.load.abandoned) {
      this.entries.delete(url);
      this.entries.set(url, hit);
      return hit.load.join(signal);
    }
    const entry: Entry = { load: null as unknown as SharedLoad<Crl>, expiresAt: Number.POSITIVE_INFINITY };
    entry.load = new SharedLoad(
      (own) =>
        this.load(url, own).then(
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
        ),
      () => {
        if (this.entries.get(url) === entry) this.entries.delete(url);
      },
    );
    this.entries.set(url, entry);
    while (this.entries.size > this.maxEntries)
      this.entries.delete(this.entries.keys().next().value as string);
    return entry.load.join(signal);
  }

  private async load(url: string, signal: AbortSignal): Promise<{ crl: Crl; maxAgeSec: number | null }> {
    this.fetches++;
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
