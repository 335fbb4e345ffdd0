import type { KeyUsageBit } from '../../x509/extensions.js';
import { EKU_NAMES, OID } from '../../x509/oids.js';
import type { KeyType } from '../../x509/publicKey.js';
import { checkCabfKey, checkCabfSignature } from './cabfAlgorithms.js';
import type { CertContext } from './context.js';

/**
 * The CA/Browser Forum S/MIME Baseline Requirements (certificates that protect email) on top of
 * RFC 5280, as the `smime` profile: v3 (§7.1.1), keys (§6.1.5) and signature algorithms
 * (§7.1.3.2), the extension rules of §7.1.2 for root, subordinate CA and subscriber
 * certificates, and the mailbox rule of §7.1.4.2.1. The purpose itself
 * (id-kp-emailProtection, chained through the CAs) is the caller's required EKU, and the
 * mailbox the caller names is matched against the rfc822Name entries; neither is repeated here.
 * Reported as profile findings: critical when conformance is enforced, warnings under
 * `--lenient`. Our own code because it is the product (the validator's rule sets).
 */

const SMIME = (s: string) => `S/MIME BR ${s}`;

/** EKUs an S/MIME certificate, and a CA issuing them, must not carry (§7.1.2.2 (g), §7.1.2.3 (f)). */
const FORBIDDEN_SMIME_EKUS: ReadonlySet<string> = new Set([
  OID.serverAuth,
  OID.codeSigning,
  OID.timeStamping,
  OID.anyExtendedKeyUsage,
]);

/** keyUsage bits a CA certificate may assert (§7.1.2.1 (b), §7.1.2.2 (e)). */
const CA_USAGES: ReadonlySet<KeyUsageBit> = new Set(['keyCertSign', 'cRLSign', 'digitalSignature']);

/** smtpUTF8Mailbox (RFC 9598), the otherName that §7.1.4.2.1 accepts besides rfc822Name. */
const SMTP_UTF8_MAILBOX = '1.3.6.1.5.5.7.8.9';

export function checkSmimeProfile(c: CertContext): void {
  const { cert, isLeaf } = c;
  const isRoot = c.isAnchor && cert.selfIssued;
  checkKeyAndSignature(c);
  if (isLeaf) checkSubscriber(c);
  else checkCa(c, isRoot);
}

/** §7.1.1 v3; §6.1.5 keys; §7.1.3.2 signatures. ML-DSA keys are held to RFC 9881 only. */
function checkKeyAndSignature(c: CertContext): void {
  const { cert, index: i, sink, label } = c;
  if (cert.version !== 3)
    sink.profile(
      'profile-violation',
      `the ${label} is a v${cert.version} certificate (v3 required)`,
      i,
      SMIME('7.1.1'),
    );
  checkCabfKey(c, {
    rsa: (t) => t === 'rsa' || t === 'rsa-pss',
    other: (t) => t === 'ed25519' || t === 'ed448' || t.startsWith('ml-dsa'),
    permitted: 'RSA, ECDSA and EdDSA keys',
    sizeRule: SMIME('6.1.5'),
    explicitCurveRule: SMIME('6.1.5'),
  });
  checkCabfSignature(c, {
    other: (scheme) => scheme === 'ed25519' || scheme === 'ed448' || scheme.startsWith('ml-dsa'),
    requirements: 'S/MIME Baseline Requirements',
    rule: SMIME('7.1.3.2'),
  });
}

/** §7.1.2.1 root and §7.1.2.2 subordinate CA certificates. */
function checkCa(c: CertContext, isRoot: boolean): void {
  const { cert, index: i, sink, label } = c;
  const ku = cert.ext.keyUsage;
  const rule = isRoot ? SMIME('7.1.2.1') : SMIME('7.1.2.2 (e)');
  if (!ku) sink.profile('key-usage', `the ${label} has no keyUsage extension`, i, rule);
  else {
    // A missing keyCertSign is already a trust failure for any issuer (RFC 5280 §6.1.4 (n)).
    if (!ku.has('cRLSign')) sink.profile('key-usage', `the ${label}'s keyUsage lacks cRLSign`, i, rule);
    const extra = [...ku].filter((b) => !CA_USAGES.has(b));
    if (extra.length)
      sink.profile(
        'key-usage',
        `the ${label}'s keyUsage asserts ${extra.join(', ')}, which an S/MIME CA must not`,
        i,
        rule,
      );
  }
  const eku = cert.ext.extKeyUsage;
  if (isRoot) {
    if (eku) sink.profile('eku', `the ${label} (a root) has an extKeyUsage extension`, i, SMIME('7.1.2.1'));
    return;
  }
  if (!eku) {
    sink.profile('eku', `the ${label} has no extKeyUsage extension`, i, SMIME('7.1.2.2 (g)'));
    return;
  }
  forbiddenEkus(c, eku, 'a CA issuing S/MIME certificates', SMIME('7.1.2.2 (g)'));
}

