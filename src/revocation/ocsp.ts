import { createHash } from 'node:crypto';
import type { BasicOCSPResponse, CertID, OCSPResponse } from '@peculiar/asn1-ocsp';
import { asn1Ocsp, asn1Schema, asn1X509 } from '../x509/asn1.js';
import { type Certificate, parseCertificate } from '../x509/certificate.js';
import { CRL_REASONS as REASONS } from '../x509/crlReason.js';
import {
  bytesEqual,
  checkDerStrict,
  children,
  DerError,
  decodeBitString,
  readSingle,
  whole,
} from '../x509/der.js';
import { namesEqual } from '../x509/name.js';
import { OID } from '../x509/oids.js';
import { decodeSignatureAlgorithm, verifySignature } from '../x509/signatureAlgorithm.js';

export type OcspStatus = 'good' | 'revoked' | 'unknown';

export interface OcspAnswer {
  readonly status: OcspStatus;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | null;
  readonly producedAt: Date;
  readonly revokedAt: Date | null;
  readonly reason: string | null;
  /** Who signed it: the issuer itself or a delegated responder (its subject). */
  readonly signer: string;
  /**
   * Why the answer is not current (stale, no nextUpdate and old, from the future). Only a
   * `revoked` answer is returned with one: the signer said the certificate is revoked, and
   * staleness cannot un-revoke (as for a CRL); any other answer that is not current is refused.
   */
  readonly caveat: string | null;
}

/**
 * How long an answer without nextUpdate counts as current. RFC 6960 §4.2.2.1: without
 * nextUpdate "newer revocation information is available all the time", so only a recent
 * thisUpdate makes it usable (§3.2 (5)); a day, as Firefox allows such answers.
 */
export const OCSP_NO_NEXT_UPDATE_MAX_AGE_SEC = 86_400;

/** Status severity when a response holds several answers for one certificate: the worst counts. */
const SEVERITY: Record<OcspStatus, number> = { good: 0, unknown: 1, revoked: 2 };

/** The response could not be used: responder errors (tryLater…) and verification failures. */
export class OcspError extends Error {
  override readonly name = 'OcspError';
}

const SHA1 = '1.3.14.3.2.26';
const STATUS_TEXT: Record<number, string> = {
  1: 'malformedRequest',
  2: 'internalError',
  3: 'tryLater',
  5: 'sigRequired',
  6: 'unauthorized',
};

/** The issuer's public key BIT STRING contents, as CertID's issuerKeyHash hashes them. */
function issuerKeyBytes(issuer: Certificate): Uint8Array {
  const [, keyT] = children(readSingle(issuer.publicKey.spkiDer));
  return decodeBitString(keyT!).bytes;
}

const SHA256 = '2.16.840.1.101.3.4.2.1';
const NONCE = '1.3.6.1.5.5.7.48.1.2';

export type CertIdHash = 'sha1' | 'sha256';

function certId(cert: Certificate, issuer: Certificate, hash: CertIdHash): CertID {
  const { CertID } = asn1Ocsp();
  const { OctetString } = asn1Schema();
  const { AlgorithmIdentifier } = asn1X509();
  const h = (b: Uint8Array) => new OctetString(createHash(hash).update(b).digest());
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: hash === 'sha1' ? SHA1 : SHA256, parameters: null }),
    issuerNameHash: h(cert.issuer.der),
    issuerKeyHash: h(issuerKeyBytes(issuer)),
    serialNumber: new Uint8Array(cert.serial).buffer,
  });
}

/**
 * An RFC 6960 request for one certificate, unsigned: CertID hashed with SHA-1 (what every
 * responder supports) or SHA-256, and optionally a nonce (RFC 8954: 1 to 32 octets).
 */
export function buildOcspRequest(
  cert: Certificate,
  issuer: Certificate,
  opts: { hash?: CertIdHash; nonce?: Uint8Array } = {},
): Uint8Array {
  const { OCSPRequest, Request, TBSRequest } = asn1Ocsp();
  const { AsnConvert, OctetString } = asn1Schema();
  const { Extension } = asn1X509();
  const tbsRequest = new TBSRequest({
    requestList: [new Request({ reqCert: certId(cert, issuer, opts.hash ?? 'sha1') })],
  });
  if (opts.nonce) {
    const value = new Uint8Array([0x04, opts.nonce.length, ...opts.nonce]);
    tbsRequest.requestExtensions = [
      new Extension({ extnID: NONCE, critical: false, extnValue: new OctetString(value) }),
    ];
  }
  return new Uint8Array(AsnConvert.serialize(new OCSPRequest({ tbsRequest })));
}

