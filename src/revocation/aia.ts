import { ContentInfo, SignedData } from '@peculiar/asn1-cms';
import { AsnConvert } from '@peculiar/asn1-schema';
import { SharedLoad } from '../util/sharedLoad.js';
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

/**
 * Fetches issuer certificates named by AIA caIssuers, shared across a scan (single-flight,
 * failures remembered), bounded like every certificate-controlled fetch. Each caller waits
 * under its own signal (its per-target deadline); a fetch every waiter gave up on is
 * cancelled and forgotten rather than remembered as a failure.
 */
export class AiaFetcher {
  private readonly cache = new Map<string, SharedLoad<Certificate[]>>();
  fetches = 0;

  constructor(private readonly options: Omit<FetchOptions, 'method' | 'body' | 'signal'>) {}

  issuersOf(cert: Certificate, signal?: AbortSignal): Promise<Certificate[]>[] {
    return (cert.ext.authorityInfoAccess?.caIssuers ?? []).map((url) => {
      let load = this.cache.get(url);
      if (!load || load.abandoned) {
        this.fetches++;
        const created = new SharedLoad(
          (own) =>
            boundedFetch(url, { ...this.options, signal: own }).then((r) => parseIssuerResponse(r.body, url)),
          () => {
            if (this.cache.get(url) === created) this.cache.delete(url);
          },
        );
        load = created;
        this.cache.set(url, load);
        if (this.cache.size > 256) this.cache.delete(this.cache.keys().next().value as string);
      }
      return load.join(signal);
    });
  }
}
