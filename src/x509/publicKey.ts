import type { KeyObject } from 'node:crypto';
import { Memo } from '../util/memo.js';
import {
  children,
  content,
  DerError,
  decodeBitString,
  decodeOid,
  expectUniversal,
  readSingle,
  readTlv,
  TAG,
  type Tlv,
  whole,
} from './der.js';
import { importSpki } from './keyImport.js';
import { OID } from './oids.js';

export type KeyType =
  | 'rsa'
  | 'rsa-pss'
  | 'ec'
  | 'ed25519'
  | 'ed448'
  | 'ml-dsa-44'
  | 'ml-dsa-65'
  | 'ml-dsa-87'
  | 'dsa'
  | 'x25519'
  | 'x448'
  | 'unknown';

/** ML-DSA public key sizes (FIPS 204, Table 2), by parameter set. */
const ML_DSA_KEY_BYTES: Readonly<Record<string, number>> = {
  'ml-dsa-44': 1312,
  'ml-dsa-65': 1952,
  'ml-dsa-87': 2592,
};

/** Whether a key type signs only (RFC 8410 §5, RFC 9881 §5): no encryption or key agreement usages. */
export function isSignatureOnlyKey(type: KeyType): boolean {
  return type === 'ed25519' || type === 'ed448' || type in ML_DSA_KEY_BYTES;
}

/** What a certificate says about its subject's public key. */
export interface PublicKeyInfo {
  readonly type: KeyType;
  readonly algorithmOid: string;
  /** Modulus size for RSA/DSA, field size for EC, 255/448 for EdDSA; null when unknown. */
  readonly bits: number | null;
  /** NIST-style curve name (P-256, P-384, P-521, P-192, P-224, secp256k1) or the OID. */
  readonly curve: string | null;
  /** EC key with explicit (specifiedCurve) parameters instead of a named curve. */
  readonly explicitCurve: boolean;
  /** Why the key is structurally unusable (checked without loading it), or null. */
  readonly error: string | null;
  readonly spkiDer: Uint8Array;
}

/** Loaded keys by SPKI bytes: a re-parsed certificate reuses the key already imported. */
const loaded = new Memo<{ key: KeyObject | null; error: string | null }>(2048);

/**
 * The node:crypto key, loaded on first use: importing a key costs far more than parsing a
 * certificate (OpenSSL's decoders), and only issuers' keys are ever needed.
 */
export function loadKey(info: PublicKeyInfo): { key: KeyObject | null; error: string | null } {
  const id = Buffer.from(info.spkiDer.buffer, info.spkiDer.byteOffset, info.spkiDer.byteLength).toString(
    'base64',
  );
  let r = loaded.get(id);
  if (!r) {
    if (info.error) r = { key: null, error: info.error };
    else
      try {
        r = {
          key: importSpki(info.spkiDer),
          error: null,
        };
      } catch (e) {
        r = { key: null, error: `the public key cannot be loaded (${(e as Error).message})` };
      }
    loaded.set(id, r);
  }
  return r;
}

/** Forgets every loaded key (for measurements that must not share work between inputs). */
export function clearKeyCache(): void {
  loaded.clear();
}

function bitLength(intContent: Uint8Array): number {
  let i = 0;
  while (i < intContent.length - 1 && intContent[i] === 0) i++;
  const first = intContent[i] ?? 0;
  return (intContent.length - i - 1) * 8 + (first === 0 ? 0 : 32 - Math.clz32(first));
}

const CURVES: Readonly<Record<string, { name: string; bits: number }>> = {
  '1.2.840.10045.3.1.7': { name: 'P-256', bits: 256 },
  '1.3.132.0.34': { name: 'P-384', bits: 384 },
  '1.3.132.0.35': { name: 'P-521', bits: 521 },
  '1.2.840.10045.3.1.1': { name: 'P-192', bits: 192 },
  '1.3.132.0.33': { name: 'P-224', bits: 224 },
  '1.3.132.0.10': { name: 'secp256k1', bits: 256 },
  '1.3.36.3.3.2.8.1.1.7': { name: 'brainpoolP256r1', bits: 256 },
  '1.3.36.3.3.2.8.1.1.11': { name: 'brainpoolP384r1', bits: 384 },
  '1.3.36.3.3.2.8.1.1.13': { name: 'brainpoolP512r1', bits: 512 },
};

function typeOf(oid: string): KeyType {
  switch (oid) {
    case OID.rsaEncryption:
      return 'rsa';
    case OID.rsassaPss:
      return 'rsa-pss';
    case OID.ecPublicKey:
      return 'ec';
    case OID.ed25519:
      return 'ed25519';
    case OID.ed448:
      return 'ed448';
    case OID.mlDsa44:
      return 'ml-dsa-44';
    case OID.mlDsa65:
      return 'ml-dsa-65';
    case OID.mlDsa87:
      return 'ml-dsa-87';
    case OID.dsa:
      return 'dsa';
    case OID.x25519:
      return 'x25519';
    case OID.x448:
      return 'x448';
    default:
      return 'unknown';
  }
}

