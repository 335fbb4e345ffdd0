import type { RevocationInfo } from '../revocation/checkRevocation.js';
import { type Certificate, isSelfSigned } from '../x509/certificate.js';
import { ipToText } from '../x509/generalName.js';
import { isoOf } from '../x509/time.js';

export type CertificateSource = 'peer' | 'trust-store' | 'aia';

/** One certificate of a result's `chain` (DESIGN.md §4). */
export interface ChainEntry {
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly daysRemaining: number;
  readonly sha256: string;
  readonly subjectAltNames: {
    readonly dns: string[];
    readonly ip: string[];
    readonly email: string[];
    readonly uri: string[];
  };
  readonly publicKey: { readonly type: string; readonly bits: number | null; readonly curve: string | null };
  readonly signatureAlgorithm: string;
  readonly isCA: boolean;
  readonly selfSigned: boolean;
  readonly source: CertificateSource;
  /** Revocation status when it was checked (DESIGN.md §5 revoked / revocation-unknown). */
  readonly revocation?: RevocationInfo;
}

/** Whole days from `nowMs` until the certificate's notAfter (negative once expired). */
export function daysRemaining(cert: Certificate, nowMs: number): number {
  return Math.floor((cert.notAfter.seconds * 1000 - nowMs) / 86400_000);
}

export function subjectAltNames(cert: Certificate): ChainEntry['subjectAltNames'] {
  const out = { dns: [] as string[], ip: [] as string[], email: [] as string[], uri: [] as string[] };
  for (const n of cert.ext.subjectAltName ?? []) {
    if (n.type === 'dns') out.dns.push(n.value);
    else if (n.type === 'ip') out.ip.push(ipToText(n.bytes));
    else if (n.type === 'email') out.email.push(n.value);
    else if (n.type === 'uri') out.uri.push(n.value);
  }
  return out;
}

export function chainEntry(cert: Certificate, source: CertificateSource, nowMs: number): ChainEntry {
  return {
    subject: cert.subject.text,
    issuer: cert.issuer.text,
    serialNumber: cert.serialHex,
    notBefore: isoOf(cert.notBefore),
    notAfter: isoOf(cert.notAfter),
    daysRemaining: daysRemaining(cert, nowMs),
    sha256: cert.sha256,
    subjectAltNames: subjectAltNames(cert),
    publicKey: { type: cert.publicKey.type, bits: cert.publicKey.bits, curve: cert.publicKey.curve },
    signatureAlgorithm: cert.signatureAlgorithm.name,
    isCA: cert.ext.basicConstraints?.ca === true,
    selfSigned: isSelfSigned(cert),
    source,
  };
}