/** RFC 6960 Appendix A.1: GET for requests whose base64 fits in 255 bytes, POST otherwise. */
export function ocspGetUrl(base: string, request: Uint8Array): string | null {
  const b64 = Buffer.from(request).toString('base64');
  if (b64.length > 255) return null;
  return `${base.replace(/\/$/, '')}/${encodeURIComponent(b64)}`;
}

function sameCertId(a: CertID, cert: Certificate, issuer: Certificate): boolean {
  const hashName =
    a.hashAlgorithm.algorithm === SHA1
      ? 'sha1'
      : a.hashAlgorithm.algorithm === '2.16.840.1.101.3.4.2.1'
        ? 'sha256'
        : null;
  if (!hashName) return false;
  const h = (b: Uint8Array) => createHash(hashName).update(b).digest();
  return (
    bytesEqual(new Uint8Array(a.issuerNameHash.buffer), h(cert.issuer.der)) &&
    bytesEqual(new Uint8Array(a.issuerKeyHash.buffer), h(issuerKeyBytes(issuer))) &&
    bytesEqual(stripZero(new Uint8Array(a.serialNumber)), stripZero(cert.serial))
  );
}

function stripZero(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/**
 * Parses and verifies an OCSP response for `cert` (RFC 6960 §3.2): a successful basic
 * response, signed by the issuer or by a responder certificate the issuer signed that has
 * id-kp-OCSPSigning and is valid now, containing a SingleResponse for this CertID that is
 * current (thisUpdate not in the future, nextUpdate not past, `skewSec` allowed either way).
 */
export function verifyOcspResponse(
  der: Uint8Array,
  cert: Certificate,
  issuer: Certificate,
  nowSec: number,
  skewSec = 300,
  nonce?: Uint8Array,
): OcspAnswer {
  const { AsnConvert } = asn1Schema();
  const { BasicOCSPResponse, id_pkix_ocsp_basic, OCSPResponse, OCSPResponseStatus } = asn1Ocsp();
  let resp: OCSPResponse;
  try {
    // The schema decoder is BER-tolerant (it skips a wrong length or a long-form one): check the
    // DER framing of the wrapper ourselves, so only well-formed responses are read at all.
    checkDerStrict(readSingle(der), 0, 4);
    resp = AsnConvert.parse(der, OCSPResponse);
  } catch (e) {
    throw new OcspError(`the OCSP response is not valid DER (${(e as Error).message})`);
  }
  if (resp.responseStatus !== OCSPResponseStatus.successful)
    throw new OcspError(
      `the OCSP responder answered ${STATUS_TEXT[resp.responseStatus] ?? `status ${resp.responseStatus}`}`,
    );
  if (!resp.responseBytes || resp.responseBytes.responseType !== id_pkix_ocsp_basic)
    throw new OcspError('the OCSP response is not a basic response');
  const basicDer = new Uint8Array(resp.responseBytes.response.buffer);
  let basic: BasicOCSPResponse;
  let tbs: Uint8Array;
  let alg: ReturnType<typeof decodeSignatureAlgorithm>;
  try {
    const top = readSingle(basicDer);
    checkDerStrict(top, 0, 3);
    const [tbsT, algT, sigT] = children(top);
    if (!tbsT || !algT || !sigT)
      throw new DerError('BasicOCSPResponse lacks tbsResponseData, signatureAlgorithm or signature');
    // The signature is whole octets in a universal BIT STRING (the schema decoder would take [3] or unused bits).
    if (sigT.cls !== 0 || sigT.tag !== 3 || decodeBitString(sigT).unusedBits !== 0)
      throw new DerError('the signature is not a BIT STRING of whole octets');
    tbs = whole(tbsT);
    // Inside the try: a malformed AlgorithmIdentifier is a malformed response (OcspError), not a DerError.
    alg = decodeSignatureAlgorithm(algT);
    basic = AsnConvert.parse(basicDer, BasicOCSPResponse);
  } catch (e) {
    throw new OcspError(`the basic OCSP response is malformed (${(e as Error).message})`);
  }
  const signature = new Uint8Array(basic.signature);
  // Who signed: the issuer, or a delegated responder certificate included in the response.
  let signerText = `the issuer ${issuer.subject.text}`;
  let sigErr = verifySignature(alg, issuer.publicKey, tbs, signature);
  if (sigErr) {
    let delegatedError: string | null = null;
    for (const c of basic.certs ?? []) {
      let rc: Certificate;
      try {
        rc = parseCertificate(new Uint8Array(AsnConvert.serialize(c)));
      } catch {
        continue;
      }
      if (verifySignature(alg, rc.publicKey, tbs, signature) !== null) continue;
      // The responder certificate must be issued by the CA (RFC 6960 §4.2.2.2).
      if (
        !namesEqual(rc.issuer, issuer.subject) ||
        verifySignature(rc.signatureAlgorithm, issuer.publicKey, rc.tbs, rc.signature) !== null
      )
        delegatedError = `the response is signed by ${rc.subject.text}, which the issuer did not certify`;
      else if (!rc.ext.extKeyUsage?.includes(OID.ocspSigning))
        delegatedError = `the responder certificate ${rc.subject.text} lacks id-kp-OCSPSigning`;
      else if (nowSec < rc.notBefore.seconds || nowSec > rc.notAfter.seconds)
        delegatedError = `the responder certificate ${rc.subject.text} is not valid now`;
      else {
        sigErr = null;
        signerText = `the delegated responder ${rc.subject.text}`;
        break;
      }
    }
    if (sigErr)
      throw new OcspError(delegatedError ?? `the OCSP response signature does not verify (${sigErr})`);
  }
  const data = basic.tbsResponseData;
  if (nonce) {
    // RFC 8954: a responder may ignore the nonce (many do, to serve cached answers), but one it
    // echoes must be ours — anything else is a replayed or misdirected response.
    const echoed = data.responseExtensions?.find((e) => e.extnID === NONCE);
    if (echoed) {
      const v = new Uint8Array(echoed.extnValue.buffer);
      const got = v[0] === 0x04 ? v.subarray(2) : v;
      if (!bytesEqual(got, nonce))
        throw new OcspError('the OCSP response carries a different nonce (replayed?)');
    }
  }
  // RFC 6960 §4.4, RFC 5280 §4.2: an extension the response marks critical and certvet does not
  // know makes it unusable (the nonce, the only one it reads, is checked above).
  for (const e of data.responseExtensions ?? [])
    if (e.critical && e.extnID !== NONCE)
      throw new OcspError(`the OCSP response has an unrecognised critical extension ${e.extnID}`);
  const singles = data.responses.filter((r) => sameCertId(r.certID, cert, issuer));
  if (!singles.length)
    throw new OcspError('the OCSP response does not cover this certificate (no matching CertID)');
  for (const r of singles)
    for (const e of r.singleExtensions ?? [])
      if (e.critical)
        throw new OcspError(
          `the OCSP response's answer for this certificate has an unrecognised critical extension ${e.extnID}`,
        );
  // Several answers for the same certificate: the most severe counts (revoked, then unknown),
  // whatever their order — as for the entries of a CRL.
  const statusOf = (r: (typeof singles)[number]): OcspStatus =>
    r.certStatus.revoked ? 'revoked' : r.certStatus.unknown !== undefined ? 'unknown' : 'good';
  const single = singles.reduce((worst, r) =>
    SEVERITY[statusOf(r)] > SEVERITY[statusOf(worst)] ? r : worst,
  );
  const thisUpdate = single.thisUpdate;
  const nextUpdate = single.nextUpdate ?? null;
  let caveat: string | null = null;
  if (thisUpdate.getTime() / 1000 > nowSec + skewSec)
    caveat = `the OCSP response is from the future (thisUpdate ${thisUpdate.toISOString()})`;
  else if (nextUpdate && nextUpdate.getTime() / 1000 < nowSec - skewSec)
    caveat = `the OCSP response is stale (nextUpdate ${nextUpdate.toISOString()})`;
  else if (!nextUpdate && thisUpdate.getTime() / 1000 < nowSec - skewSec - OCSP_NO_NEXT_UPDATE_MAX_AGE_SEC)
    caveat = `the OCSP response has no nextUpdate and is more than a day old (thisUpdate ${thisUpdate.toISOString()})`;
  const st = single.certStatus;
  if (caveat && !st.revoked) throw new OcspError(caveat);
  const base = { thisUpdate, nextUpdate, producedAt: data.producedAt, signer: signerText, caveat };
  if (st.revoked) {
    const reason =
      st.revoked.revocationReason !== undefined
        ? (REASONS[Number(st.revoked.revocationReason.reason)] ?? 'unknown')
        : null;
    return { ...base, status: 'revoked', revokedAt: st.revoked.revocationTime, reason };
  }
  if (st.unknown !== undefined) return { ...base, status: 'unknown', revokedAt: null, reason: null };
  return { ...base, status: 'good', revokedAt: null, reason: null };
}
