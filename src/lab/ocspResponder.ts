import { createHash, createPrivateKey, sign, webcrypto } from 'node:crypto';
import { children, content, readSingle, whole } from '../x509/der.js';
import { generalizedTime, OIDS, seq, tlv } from './derWriter.js';
import type { IssuedCert } from './pki.js';

export type LabOcspStatus = 'good' | 'revoked' | 'unknown';

export interface OcspRespondOptions {
  /** Signs the response (the issuing CA, or a delegated responder). */
  readonly signer: IssuedCert;
  /** Status by serial (upper-case hex, as certvet prints it). */
  readonly statusOf: (serialHex: string) => LabOcspStatus;
  readonly now?: Date;
  /** Seconds of validity (nextUpdate); negative makes a stale response. */
  readonly validitySec?: number;
  /** Include the signer's certificate (needed for delegated responders). */
  readonly includeSigner?: boolean;
  /** Echo this nonce instead of the request's (to test replay detection). */
  readonly nonceOverride?: Uint8Array;
  /** Leave nextUpdate out ("newer information is always available", RFC 6960 §4.2.2.1). */
  readonly omitNextUpdate?: boolean;
  /** thisUpdate, instead of a minute before `now` (or before nextUpdate). */
  readonly thisUpdate?: Date;
  /** A second answer for every CertID, after the first, with this status. */
  readonly secondAnswer?: LabOcspStatus;
  /** Add an extension no one knows, marked critical, to the response or to every answer. */
  readonly criticalExtension?: 'response' | 'single';
}

/** An extension OID under an unassigned private arc: no verifier knows it. */
const UNKNOWN_EXT = seq(
  tlv(0x06, Buffer.from([0x2b, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8d, 0x1f, 0x01])),
  Buffer.from([0x01, 0x01, 0xff]),
  tlv(0x04, Buffer.from([0x05, 0x00])),
);

/**
 * The OCSP request an HTTP request carries (RFC 6960 Appendix A.1): the body of a POST, or the
 * URL-encoded base64 after the last "/" of a GET (base64's own "/" is encoded as %2F there).
 */
export function ocspRequestOf(method: string | undefined, url: string, body: Buffer): Buffer {
  if (method === 'POST') return body;
  return Buffer.from(decodeURIComponent(url.slice(url.lastIndexOf('/') + 1)), 'base64');
}

const NONCE_OID = Buffer.from([0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02]);
const ID_PKIX_OCSP_BASIC = Buffer.from([0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01]);

/**
 * The lab's OCSP responder (RFC 6960): answers every CertID of a request, signed by `signer`.
 * It can also produce what real responders should not (stale answers, wrong signers), which is
 * what tests of certvet's verification need.
 */
export async function ocspRespond(requestDer: Uint8Array, o: OcspRespondOptions): Promise<Uint8Array> {
  const now = o.now ?? new Date();
  // OCSPRequest { TBSRequest { [0] version?, [1] requestorName?, requestList SEQUENCE OF Request { CertID, ... } } }
  const tbs = children(readSingle(requestDer))[0]!;
  const list = children(tbs).find((t) => t.cls === 0 && t.tag === 16)!;
  const singles: Buffer[] = [];
  for (const req of children(list)) {
    const certIdT = children(req)[0]!;
    const serialHex = Buffer.from(content(children(certIdT)[3]!))
      .toString('hex')
      .toUpperCase();
    const certStatusOf = (status: LabOcspStatus) =>
      status === 'good'
        ? Buffer.from([0x80, 0x00])
        : status === 'unknown'
          ? Buffer.from([0x82, 0x00])
          : tlv(
              0xa1,
              Buffer.concat([
                generalizedTime(new Date(now.getTime() - 86400_000)),
                tlv(0xa0, Buffer.from([0x0a, 0x01, 0x01])),
              ]),
            );
    const next = new Date(now.getTime() + (o.validitySec ?? 3600) * 1000);
    const thisUpdate = o.thisUpdate ?? new Date(Math.min(now.getTime() - 60_000, next.getTime() - 60_000));
    const answer = (status: LabOcspStatus) =>
      seq(
        Buffer.from(whole(certIdT)),
        certStatusOf(status),
        generalizedTime(thisUpdate),
        ...(o.omitNextUpdate ? [] : [tlv(0xa0, generalizedTime(next))]),
        ...(o.criticalExtension === 'single' ? [tlv(0xa1, seq(UNKNOWN_EXT))] : []),
      );
    singles.push(answer(o.statusOf(serialHex)));
    if (o.secondAnswer) singles.push(answer(o.secondAnswer));
  }
  const keyHash = createHash('sha1').update(issuerKeyBits(o.signer)).digest();
  // RFC 8954: echo the request's nonce extension, if any.
  const reqExts = children(tbs).find((t) => t.cls === 2 && t.tag === 2);
  let nonceExt: Buffer | null = null;
  for (const ext of reqExts ? children(children(reqExts)[0]!) : []) {
    const [oidT, valT] = children(ext);
    if (Buffer.from(content(oidT!)).equals(NONCE_OID)) nonceExt = Buffer.from(whole(ext));
    void valT;
  }
  if (o.nonceOverride)
    nonceExt = seq(tlv(0x06, NONCE_OID), tlv(0x04, tlv(0x04, Buffer.from(o.nonceOverride))));
  const responseData = seq(
    tlv(0xa2, tlv(0x04, keyHash)),
    generalizedTime(now),
    seq(...singles),
    ...(nonceExt || o.criticalExtension === 'response'
      ? [
          tlv(
            0xa1,
            seq(
              ...(nonceExt ? [nonceExt] : []),
              ...(o.criticalExtension === 'response' ? [UNKNOWN_EXT] : []),
            ),
          ),
        ]
      : []),
  );
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', o.signer.key.pair.privateKey);
  const key = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  const isRsa = key.asymmetricKeyType === 'rsa';
  const sig = sign('sha256', responseData, isRsa ? key : { key, dsaEncoding: 'der' });
  const basic = seq(
    responseData,
    isRsa ? OIDS.sha256Rsa : OIDS.ecdsaSha256,
    tlv(0x03, Buffer.concat([Buffer.from([0]), sig])),
    ...(o.includeSigner ? [tlv(0xa0, seq(Buffer.from(o.signer.der)))] : []),
  );
  return new Uint8Array(
    seq(tlv(0x0a, Buffer.from([0])), tlv(0xa0, seq(ID_PKIX_OCSP_BASIC, tlv(0x04, basic)))),
  );
}

function issuerKeyBits(c: IssuedCert): Uint8Array {
  const [, keyT] = children(readSingle(c.parsed.publicKey.spkiDer));
  return content(keyT!).subarray(1);
}
