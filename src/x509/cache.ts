import { hash } from 'node:crypto';
import { Lru } from '../util/lru.js';
import { type Certificate, parseCertificate } from './certificate.js';

const parsed = new Lru<string, Certificate>(4096);

/**
 * parseCertificate with a process-wide, bounded cache keyed by the DER's SHA-256: a scan of
 * thousands of endpoints parses each shared intermediate and root once. Certificates are
 * immutable values, so sharing them is safe. Parse errors are not cached.
 */
export function parseCertificateCached(der: Uint8Array): Certificate {
  const key = hash('sha256', der, 'hex');
  const hit = parsed.get(key);
  if (hit) return hit;
  const c = parseCertificate(der);
  parsed.set(key, c);
  return c;
}
