import { constants, verify as cryptoVerify } from 'node:crypto';
import { Memo } from '../util/memo.js';
import {
  children,
  content,
  DerError,
  decodeOid,
  decodeSmallInteger,
  expectUniversal,
  isUniversal,
  latin1,
  TAG,
  type Tlv,
  whole,
} from './der.js';
import { OID } from './oids.js';
import { loadKey, type PublicKeyInfo } from './publicKey.js';

export type SignatureScheme =
  | 'rsa-pkcs1'
  | 'rsa-pss'
  | 'ecdsa'
  | 'dsa'
  | 'ed25519'
  | 'ed448'
  | 'ml-dsa-44'
  | 'ml-dsa-65'
  | 'ml-dsa-87'
  | 'unknown';
export type HashName = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

/** A decoded AlgorithmIdentifier for a signature. */
export interface SignatureAlgorithm {
  readonly oid: string;
  /** OpenSSL-style name, e.g. sha256WithRSAEncryption, ecdsa-with-SHA256, ED25519. */
  readonly name: string;
  readonly scheme: SignatureScheme;
  readonly hash: HashName | null;
  readonly pssSaltLength?: number;
  /** Why the parameters are unusable, or null. */
  readonly paramError: string | null;
}

interface AlgDef {
  name: string;
  scheme: SignatureScheme;
  hash: HashName | null;
}

