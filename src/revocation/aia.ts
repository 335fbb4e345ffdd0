import { AnswerCache } from '../util/answerCache.js';
import { asn1Cms, asn1Schema } from '../x509/asn1.js';
import { parseCertificateCached } from '../x509/cache.js';
import type { Certificate } from '../x509/certificate.js';
import { loadCertificates } from '../x509/load.js';
import { boundedFetch, type FetchOptions } from './fetch.js';

const SIGNED_DATA = '1.2.840.113549.1.7.2';

/** Certificates from an AIA caIssuers response: DER, PEM, or PKCS#7 "certs-only" (RFC 5280 §4.2.2.1). */
export function parseIssuerResponse(body: Uint8Array, url: string): Certificate[] {
  const pem = loadCertificates(body, url);
  if (pem.certificates.length) return pem.certificates;
  try {
    const { AsnConvert } = asn1Schema();
    const { ContentInfo, SignedData } = asn1Cms();
    const ci = AsnConvert.parse(body, ContentInfo);
    if (ci.contentType === SIGNED_DATA) {
      const sd = AsnConvert.parse(ci.content, SignedData);
      const out: Certificate[] = [];
      for (const choice of sd.certificates ?? [])
        if (choice.certificate)
          out.push(parseCertificateCached(new Uint8Array(AsnConvert.serialize(choice.certificate))));
      if (out.length) return out;
    }
  } catch {
    /* not PKCS#7 */
  }
  throw new Error(`${url} returned neither a certificate nor a PKCS#7 certificate bundle`);
}

export interface AiaFetcherOptions {
  /** Issuer answers held at most (default 256). */
  readonly maxEntries?: number;
  /** How long fetched issuer certificates are reused (default 1 h). */
  readonly ttlMs?: number;
  /** How long a failed fetch is remembered (default 60 s). */
  readonly failureTtlMs?: number;
  /** The clock (epoch ms; default Date.now). */
  readonly now?: () => number;
}

/**
 * Fetches issuer certificates named by AIA caIssuers, shared across a scan in the one answer
 * cache ({@link AnswerCache}: single-flight, bounded, answers kept for a fixed TTL, failures
 * briefly), bounded like every certificate-controlled fetch. Each caller waits under its own
 * signal (its per-target deadline); a fetch every waiter gave up on is cancelled and
 * forgotten rather than remembered as a failure.
 */
export class AiaFetcher {
  private readonly cache: AnswerCache<Certificate[]>;
  private readonly ttlMs: number;

  constructor(
    private readonly options: Omit<FetchOptions, 'method' | 'body' | 'signal'>,
    cacheOptions: AiaFetcherOptions = {},
  ) {
    this.ttlMs = cacheOptions.ttlMs ?? 3600_000;
    this.cache = new AnswerCache({
      max: cacheOptions.maxEntries ?? 256,
      failureTtlMs: cacheOptions.failureTtlMs ?? 60_000,
      ...(cacheOptions.now ? { now: cacheOptions.now } : {}),
    });
  }

  /** Network fetches made (for tests and benchmarks). */
  get fetches(): number {
    return this.cache.loads;
  }

  issuersOf(cert: Certificate, signal?: AbortSignal): Promise<Certificate[]>[] {
    return (cert.ext.authorityInfoAccess?.caIssuers ?? []).map((url) =>
      this.cache.get(
        url,
        async (own) => {
          const r = await boundedFetch(url, { ...this.options, signal: own });
          return { value: parseIssuerResponse(r.body, url), ttlMs: this.ttlMs };
        },
        signal,
      ),
    );
  }
}
