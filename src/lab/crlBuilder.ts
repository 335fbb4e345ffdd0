import { createPrivateKey, sign, webcrypto } from 'node:crypto';
import type { IssuedCert } from './pki.js';

/**
 * A fast CRL builder for the lab and tests: DER written directly and signed with node:crypto,
 * so a CRL with hundreds of thousands of entries takes well under a second.
 */
function tlv(tag: number, content: Uint8Array | Buffer): Buffer {
  const len = content.length;
  let head: number[];
  if (len < 0x80) head = [tag, len];
  else if (len < 0x100) head = [tag, 0x81, len];
  else if (len < 0x10000) head = [tag, 0x82, len >> 8, len & 0xff];
  else if (len < 0x1000000) head = [tag, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff];
  else head = [tag, 0x84, len >>> 24, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff];
  return Buffer.concat([Buffer.from(head), content]);
}

const seq = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts));

function integer(hex: string): Buffer {
  let b = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  if ((b[0]! & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const y = d.getUTCFullYear();
  if (y >= 2050) {
    return tlv(
      0x18,
      Buffer.from(
        `${y}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`,
      ),
    );
  }
  return tlv(
    0x17,
    Buffer.from(
      `${p(y % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`,
    ),
  );
}

const OID_CRL_NUMBER = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x14]);
const OID_CRL_REASON = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x15]);
const ECDSA_SHA256 = seq(Buffer.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]));
const SHA256_RSA = seq(
  Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]),
  Buffer.from([0x05, 0x00]),
);

export interface CrlEntry {
  /** Serial number as hex. */
  readonly serial: string;
  readonly revokedAt: Date;
  /** CRLReason code (RFC 5280 §5.3.1), e.g. 1 keyCompromise. */
  readonly reason?: number;
}

export interface CrlSpec {
  readonly issuer: IssuedCert;
  readonly entries: readonly CrlEntry[];
  readonly thisUpdate?: Date;
  readonly nextUpdate?: Date | null;
  /** cRLNumber; null omits the extension. */
  readonly number?: number | null;
}

export async function buildCrl(spec: CrlSpec): Promise<Uint8Array> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', spec.issuer.key.pair.privateKey);
  const key = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  const isRsa = key.asymmetricKeyType === 'rsa';
  const alg = isRsa ? SHA256_RSA : ECDSA_SHA256;
  const issuerName = Buffer.from(spec.issuer.cert.subjectName.toArrayBuffer());
  const entries = spec.entries.map((e) =>
    seq(
      integer(e.serial),
      utcTime(e.revokedAt),
      ...(e.reason !== undefined
        ? [seq(seq(OID_CRL_REASON, tlv(0x04, tlv(0x0a, Buffer.from([e.reason])))))]
        : []),
    ),
  );
  const exts =
    spec.number === null ? [] : [seq(OID_CRL_NUMBER, tlv(0x04, integer((spec.number ?? 1).toString(16))))];
  const tbs = seq(
    tlv(0x02, Buffer.from([1])),
    alg,
    issuerName,
    utcTime(spec.thisUpdate ?? new Date(Date.now() - 3600_000)),
    ...(spec.nextUpdate === null ? [] : [utcTime(spec.nextUpdate ?? new Date(Date.now() + 7 * 86400_000))]),
    ...(entries.length ? [seq(...entries)] : []),
    ...(exts.length ? [tlv(0xa0, seq(...exts))] : []),
  );
  const sig = sign('sha256', tbs, isRsa ? key : { key, dsaEncoding: 'der' });
  return new Uint8Array(seq(tbs, alg, tlv(0x03, Buffer.concat([Buffer.from([0]), sig]))));
}