const ALGS: Readonly<Record<string, AlgDef>> = {
  '1.2.840.113549.1.1.4': { name: 'md5WithRSAEncryption', scheme: 'rsa-pkcs1', hash: 'md5' },
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', scheme: 'rsa-pkcs1', hash: 'sha1' },
  '1.2.840.113549.1.1.14': { name: 'sha224WithRSAEncryption', scheme: 'rsa-pkcs1', hash: 'sha224' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', scheme: 'rsa-pkcs1', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', scheme: 'rsa-pkcs1', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', scheme: 'rsa-pkcs1', hash: 'sha512' },
  '1.2.840.113549.1.1.10': { name: 'rsassaPss', scheme: 'rsa-pss', hash: null },
  '1.2.840.10045.4.1': { name: 'ecdsa-with-SHA1', scheme: 'ecdsa', hash: 'sha1' },
  '1.2.840.10045.4.3.1': { name: 'ecdsa-with-SHA224', scheme: 'ecdsa', hash: 'sha224' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', scheme: 'ecdsa', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', scheme: 'ecdsa', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', scheme: 'ecdsa', hash: 'sha512' },
  '1.2.840.10040.4.3': { name: 'dsa-with-SHA1', scheme: 'dsa', hash: 'sha1' },
  '2.16.840.1.101.3.4.3.1': { name: 'dsa-with-SHA224', scheme: 'dsa', hash: 'sha224' },
  '2.16.840.1.101.3.4.3.2': { name: 'dsa-with-SHA256', scheme: 'dsa', hash: 'sha256' },
  '1.3.101.112': { name: 'ED25519', scheme: 'ed25519', hash: null },
  '1.3.101.113': { name: 'ED448', scheme: 'ed448', hash: null },
  // RFC 9881 §3: pure ML-DSA (empty context), no parameters.
  '2.16.840.1.101.3.4.3.17': { name: 'ML-DSA-44', scheme: 'ml-dsa-44', hash: null },
  '2.16.840.1.101.3.4.3.18': { name: 'ML-DSA-65', scheme: 'ml-dsa-65', hash: null },
  '2.16.840.1.101.3.4.3.19': { name: 'ML-DSA-87', scheme: 'ml-dsa-87', hash: null },
};

const HASHES: Readonly<Record<string, HashName>> = {
  '1.2.840.113549.2.5': 'md5',
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

function hashOfAlgId(t: Tlv): HashName {
  const [oidT, params] = children(expectUniversal(t, TAG.SEQUENCE, 'hash AlgorithmIdentifier'));
  const oid = decodeOid(content(expectUniversal(oidT, TAG.OID, 'hash algorithm')));
  const h = HASHES[oid];
  if (!h) throw new DerError(`unsupported hash algorithm ${oid}`);
  if (params && !isUniversal(params, TAG.NULL))
    throw new DerError('hash algorithm parameters must be NULL or absent');
  return h;
}

function decodePss(params: Tlv | undefined): { hash: HashName; saltLength: number } {
  if (!params) throw new DerError('RSASSA-PSS without parameters');
  let hash: HashName = 'sha1';
  let mgfHash: HashName = 'sha1';
  let saltLength = 20;
  for (const f of children(expectUniversal(params, TAG.SEQUENCE, 'RSASSA-PSS-params'))) {
    if (f.cls !== 2 || !f.constructed) throw new DerError('RSASSA-PSS-params: unexpected element');
    const [inner] = children(f);
    if (!inner) throw new DerError('RSASSA-PSS-params: empty field');
    if (f.tag === 0) hash = hashOfAlgId(inner);
    else if (f.tag === 1) {
      const [mgfOid, mgfParams] = children(expectUniversal(inner, TAG.SEQUENCE, 'maskGenAlgorithm'));
      if (decodeOid(content(expectUniversal(mgfOid, TAG.OID, 'mask generation'))) !== OID.mgf1)
        throw new DerError('RSASSA-PSS: only MGF1 is supported');
      if (!mgfParams) throw new DerError('MGF1 without a hash');
      mgfHash = hashOfAlgId(mgfParams);
    } else if (f.tag === 2)
      saltLength = decodeSmallInteger(expectUniversal(inner, TAG.INTEGER, 'saltLength'));
    else if (f.tag === 3) {
      if (decodeSmallInteger(expectUniversal(inner, TAG.INTEGER, 'trailerField')) !== 1)
        throw new DerError('RSASSA-PSS trailerField must be 1');
    } else throw new DerError('RSASSA-PSS-params: unexpected element');
  }
  if (mgfHash !== hash)
    throw new DerError(`RSASSA-PSS with MGF1 hash ${mgfHash} different from the message hash ${hash}`);
  return { hash, saltLength };
}

/**
 * Decoded AlgorithmIdentifiers by their exact DER bytes: a handful of encodings cover nearly
 * every certificate, and the result depends on nothing but the bytes (errors are not kept).
 */
const decodedAlgorithms = new Memo<SignatureAlgorithm>(256);

/** Decodes a signature AlgorithmIdentifier; structural errors throw, parameter errors are recorded. */
export function decodeSignatureAlgorithm(t: Tlv): SignatureAlgorithm {
  const id = latin1(whole(t));
  let alg = decodedAlgorithms.get(id);
  if (alg === undefined) {
    alg = decodeAlgorithm(t);
    decodedAlgorithms.set(id, alg);
  }
  return alg;
}

/** Forgets every memoised AlgorithmIdentifier (for measurements that must not share work). */
export function clearAlgorithmCache(): void {
  decodedAlgorithms.clear();
}

function decodeAlgorithm(t: Tlv): SignatureAlgorithm {
  const [oidT, params, extra] = children(expectUniversal(t, TAG.SEQUENCE, 'AlgorithmIdentifier'));
  if (extra) throw new DerError('AlgorithmIdentifier has more than two elements');
  const oid = decodeOid(content(expectUniversal(oidT, TAG.OID, 'signature algorithm')));
  const def = ALGS[oid];
  if (!def) return { oid, name: oid, scheme: 'unknown', hash: null, paramError: null };
  let paramError: string | null = null;
  let hash = def.hash;
  let pssSaltLength: number | undefined;
  try {
    if (def.scheme === 'rsa-pkcs1') {
      if (params && !isUniversal(params, TAG.NULL)) throw new DerError(`${def.name} parameters must be NULL`);
    } else if (def.scheme === 'rsa-pss') {
      const p = decodePss(params);
      hash = p.hash;
      pssSaltLength = p.saltLength;
    } else if (params) {
      throw new DerError(`${def.name} must not have parameters`);
    }
  } catch (e) {
    paramError = (e as Error).message;
  }
  const name = def.scheme === 'rsa-pss' && hash ? `rsassaPss(${hash})` : def.name;
  return {
    oid,
    name,
    scheme: def.scheme,
    hash,
    paramError,
    ...(pssSaltLength !== undefined ? { pssSaltLength } : {}),
  };
}

const SCHEME_KEYS: Readonly<Record<SignatureScheme, readonly string[]>> = {
  'rsa-pkcs1': ['rsa'],
  'rsa-pss': ['rsa', 'rsa-pss'],
  ecdsa: ['ec'],
  dsa: ['dsa'],
  ed25519: ['ed25519'],
  ed448: ['ed448'],
  'ml-dsa-44': ['ml-dsa-44'],
  'ml-dsa-65': ['ml-dsa-65'],
  'ml-dsa-87': ['ml-dsa-87'],
  unknown: [],
};

/** Whether the OpenSSL under node:crypto is 3.5 or later, the first with ML-DSA. */
const OPENSSL_HAS_ML_DSA = ((): boolean => {
  const [major = 0, minor = 0] = (process.versions.openssl ?? '')
    .split('.')
    .map((x) => Number.parseInt(x, 10));
  return major > 3 || (major === 3 && minor >= 5);
})();

/**
 * Whether this runtime's node:crypto can check signatures of `alg` at all: false only for
 * ML-DSA on a Node built with OpenSSL before 3.5 (its signatures then fail as unverifiable,
 * never pass). For harnesses that must tell "cannot check here" from "does not verify".
 */
export function runtimeCanVerify(alg: SignatureAlgorithm): boolean {
  return !alg.scheme.startsWith('ml-dsa') || OPENSSL_HAS_ML_DSA;
}

/** Verifies `signature` over `data` with node:crypto. Returns null when valid, else the reason. */
export function verifySignature(
  alg: SignatureAlgorithm,
  key: PublicKeyInfo,
  data: Uint8Array,
  signature: Uint8Array,
): string | null {
  if (alg.scheme === 'unknown') return `unsupported signature algorithm ${alg.oid}`;
  if (alg.paramError) return alg.paramError;
  if (!SCHEME_KEYS[alg.scheme].includes(key.type))
    return `${alg.name} signatures cannot be made with the issuer's ${key.type} key`;
  const loadedKey = loadKey(key);
  if (!loadedKey.key) {
    const why = loadedKey.error ?? 'issuer public key unusable';
    // ML-DSA came to node:crypto with OpenSSL 3.5 (Node 24, later Node 22 releases): a Node
    // built with an older OpenSSL cannot check it at all.
    return alg.scheme.startsWith('ml-dsa') && !key.error && !OPENSSL_HAS_ML_DSA
      ? `${alg.name} signatures cannot be verified with Node.js ${process.version} (OpenSSL ${process.versions.openssl}; ML-DSA needs OpenSSL 3.5 or later): ${why}`
      : why;
  }
  const k = loadedKey.key;
  try {
    let ok: boolean;
    if (alg.scheme === 'rsa-pss') {
      ok = cryptoVerify(
        alg.hash,
        data,
        { key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: alg.pssSaltLength ?? 20 },
        signature,
      );
    } else if (alg.scheme === 'ecdsa' || alg.scheme === 'dsa') {
      ok = cryptoVerify(alg.hash, data, { key: k, dsaEncoding: 'der' }, signature);
    } else if (alg.scheme === 'rsa-pkcs1') {
      ok = cryptoVerify(alg.hash, data, { key: k, padding: constants.RSA_PKCS1_PADDING }, signature);
    } else {
      ok = cryptoVerify(null, data, k, signature);
    }
    return ok ? null : 'the signature does not verify with the issuer public key';
  } catch (e) {
    return `the signature cannot be verified (${(e as Error).message})`;
  }
}
