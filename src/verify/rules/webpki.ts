import { bytesEqual } from '../../x509/der.js';
import { ipToText } from '../../x509/generalName.js';
import { attributeValues } from '../../x509/name.js';
import { EKU_NAMES, OID } from '../../x509/oids.js';
import { checkCabfKey, checkCabfSignature } from './cabfAlgorithms.js';
import type { CertContext } from './context.js';

const BR = (s: string) => `CA/B BR ${s}`;

/** keyUsage bits a subscriber certificate may assert, by key type (BR 7.1.2.7.11). */
// RSA dataEncipherment is permitted (NOT RECOMMENDED, pending prohibition).
const RSA_SUBSCRIBER_USAGES: ReadonlySet<string> = new Set([
  'digitalSignature',
  'keyEncipherment',
  'dataEncipherment',
]);
const EC_SUBSCRIBER_USAGES: ReadonlySet<string> = new Set(['digitalSignature', 'keyAgreement']);

/** EKUs a TLS server certificate, and a CA issuing them, MUST NOT contain (BR 7.1.2.7.10, 7.1.2.10.6). */
const FORBIDDEN_SERVER_EKUS = new Set([
  OID.anyExtendedKeyUsage,
  OID.codeSigning,
  OID.emailProtection,
  OID.timeStamping,
  OID.ocspSigning,
  '1.3.6.1.4.1.11129.2.4.4', // CT precertificate signing
]);

/**
 * CA/B Forum Baseline Requirements (TLS server certificates) on top of RFC 5280: key and
 * signature algorithms, v3 only, root and subscriber extension rules, CN ⊂ SAN.
 */
