import { describeKey, type KeyType } from '../../x509/publicKey.js';
import type { CertContext } from './context.js';

const NAMED_CURVES: ReadonlySet<string> = new Set(['P-256', 'P-384', 'P-521']);

/**
 * The RSA, RSA-PSS and ECDSA signature algorithms both the TLS (§7.1.3.2) and the S/MIME
 * (§7.1.3.2) requirements permit. MD5 and SHA-1 are critical weak-signature findings in every
 * profile already.
 */
const CABF_SIGNATURES: ReadonlySet<string> = new Set([
  'sha256WithRSAEncryption',
  'sha384WithRSAEncryption',
  'sha512WithRSAEncryption',
  'rsassaPss(sha256)',
  'rsassaPss(sha384)',
  'rsassaPss(sha512)',
  'ecdsa-with-SHA256',
  'ecdsa-with-SHA384',
  'ecdsa-with-SHA512',
]);

/**
 * A signature below the anchor (an anchor's self-signature is not relied on) with an
 * algorithm the requirements do not permit; `other` names the schemes a profile permits
 * besides RSA, RSA-PSS and ECDSA.
 */
export function checkCabfSignature(
  c: CertContext,
  rules: {
    readonly other: (scheme: string) => boolean;
    readonly requirements: string;
    readonly rule: string;
  },
): void {
  const alg = c.cert.signatureAlgorithm;
  if (c.isAnchor || alg.hash === 'md5' || alg.hash === 'sha1') return;
  if (CABF_SIGNATURES.has(alg.name) || rules.other(alg.scheme)) return;
  c.sink.profile(
    'weak-signature',
    `the ${c.label} is signed with ${alg.name}, which the ${rules.requirements} do not permit`,
    c.index,
    rules.rule,
  );
}

export interface CabfKeyRules {
  /** Key types held to the RSA rule (a modulus a multiple of 8 bits). */
  readonly rsa: (type: KeyType) => boolean;
  /** Key types permitted besides RSA and ECDSA (held to no rule here). */
  readonly other: (type: KeyType) => boolean;
  /** What is permitted, for the message about any other key ("only RSA and ECDSA keys"). */
  readonly permitted: string;
  /** The rule cited for key sizes and curves, and for explicit curve parameters. */
  readonly sizeRule: string;
  readonly explicitCurveRule: string;
}

/**
 * The CA/Browser Forum's key rules, common to its TLS (BR §6.1.5, §7.1.3.1) and S/MIME (§6.1.5)
 * requirements: an RSA modulus a multiple of 8 bits, an ECDSA key on P-256, P-384 or P-521 named
 * by its OID, nothing else but what the caller permits. (Keys under 2048 bits or on curves under
 * 224 bits are critical weak-key findings in every profile, judged elsewhere.)
 */
export function checkCabfKey(c: CertContext, rules: CabfKeyRules): void {
  const { cert, index: i, sink, label } = c;
  const key = cert.publicKey;
  if (rules.rsa(key.type)) {
    if (key.bits !== null && key.bits % 8 !== 0)
      sink.profile(
        'weak-key',
        `the ${label}'s RSA modulus is ${key.bits} bits, not a multiple of 8`,
        i,
        rules.sizeRule,
      );
  } else if (key.type === 'ec') {
    if (key.explicitCurve)
      sink.profile(
        'weak-key',
        `the ${label}'s EC key uses explicit curve parameters (named curves required)`,
        i,
        rules.explicitCurveRule,
      );
    else if (!NAMED_CURVES.has(key.curve ?? ''))
      sink.profile(
        'weak-key',
        `the ${label}'s EC key is on ${key.curve ?? 'an unknown curve'} (P-256, P-384 or P-521 required)`,
        i,
        rules.sizeRule,
      );
  } else if (!rules.other(key.type)) {
    const named = describeKey(key);
    sink.profile(
      'weak-key',
      `the ${label} has ${article(named)} ${named} key (${rules.permitted} are permitted)`,
      i,
      rules.sizeRule,
    );
  }
}

/** "a"/"an" before a key's name as spoken: initialisms read letter by letter ("an RSA-PSS", "a DSA"). */
function article(name: string): string {
  return /^[aefhilmnorsx]/i.test(name) ? 'an' : 'a';
}
