/**
 * Public key import from a SubjectPublicKeyInfo, with a cheaper route for the common shapes.
 *
 * Why our own: OpenSSL 3.0's SPKI decoder (what createPublicKey({ format: 'der', type: 'spki' })
 * runs) costs about 100 µs for an RSA key and 180 µs for a P-256 key on the development
 * machine — more than verifying a signature with the key. Importing the same key material as
 * a JWK skips the decoder framework: about 4 µs for RSA and 85 µs for EC (which includes
 * OpenSSL's full public key check). Every signature certvet checks needs its issuer's key, so
 * this is most of the cost of verifying a chain whose CAs it has not seen before.
 *
 * The JWK route is taken only for canonical encodings whose key material is unambiguous:
 * rsaEncryption with NULL parameters and an RSAPublicKey of two minimal, positive INTEGERs
 * (odd modulus of 512 to 16,384 bits, odd exponent ≥ 3 of at most 8 bytes), and
 * id-ecPublicKey on P-256, P-384 or P-521 with an uncompressed point. The key is the same
 * (n, e) or (curve, x, y) either way, so a signature verifies under one exactly when it does
 * under the other. The JWK import rejects the points the SPKI decoder rejects (off the curve,
 * coordinates not below p); when it rejects anything, or the shape is any other, the SPKI
 * decoder decides, so what is refused and the message saying why stay OpenSSL's.
 * test/key-import.test.ts compares the two routes.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { bytesEqual, children, decodeBitString, decodeOid, readSingle, TAG, type Tlv } from './der.js';
import { OID } from './oids.js';

const EC_CURVES: Readonly<Record<string, { readonly crv: string; readonly bytes: number }>> = {
  '1.2.840.10045.3.1.7': { crv: 'P-256', bytes: 32 },
  '1.3.132.0.34': { crv: 'P-384', bytes: 48 },
  '1.3.132.0.35': { crv: 'P-521', bytes: 66 },
};

const NULL_PARAMS = new Uint8Array([0x05, 0x00]);

function universal(t: Tlv | undefined, tag: number): t is Tlv {
  return t !== undefined && t.cls === 0 && t.tag === tag;
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

/** A positive, minimally encoded INTEGER's magnitude (no sign byte), or null. */
function magnitude(t: Tlv | undefined): Uint8Array | null {
  if (!universal(t, TAG.INTEGER) || t.constructed) return null;
  const c = t.buf.subarray(t.contentStart, t.end);
  if (c.length === 0 || (c[0]! & 0x80) !== 0) return null;
  if (c[0] === 0) return c.length > 1 && (c[1]! & 0x80) !== 0 ? c.subarray(1) : null;
  return c;
}

/** The key as a JWK when the SPKI has one of the canonical shapes above, else null. */
export function canonicalJwk(spkiDer: Uint8Array): JsonWebKey | null {
  try {
    const spki = readSingle(spkiDer);
    if (!universal(spki, TAG.SEQUENCE)) return null;
    const [alg, key, extra] = children(spki);
    if (extra || !universal(alg, TAG.SEQUENCE) || !universal(key, TAG.BIT_STRING) || key.constructed)
      return null;
    const [oidT, params, more] = children(alg);
    if (more || !universal(oidT, TAG.OID) || !params) return null;
    const algOid = decodeOid(oidT.buf.subarray(oidT.contentStart, oidT.end));
    const bits = decodeBitString(key);
    if (bits.unusedBits !== 0) return null;
    if (algOid === OID.rsaEncryption) {
      if (!bytesEqual(params.buf.subarray(params.start, params.end), NULL_PARAMS)) return null;
      const rsa = readSingle(bits.bytes);
      if (!universal(rsa, TAG.SEQUENCE)) return null;
      const [nT, eT, tail] = children(rsa);
      const n = magnitude(nT);
      const e = magnitude(eT);
      if (tail || !n || !e) return null;
      const nBits = n.length * 8 - Math.clz32(n[0]!) + 24;
      if (nBits < 512 || nBits > 16384 || (n[n.length - 1]! & 1) === 0) return null;
      if (e.length > 8 || (e[e.length - 1]! & 1) === 0 || (e.length === 1 && e[0]! < 3)) return null;
      return { kty: 'RSA', n: b64url(n), e: b64url(e) };
    }
    if (algOid === OID.ecPublicKey) {
      if (!universal(params, TAG.OID) || params.constructed) return null;
      const curve = EC_CURVES[decodeOid(params.buf.subarray(params.contentStart, params.end))];
      const pt = bits.bytes;
      if (!curve || pt.length !== 1 + 2 * curve.bytes || pt[0] !== 0x04) return null;
      return {
        kty: 'EC',
        crv: curve.crv,
        x: b64url(pt.subarray(1, 1 + curve.bytes)),
        y: b64url(pt.subarray(1 + curve.bytes)),
      };
    }
    return null;
  } catch {
    return null;
  }
}

/** createPublicKey over the SPKI, by way of a JWK when the encoding allows (see above). */
export function importSpki(spkiDer: Uint8Array): KeyObject {
  const jwk = canonicalJwk(spkiDer);
  if (jwk)
    try {
      return createPublicKey({ key: jwk, format: 'jwk' });
    } catch {
      // Rejected: the SPKI decoder gives the verdict and its message below.
    }
  return createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
}
