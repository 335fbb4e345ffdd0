import type { RawExtension } from '../../x509/extensions.js';
import { OID } from '../../x509/oids.js';
import type { X509Time } from '../../x509/time.js';
import { dnsSyntaxError } from '../names/dns.js';
import { parseMailbox } from '../names/email.js';
import type { CertContext } from './context.js';

const R = (s: string) => `RFC 5280 ${s}`;

/**
 * The RFC 5280 certificate profile (§4): rules a conforming CA MUST follow. They are reported
 * as profile findings (critical when conformance is enforced, warnings otherwise).
 */
export function checkRfc5280Profile(
  c: CertContext,
  opts: { readonly allowNonCriticalNameConstraints: boolean },
): void {
  const { cert, index: i, sink, label } = c;
  const ext = cert.ext;
  const isCa = ext.basicConstraints?.ca === true;

  // §4.1.2.2 serial number: positive, at most 20 octets. The limit is on the value: a positive
  // 20-octet value with its top bit set is encoded in 21 bytes, the first a 0x00 sign byte.
  const serialOctets =
    cert.serial.length > 1 && cert.serial[0] === 0 ? cert.serial.length - 1 : cert.serial.length;
  if (serialOctets > 20)
    sink.profile(
      'profile-violation',
      `the ${label} has a ${serialOctets}-octet serial number (at most 20 allowed)`,
      i,
      R('§4.1.2.2'),
    );
  if ((cert.serial[0]! & 0x80) !== 0)
    sink.profile('profile-violation', `the ${label} has a negative serial number`, i, R('§4.1.2.2'));
  else if (cert.serial.every((b) => b === 0))
    sink.profile('profile-violation', `the ${label} has serial number zero`, i, R('§4.1.2.2'));

  // §4.1.2.4 issuer must be non-empty.
  if (cert.issuer.isEmpty)
    sink.profile('profile-violation', `the ${label} has an empty issuer name`, i, R('§4.1.2.4'));

  // §4.1.2.5 dates through 2049 as UTCTime, 2050 and later as GeneralizedTime.
  checkTimeEncoding(c, 'notBefore', cert.notBefore);
  checkTimeEncoding(c, 'notAfter', cert.notAfter);

  // §4.1.2.6 subject: CAs need one; an empty subject requires a critical SAN.
  const sanExt = cert.extensionsByOid.get(OID.subjectAltName);
  if (cert.subject.isEmpty) {
    if (isCa || c.isIssuer)
      sink.profile('profile-violation', `the ${label} is a CA with an empty subject name`, i, R('§4.1.2.6'));
    if (!sanExt)
      sink.profile(
        'profile-violation',
        `the ${label} has an empty subject and no subjectAltName`,
        i,
        R('§4.2.1.6'),
      );
    else if (!sanExt.critical)
      sink.profile(
        'profile-violation',
        `the ${label} has an empty subject but a non-critical subjectAltName`,
        i,
        R('§4.2.1.6'),
      );
  }

  // §4.2.1.1 authority key identifier.
  const akiExt = cert.extensionsByOid.get(OID.authorityKeyIdentifier);
  if (akiExt?.critical)
    sink.profile('profile-violation', `the ${label} marks authorityKeyIdentifier critical`, i, R('§4.2.1.1'));
  if (!cert.selfIssued) {
    if (!ext.authorityKeyId)
      sink.profile(
        'profile-violation',
        `the ${label} is not self-signed but has no authorityKeyIdentifier`,
        i,
        R('§4.2.1.1'),
      );
    else if (!ext.authorityKeyId.keyId)
      sink.profile(
        'profile-violation',
        `the ${label}'s authorityKeyIdentifier has no keyIdentifier`,
        i,
        R('§4.2.1.1'),
      );
  }

  // §4.2.1.2 subject key identifier.
  const skiExt = cert.extensionsByOid.get(OID.subjectKeyIdentifier);
  if (skiExt?.critical)
    sink.profile('profile-violation', `the ${label} marks subjectKeyIdentifier critical`, i, R('§4.2.1.2'));
  if (isCa && !ext.subjectKeyId)
    sink.profile(
      'profile-violation',
      `the ${label} is a CA certificate without a subjectKeyIdentifier`,
      i,
      R('§4.2.1.2'),
    );

  // §4.2.1.3 / §4.2.1.9 keyUsage and basicConstraints consistency.
  const bcExt = cert.extensionsByOid.get(OID.basicConstraints);
  if (ext.keyUsage?.has('keyCertSign') && !isCa)
    sink.profile(
      'basic-constraints',
      `the ${label} asserts keyCertSign but is not a CA (basicConstraints cA is not TRUE)`,
      i,
      R('§4.2.1.9'),
    );
  if (isCa && c.isIssuer && bcExt && !bcExt.critical)
    sink.profile(
      'basic-constraints',
      `the ${label} is a CA whose basicConstraints is not marked critical`,
      i,
      R('§4.2.1.9'),
    );
  if (ext.basicConstraints && ext.basicConstraints.pathLen !== null) {
    if (!isCa)
      sink.profile(
        'basic-constraints',
        `the ${label} has a pathLenConstraint without cA TRUE`,
        i,
        R('§4.2.1.9'),
      );
    else if (ext.keyUsage && !ext.keyUsage.has('keyCertSign'))
      sink.profile(
        'basic-constraints',
        `the ${label} has a pathLenConstraint but its keyUsage lacks keyCertSign`,
        i,
        R('§4.2.1.9'),
      );
  }

  // §4.2.1.6 subjectAltName entries must be well formed.
  for (const n of ext.subjectAltName ?? []) {
    if (n.type === 'dns') {
      const err = dnsSyntaxError(n.value.toLowerCase(), { allowWildcard: true });
      if (err)
        sink.profile(
          'profile-violation',
          `the ${label}'s subjectAltName DNS name "${n.value}" ${err}`,
          i,
          R('§4.2.1.6'),
        );
    } else if (n.type === 'ip' && n.bytes.length !== 4 && n.bytes.length !== 16) {
      sink.profile(
        'malformed-certificate',
        `the ${label}'s subjectAltName has a ${n.bytes.length}-byte iPAddress (must be 4 or 16)`,
        i,
        R('§4.2.1.6'),
      );
    } else if (n.type === 'email' && !parseMailbox(n.value)) {
      sink.profile(
        'profile-violation',
        `the ${label}'s subjectAltName email "${n.value}" is not a valid mailbox`,
        i,
        R('§4.2.1.6'),
      );
    }
  }

  // §4.2.1.10 name constraints only in CA certificates, and critical.
  const ncExt = cert.extensionsByOid.get(OID.nameConstraints);
  if (ncExt) {
    if (!isCa)
      sink.profile(
        'name-constraints',
        `the ${label} is not a CA but has a nameConstraints extension`,
        i,
        R('§4.2.1.10'),
      );
    if (!ncExt.critical && !opts.allowNonCriticalNameConstraints)
      sink.profile(
        'name-constraints',
        `the ${label} has a non-critical nameConstraints extension`,
        i,
        R('§4.2.1.10'),
      );
  }

  // §4.2.1.11 policyConstraints and §4.2.1.14 inhibitAnyPolicy MUST be critical.
  mustBeCritical(c, cert.extensionsByOid.get(OID.policyConstraints), 'policyConstraints', '§4.2.1.11');
  mustBeCritical(c, cert.extensionsByOid.get(OID.inhibitAnyPolicy), 'inhibitAnyPolicy', '§4.2.1.14');

  // §4.2.1.12 an empty EKU is caught at decode time; §4.2.2.1/§4.2.2.2 AIA/SIA MUST be non-critical.
  mustNotBeCritical(c, cert.extensionsByOid.get(OID.authorityInfoAccess), 'authorityInfoAccess', '§4.2.2.1');
  mustNotBeCritical(c, cert.extensionsByOid.get(OID.subjectInfoAccess), 'subjectInfoAccess', '§4.2.2.2');
}

function checkTimeEncoding(c: CertContext, what: string, t: X509Time): void {
  const year = new Date(t.seconds * 1000).getUTCFullYear();
  if (year < 2050 !== (t.encoding === 'UTCTime'))
    c.sink.profile(
      'profile-violation',
      `the ${c.label}'s ${what} (${t.raw}) uses ${t.encoding} for year ${year}`,
      c.index,
      R('§4.1.2.5'),
    );
}

function mustBeCritical(c: CertContext, e: RawExtension | undefined, name: string, rule: string): void {
  if (e && !e.critical)
    c.sink.profile(
      'profile-violation',
      `the ${c.label} has a non-critical ${name} extension`,
      c.index,
      R(rule),
    );
}

function mustNotBeCritical(c: CertContext, e: RawExtension | undefined, name: string, rule: string): void {
  if (e?.critical)
    c.sink.profile('profile-violation', `the ${c.label} marks ${name} critical`, c.index, R(rule));
}
