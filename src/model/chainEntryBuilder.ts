/*
 * ChainEntry, the result model's view of one certificate, built from a parsed certificate: the
 * check pipeline, `verify`, `inspect` and the mTLS identity all describe certificates this way.
 */
import { hash } from 'node:crypto';
import { type Certificate, isSelfSigned } from '../x509/certificate.js';
import { ipToText } from '../x509/generalName.js';
import { isoOf } from '../x509/time.js';
import type { CertificateSource, ChainEntry } from './chainEntry.js';

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
    publicKey: {
      type: cert.publicKey.type,
      bits: cert.publicKey.bits,
      curve: cert.publicKey.curve,
      spkiSha256: hash('sha256', cert.publicKey.spkiDer, 'hex'),
    },
    signatureAlgorithm: cert.signatureAlgorithm.name,
    isCA: cert.ext.basicConstraints?.ca === true,
    selfSigned: isSelfSigned(cert),
    source,
  };
}
