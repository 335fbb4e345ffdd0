import { isSignatureOnlyKey } from '../../x509/publicKey.js';
import type { CertContext } from './context.js';

/** keyUsage bits that encrypt or agree keys: impossible for a key that can only sign. */
const NOT_FOR_SIGNING_KEYS = [
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'encipherOnly',
  'decipherOnly',
] as const;

/**
 * Ed25519 and Ed448 (RFC 8410 §5) and ML-DSA (RFC 9881 §5) keys can only sign, so a keyUsage
 * that asserts encryption or key agreement for them is a certificate the CA MUST NOT issue.
 */
export function checkSignatureOnlyKeyUsage(c: CertContext): void {
  const { cert, index, sink, label } = c;
  const ku = cert.ext.keyUsage;
  if (!ku || !isSignatureOnlyKey(cert.publicKey.type)) return;
  const wrong = NOT_FOR_SIGNING_KEYS.filter((b) => ku.has(b));
  if (wrong.length === 0) return;
  const ml = cert.publicKey.type.startsWith('ml-dsa');
  sink.profile(
    'key-usage',
    `the ${label} has ${ml ? 'an ML-DSA' : 'an EdDSA'} key, which can only sign, but its keyUsage asserts ${wrong.join(', ')}`,
    index,
    ml ? 'RFC 9881 §5' : 'RFC 8410 §5',
  );
}
