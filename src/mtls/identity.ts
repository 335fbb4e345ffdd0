import { createHash } from 'node:crypto';
import { subjectAltNames } from '../model/chainEntryBuilder.js';
import type { Certificate } from '../x509/certificate.js';
import { isoOf } from '../x509/time.js';

/** Who a verified client certificate says the peer is. */
export interface ClientIdentity {
  readonly subject: string;
  readonly commonName: string | null;
  readonly dns: readonly string[];
  readonly emails: readonly string[];
  readonly uris: readonly string[];
  readonly ips: readonly string[];
  /** spiffe://trust-domain/path from a URI SAN, if any (SPIFFE X.509-SVID). */
  readonly spiffeId: string | null;
  readonly sha256: string;
  readonly serialNumber: string;
  readonly notAfter: string;
  readonly issuer: string;
}

export function identityOf(cert: Certificate): ClientIdentity {
  const san = subjectAltNames(cert);
  const cn = cert.subject.rdns.flat().find((a) => a.type === '2.5.4.3')?.value ?? null;
  return {
    subject: cert.subject.text,
    commonName: cn,
    dns: san.dns,
    emails: san.email,
    uris: san.uri,
    ips: san.ip,
    spiffeId: san.uri.find((u) => u.toLowerCase().startsWith('spiffe://')) ?? null,
    sha256: cert.sha256 || createHash('sha256').update(cert.der).digest('hex'),
    serialNumber: cert.serialHex,
    notAfter: isoOf(cert.notAfter),
    issuer: cert.issuer.text,
  };
}
