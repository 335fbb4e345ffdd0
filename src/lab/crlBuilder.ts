import { createPrivateKey, type KeyObject, sign, webcrypto } from 'node:crypto';
import { generalizedTime, integer, OIDS, seq, tlv, x509Time } from './derWriter.js';
import type { IssuedCert } from './pki.js';

/*
 * A fast CRL builder for the lab and tests: DER written directly and signed with node:crypto,
 * so a CRL with hundreds of thousands of entries takes well under a second.
 */

const OID_CRL_NUMBER = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x14]);
const OID_CRL_REASON = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x15]);

export interface CrlEntry {
  /** Serial number as hex. */
  readonly serial: string;
  readonly revokedAt: Date;
  /** CRLReason code (RFC 5280 §5.3.1), e.g. 1 keyCompromise. */
  readonly reason?: number;
  /** Encode `serial` exactly as given (for tests of non-DER serials), not minimally. */
  readonly rawSerial?: boolean;
}

/** The CA that signs: a lab certificate, or a certificate's subject name and a private key from files. */
export type CrlIssuer = IssuedCert | { readonly subjectDer: Uint8Array; readonly privateKey: KeyObject };

export interface CrlSpec {
  readonly issuer: CrlIssuer;
  readonly entries: readonly CrlEntry[];
  readonly thisUpdate?: Date;
  readonly nextUpdate?: Date | null;
  /** Encode thisUpdate and nextUpdate as GeneralizedTime whatever the year (RFC 5280 wants UTCTime through 2049). */
  readonly generalizedTimes?: boolean;
  /** cRLNumber; null omits the extension. */
  readonly number?: number | null;
  /** Make this a delta CRL updating the base CRL with this number. */
  readonly deltaOf?: number;
  /** freshestCRL: where the delta CRLs are. */
  readonly freshestUrl?: string;
}

export async function buildCrl(spec: CrlSpec): Promise<Uint8Array> {
  const iss = spec.issuer;
  const key =
    'privateKey' in iss
      ? iss.privateKey
      : createPrivateKey({
          key: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', iss.key.pair.privateKey)),
          format: 'der',
          type: 'pkcs8',
        });
  const isRsa = key.asymmetricKeyType === 'rsa';
  const alg = isRsa ? OIDS.sha256Rsa : OIDS.ecdsaSha256;
  const issuerName = Buffer.from('privateKey' in iss ? iss.subjectDer : iss.parsed.subject.der);
  const entries = spec.entries.map((e) =>
    seq(
      e.rawSerial ? tlv(0x02, Buffer.from(e.serial, 'hex')) : integer(e.serial),
      x509Time(e.revokedAt),
      ...(e.reason !== undefined
        ? [seq(seq(OID_CRL_REASON, tlv(0x04, tlv(0x0a, Buffer.from([e.reason])))))]
        : []),
    ),
  );
  const exts = [
    ...(spec.number === null
      ? []
      : [seq(OID_CRL_NUMBER, tlv(0x04, integer((spec.number ?? 1).toString(16))))]),
    ...(spec.deltaOf !== undefined
      ? [
          seq(
            Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x1b]),
            Buffer.from([0x01, 0x01, 0xff]),
            tlv(0x04, integer(spec.deltaOf.toString(16))),
          ),
        ]
      : []),
    ...(spec.freshestUrl
      ? [
          seq(
            Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x2e]),
            tlv(0x04, seq(seq(tlv(0xa0, tlv(0xa0, tlv(0x86, Buffer.from(spec.freshestUrl))))))),
          ),
        ]
      : []),
  ];
  const time = spec.generalizedTimes ? generalizedTime : x509Time;
  const tbs = seq(
    tlv(0x02, Buffer.from([1])),
    alg,
    issuerName,
    time(spec.thisUpdate ?? new Date(Date.now() - 3600_000)),
    ...(spec.nextUpdate === null ? [] : [time(spec.nextUpdate ?? new Date(Date.now() + 7 * 86400_000))]),
    ...(entries.length ? [seq(...entries)] : []),
    ...(exts.length ? [tlv(0xa0, seq(...exts))] : []),
  );
  const sig = sign('sha256', tbs, isRsa ? key : { key, dsaEncoding: 'der' });
  return new Uint8Array(seq(tbs, alg, tlv(0x03, Buffer.concat([Buffer.from([0]), sig]))));
}
