import { isIP } from 'node:net';
import type { Certificate } from '../../x509/certificate.js';
import { ipToText } from '../../x509/generalName.js';
import { attributeValues } from '../../x509/name.js';
import { OID } from '../../x509/oids.js';
import type { ExpectedName, Profile } from '../options.js';
import { matchDnsName, normalizeReferenceDns } from './dns.js';
import { mailboxEquals, parseMailbox } from './email.js';
import { parseIp } from './ip.js';

export interface NameMatch {
  readonly matched: boolean;
  /** Why it did not match (names the expected name and what the certificate has). */
  readonly message: string;
}

function presentedSummary(cert: Certificate): string {
  const san = cert.ext.subjectAltName;
  if (!san) {
    const cns = attributeValues(cert.subject, OID.commonName);
    return cns.length ? `no subjectAltName (CN=${cns.join(', ')})` : 'no subjectAltName and no CN';
  }
  const parts = san.map((n) =>
    n.type === 'dns'
      ? isIP(n.value) !== 0
        ? `DNS:${n.value} (an IP address written as a DNS name)`
        : n.value
      : n.type === 'ip'
        ? ipToText(n.bytes)
        : n.type === 'email'
          ? n.value
          : n.type === 'uri'
            ? n.value
            : n.type,
  );
  const shown = parts.slice(0, 8).join(', ') + (parts.length > 8 ? `, … (${parts.length} names)` : '');
  return `subjectAltName ${shown}`;
}

/**
 * RFC 6125 / RFC 9525 identity check of the leaf against one expected name: DNS names only
 * against dNSName SANs (never the subject CN, under either profile),
 * IP addresses only against iPAddress SANs, emails against rfc822Name SANs.
 */
export function matchExpectedName(cert: Certificate, expected: ExpectedName, profile: Profile): NameMatch {
  const san = cert.ext.subjectAltName;
  const summary = () => presentedSummary(cert);
  if (expected.kind === 'ip') {
    const want = parseIp(expected.value);
    if (!want) return { matched: false, message: `"${expected.value}" is not a valid IP address` };
    const ok = (san ?? []).some(
      (n) => n.type === 'ip' && n.bytes.length === want.length && n.bytes.every((b, i) => b === want[i]),
    );
    return ok
      ? { matched: true, message: '' }
      : {
          matched: false,
          message: `the certificate is not valid for IP address ${ipToText(want)}: it has ${summary()}`,
        };
  }
  if (expected.kind === 'uri') {
    // URI identities (e.g. SPIFFE IDs) compare exactly, except for the case of scheme and host.
    const norm = (u: string) => u.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/]*)/i, (m) => m.toLowerCase());
    const want = norm(expected.value);
    const ok = (san ?? []).some((n) => n.type === 'uri' && norm(n.value) === want);
    return ok
      ? { matched: true, message: '' }
      : {
          matched: false,
          message: `the certificate is not valid for URI ${expected.value}: it has ${summary()}`,
        };
  }
  if (expected.kind === 'email') {
    const want = parseMailbox(expected.value);
    if (!want) return { matched: false, message: `"${expected.value}" is not a valid email address` };
    const ok = (san ?? []).some((n) => {
      if (n.type !== 'email') return false;
      const m = parseMailbox(n.value);
      return m !== null && mailboxEquals(m, want);
    });
    return ok
      ? { matched: true, message: '' }
      : {
          matched: false,
          message: `the certificate is not valid for email ${expected.value}: it has ${summary()}`,
        };
  }
  const ref = normalizeReferenceDns(expected.value);
  if (!ref) {
    if (parseIp(expected.value))
      return matchExpectedName(cert, { kind: 'ip', value: expected.value }, profile);
    return { matched: false, message: `"${expected.value}" is not a valid host name` };
  }
  const policy = { publicSuffixCheck: profile === 'webpki' };
  const presented = (san ?? []).filter((n) => n.type === 'dns').map((n) => (n as { value: string }).value);
  if (presented.some((p) => matchDnsName(p, ref, policy))) return { matched: true, message: '' };
  // RFC 9525 §6.3 (and every current browser, Go and rustls): the subject CN is never a fallback.
  const inCn =
    !san && attributeValues(cert.subject, OID.commonName).some((cn) => matchDnsName(cn, ref, policy));
  return {
    matched: false,
    message: inCn
      ? `the certificate names ${ref} only in its subject CN and has no subjectAltName; clients no longer accept a CN-only name (RFC 9525)`
      : `the certificate is not valid for ${ref}: it has ${summary()}`,
  };
}