/** Decodes a SubjectPublicKeyInfo TLV. Never throws for key problems: they go to `error`. */
export function decodePublicKey(spki: Tlv): PublicKeyInfo {
  expectUniversal(spki, TAG.SEQUENCE, 'subjectPublicKeyInfo');
  const [algT, keyT, extra] = children(spki);
  if (!algT || !keyT || extra) throw new DerError('subjectPublicKeyInfo must have two elements');
  expectUniversal(keyT, TAG.BIT_STRING, 'subjectPublicKey');
  const [oidT, paramsT] = children(expectUniversal(algT, TAG.SEQUENCE, 'key algorithm'));
  const algorithmOid = decodeOid(content(expectUniversal(oidT, TAG.OID, 'key algorithm')));
  const type = typeOf(algorithmOid);
  const spkiDer = whole(spki);
  let curve: string | null = null;
  let explicitCurve = false;
  let bits: number | null = null;
  if (type === 'ec') {
    if (paramsT && paramsT.cls === 0 && paramsT.tag === TAG.OID) {
      const c = decodeOid(content(paramsT));
      curve = CURVES[c]?.name ?? c;
      bits = CURVES[c]?.bits ?? null;
    } else if (paramsT && paramsT.cls === 0 && paramsT.tag === TAG.SEQUENCE) {
      explicitCurve = true;
    }
  } else if (type === 'ed25519') bits = 255;
  else if (type === 'ed448') bits = 448;
  let error: string | null = null;
  try {
    const keyBits = decodeBitString(keyT);
    // Every key encoding here is whole octets (RFC 5280 §4.1.2.7 maps them into the BIT STRING):
    // unused bits would make another spelling of the same key, which OpenSSL would still load.
    if (keyBits.unusedBits !== 0)
      throw new DerError(`the subjectPublicKey BIT STRING has ${keyBits.unusedBits} unused bits`);
    if (type === 'x25519' || type === 'x448') error = `${type} keys cannot verify signatures`;
    else if (type === 'rsa' || type === 'rsa-pss') {
      const [n, e, extraInt] = children(
        expectUniversal(readSingle(keyBits.bytes), TAG.SEQUENCE, 'RSAPublicKey'),
      );
      if (!n || !e || extraInt) throw new DerError('RSAPublicKey must have two elements');
      const mod = content(expectUniversal(n, TAG.INTEGER, 'modulus'));
      expectUniversal(e, TAG.INTEGER, 'publicExponent');
      if ((mod[0]! & 0x80) !== 0) throw new DerError('negative RSA modulus');
      bits = bitLength(mod);
    } else if (type === 'ec') {
      const pt = keyBits.bytes;
      const fieldBytes = bits !== null ? Math.ceil(bits / 8) : null;
      if (
        pt[0] === 0x04
          ? fieldBytes !== null && pt.length !== 1 + 2 * fieldBytes
          : pt[0] === 0x02 || pt[0] === 0x03
            ? fieldBytes !== null && pt.length !== 1 + fieldBytes
            : true
      )
        if (!explicitCurve) throw new DerError('malformed EC point');
    } else if (type === 'dsa') {
      if (paramsT && paramsT.cls === 0 && paramsT.tag === TAG.SEQUENCE) {
        const [p] = children(paramsT);
        if (p) bits = bitLength(content(expectUniversal(p, TAG.INTEGER, 'DSA p')));
      }
    } else if (
      (type === 'ed25519' && keyBits.bytes.length !== 32) ||
      (type === 'ed448' && keyBits.bytes.length !== 57)
    ) {
      throw new DerError(`an ${type} key must be ${type === 'ed25519' ? 32 : 57} bytes`);
    } else if (type in ML_DSA_KEY_BYTES) {
      // RFC 9881 §2: the parameters MUST be absent; the key is the FIPS 204 encoding.
      if (paramsT) throw new DerError(`${type.toUpperCase()} key algorithm parameters must be absent`);
      if (keyBits.bytes.length !== ML_DSA_KEY_BYTES[type])
        throw new DerError(`an ${type.toUpperCase()} key must be ${ML_DSA_KEY_BYTES[type]} bytes`);
    }
  } catch (e) {
    error = `the public key is malformed (${(e as Error).message})`;
  }
  return { type, algorithmOid, bits, curve, explicitCurve, error, spkiDer };
}

/** Short description such as "RSA 2048", "EC P-256", "Ed25519". */
export function describeKey(k: PublicKeyInfo): string {
  switch (k.type) {
    case 'rsa':
    case 'rsa-pss':
      return `${k.type === 'rsa' ? 'RSA' : 'RSA-PSS'} ${k.bits ?? '?'}`;
    case 'dsa':
      return `DSA ${k.bits ?? '?'}`;
    case 'ec':
      return k.explicitCurve ? 'EC (explicit curve parameters)' : `EC ${k.curve ?? '?'}`;
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    case 'ml-dsa-44':
    case 'ml-dsa-65':
    case 'ml-dsa-87':
      return k.type.toUpperCase();
    default:
      return k.type === 'unknown' ? `unknown key algorithm ${k.algorithmOid}` : k.type;
  }
}

export { readTlv };