export function checkWebPkiProfile(c: CertContext): void {
  const { cert, index: i, sink, label, isLeaf } = c;
  const ext = cert.ext;
  const key = cert.publicKey;

  if (cert.version !== 3)
    sink.profile(
      'profile-violation',
      `the ${label} is a v${cert.version} certificate (v3 required)`,
      i,
      BR('7.1.1'),
    );

  // 6.1.5 / 7.1.3.1 keys.
  checkCabfKey(c, {
    rsa: (t) => t === 'rsa',
    other: () => false,
    permitted: 'only RSA and ECDSA keys',
    sizeRule: BR('6.1.5'),
    explicitCurveRule: BR('7.1.3.1.2'),
  });

  // 7.1.3.2 signature algorithms.
  checkCabfSignature(c, { other: () => false, requirements: 'Baseline Requirements', rule: BR('7.1.3.2') });

  // 7.1.2.1 root CA certificates.
  if (c.isAnchor && cert.selfIssued) {
    const aki = ext.authorityKeyId;
    if (aki) {
      if (!aki.keyId)
        sink.profile(
          'profile-violation',
          `the ${label}'s authorityKeyIdentifier lacks keyIdentifier`,
          i,
          BR('7.1.2.1.3'),
        );
      else if (ext.subjectKeyId && !bytesEqual(aki.keyId, ext.subjectKeyId))
        sink.profile(
          'profile-violation',
          `the ${label}'s authorityKeyIdentifier does not equal its subjectKeyIdentifier`,
          i,
          BR('7.1.2.1.3'),
        );
      if (aki.hasIssuer)
        sink.profile(
          'profile-violation',
          `the ${label}'s authorityKeyIdentifier has authorityCertIssuer`,
          i,
          BR('7.1.2.1.3'),
        );
      if (aki.hasSerial)
        sink.profile(
          'profile-violation',
          `the ${label}'s authorityKeyIdentifier has authorityCertSerialNumber`,
          i,
          BR('7.1.2.1.3'),
        );
    }
    if (ext.extKeyUsage)
      sink.profile('eku', `the ${label} (a root) has an extKeyUsage extension`, i, BR('7.1.2.1.2'));
  }

  // 7.1.2.10.6 a subordinate CA's extKeyUsage, when it has one: serverAuth (checked by EKU
  // chaining), clientAuth, nothing a TLS server certificate may not carry either.
  // An affiliated cross-certificate may carry anyExtendedKeyUsage alone (BR 7.1.2.2.4), so that
  // form is left alone on a CA that does not issue the leaf itself.
  const crossCertAnyEku =
    ext.extKeyUsage?.length === 1 && ext.extKeyUsage[0] === OID.anyExtendedKeyUsage && i >= 2;
  if (
    !isLeaf &&
    !(c.isAnchor && cert.selfIssued) &&
    c.purpose === 'serverAuth' &&
    ext.extKeyUsage &&
    !crossCertAnyEku
  )
    for (const oid of ext.extKeyUsage)
      if (FORBIDDEN_SERVER_EKUS.has(oid))
        sink.profile(
          'eku',
          `the ${label}'s extKeyUsage contains ${EKU_NAMES[oid] ?? oid}, which a CA issuing TLS server certificates must not`,
          i,
          BR('7.1.2.10.6'),
        );

  if (!isLeaf) return;

  // 7.1.2.7 subscriber (leaf) certificates.
  if (ext.basicConstraints?.ca)
    sink.profile('basic-constraints', `the ${label} has basicConstraints cA TRUE`, i, BR('7.1.2.7.8'));
  if (ext.keyUsage?.has('keyCertSign') || ext.keyUsage?.has('cRLSign'))
    sink.profile(
      'key-usage',
      `the ${label}'s keyUsage allows certificate or CRL signing`,
      i,
      BR('7.1.2.7.11'),
    );

  // 7.1.2.7.11 a TLS server certificate's keyUsage by key type: RSA digitalSignature,
  // keyEncipherment (dataEncipherment tolerated); ECC digitalSignature, keyAgreement at most
  // besides; nothing else. (Client certificates are not the Baseline Requirements' subject.)
  const ku = ext.keyUsage;
  if (ku && c.purpose === 'serverAuth' && (key.type === 'rsa' || key.type === 'ec')) {
    const allowed = key.type === 'rsa' ? RSA_SUBSCRIBER_USAGES : EC_SUBSCRIBER_USAGES;
    const extra = [...ku].filter((b) => !allowed.has(b) && b !== 'keyCertSign' && b !== 'cRLSign');
    if (extra.length)
      sink.profile(
        'key-usage',
        `the ${label}'s keyUsage asserts ${extra.join(', ')}, which a subscriber ${key.type === 'rsa' ? 'RSA' : 'ECC'} key must not`,
        i,
        BR('7.1.2.7.11'),
      );
    if (key.type === 'ec' && !ku.has('digitalSignature'))
      sink.profile(
        'key-usage',
        `the ${label}'s keyUsage lacks digitalSignature, which an ECC key must assert`,
        i,
        BR('7.1.2.7.11'),
      );
  }

  const ekuExt = cert.extensionsByOid.get(OID.extKeyUsage);
  if (c.purpose === 'serverAuth') {
    if (!ext.extKeyUsage)
      sink.profile('eku', `the ${label} has no extKeyUsage extension`, i, BR('7.1.2.7.10'));
    else {
      if (ekuExt?.critical)
        sink.profile('eku', `the ${label} marks extKeyUsage critical`, i, BR('7.1.2.7.10'));
      for (const oid of ext.extKeyUsage)
        if (FORBIDDEN_SERVER_EKUS.has(oid))
          sink.profile(
            'eku',
            `the ${label}'s extKeyUsage contains ${EKU_NAMES[oid] ?? oid}, which a TLS server certificate must not`,
            i,
            BR('7.1.2.7.10'),
          );
    }
  }

  // 7.1.2.7.12 / 7.1.4.3: SAN required; non-critical unless the subject is empty; CN must copy a SAN.
  const sanExt = cert.extensionsByOid.get(OID.subjectAltName);
  if (!sanExt)
    sink.profile('profile-violation', `the ${label} has no subjectAltName extension`, i, BR('7.1.2.7.12'));
  else if (sanExt.critical && !cert.subject.isEmpty)
    sink.profile(
      'profile-violation',
      `the ${label} marks subjectAltName critical although its subject is not empty`,
      i,
      BR('7.1.2.7.12'),
    );
  const sanTexts = new Set<string>();
  for (const n of ext.subjectAltName ?? []) {
    if (n.type === 'dns') sanTexts.add(n.value);
    else if (n.type === 'ip') sanTexts.add(ipToText(n.bytes));
  }
  for (const cn of attributeValues(cert.subject, OID.commonName))
    if (!sanTexts.has(cn))
      sink.profile(
        'profile-violation',
        `the ${label}'s commonName "${cn}" is not a character-for-character copy of a subjectAltName entry`,
        i,
        BR('7.1.4.3'),
      );
}