/** §7.1.2.3 subscriber (mailbox) certificates and §7.1.4.2.1 their names. */
function checkSubscriber(c: CertContext): void {
  const { cert, index: i, sink, label } = c;
  const ext = cert.ext;
  if (ext.basicConstraints?.ca)
    sink.profile('basic-constraints', `the ${label} has basicConstraints cA TRUE`, i, SMIME('7.1.2.3 (d)'));

  const kuExt = cert.extensionsByOid.get(OID.keyUsage);
  if (!ext.keyUsage)
    sink.profile('key-usage', `the ${label} has no keyUsage extension`, i, SMIME('7.1.2.3 (e)'));
  else {
    // A SHOULD, not a SHALL: a warning whatever the conformance mode.
    if (kuExt && !kuExt.critical)
      sink.add({
        code: 'key-usage',
        severity: 'warning',
        message: `the ${label} does not mark keyUsage critical (it should)`,
        certIndex: i,
        rule: SMIME('7.1.2.3 (e)'),
      });
    const problem = subscriberKeyUsageProblem(cert.publicKey.type, ext.keyUsage);
    if (problem) sink.profile('key-usage', `the ${label}'s keyUsage ${problem}`, i, SMIME('7.1.2.3 (e)'));
  }

  if (!ext.extKeyUsage)
    sink.profile('eku', `the ${label} has no extKeyUsage extension`, i, SMIME('7.1.2.3 (f)'));
  else forbiddenEkus(c, ext.extKeyUsage, 'an S/MIME certificate', SMIME('7.1.2.3 (f)'));

  const sanExt = cert.extensionsByOid.get(OID.subjectAltName);
  if (!sanExt) {
    sink.profile(
      'profile-violation',
      `the ${label} has no subjectAltName extension`,
      i,
      SMIME('7.1.2.3 (h)'),
    );
    return;
  }
  if (sanExt.critical && !cert.subject.isEmpty)
    sink.profile(
      'profile-violation',
      `the ${label} marks subjectAltName critical although its subject is not empty`,
      i,
      SMIME('7.1.2.3 (h)'),
    );
  const mailbox = (ext.subjectAltName ?? []).some(
    (n) => n.type === 'email' || (n.type === 'otherName' && n.oid === SMTP_UTF8_MAILBOX),
  );
  if (!mailbox)
    sink.profile(
      'profile-violation',
      `the ${label}'s subjectAltName has no mailbox address (rfc822Name or smtpUTF8Mailbox)`,
      i,
      SMIME('7.1.4.2.1'),
    );
}

function forbiddenEkus(c: CertContext, eku: readonly string[], holder: string, rule: string): void {
  for (const oid of eku)
    if (FORBIDDEN_SMIME_EKUS.has(oid))
      c.sink.profile(
        'eku',
        `the ${c.label}'s extKeyUsage contains ${EKU_NAMES[oid] ?? oid}, which ${holder} must not`,
        c.index,
        rule,
      );
}

/**
 * §7.1.2.3 (e): the keyUsage bits of a subscriber certificate by key type — one of the uses
 * (signing, key management, both) with the bits it SHALL set and those it MAY add, and nothing
 * else. Null when the bits are allowed, else what is wrong. Key types the requirements do not
 * list (ML-DSA, …) are held only to "no certificate or CRL signing".
 */
export function subscriberKeyUsageProblem(keyType: KeyType, ku: ReadonlySet<KeyUsageBit>): string | null {
  const has = (b: KeyUsageBit) => ku.has(b);
  let allowed: readonly KeyUsageBit[];
  let uses: string | null;
  if (keyType === 'rsa') {
    allowed = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment'];
    uses =
      !has('digitalSignature') && !has('keyEncipherment')
        ? 'asserts neither digitalSignature nor keyEncipherment (an RSA key must sign, manage keys, or both)'
        : has('nonRepudiation') && !has('digitalSignature')
          ? 'asserts nonRepudiation without digitalSignature'
          : has('dataEncipherment') && !has('keyEncipherment')
            ? 'asserts dataEncipherment without keyEncipherment'
            : null;
  } else if (keyType === 'ec') {
    allowed = ['digitalSignature', 'nonRepudiation', 'keyAgreement', 'encipherOnly', 'decipherOnly'];
    uses =
      !has('digitalSignature') && !has('keyAgreement')
        ? 'asserts neither digitalSignature nor keyAgreement (an ECC key must sign, agree keys, or both)'
        : has('nonRepudiation') && !has('digitalSignature')
          ? 'asserts nonRepudiation without digitalSignature'
          : (has('encipherOnly') || has('decipherOnly')) && !has('keyAgreement')
            ? 'asserts encipherOnly or decipherOnly without keyAgreement'
            : has('encipherOnly') && has('decipherOnly')
              ? 'asserts both encipherOnly and decipherOnly'
              : null;
  } else if (keyType === 'rsa-pss' || keyType === 'ed25519' || keyType === 'ed448') {
    allowed = ['digitalSignature', 'nonRepudiation'];
    uses = has('digitalSignature') ? null : 'lacks digitalSignature, which a signing-only key must assert';
  } else {
    allowed = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement'];
    uses = null;
  }
  const extra = [...ku].filter((b) => !allowed.includes(b));
  if (extra.length) return `asserts ${extra.join(', ')}, which a subscriber ${keyName(keyType)} key must not`;
  return uses;
}

function keyName(keyType: KeyType): string {
  if (keyType === 'rsa') return 'RSA';
  if (keyType === 'ec') return 'ECC';
  if (keyType === 'rsa-pss') return 'RSA-PSS';
  if (keyType === 'ed25519') return 'Ed25519';
  if (keyType === 'ed448') return 'Ed448';
  return keyType;
}
