/**
 * The CRL model (RFC 5280 §5): strict DER parsing of a CertificateList into what revocation
 * checking needs, with a compact index of the revoked serials. Judging a certificate against
 * CRLs is verify/crl.ts.
 */
import type { IssuingDistributionPoint } from '@peculiar/asn1-x509';
import { asn1Schema, asn1X509 } from './asn1.js';
import { CRL_REASONS as REASONS } from './crlReason.js';
import {
  bytesEqual,
  checkDerStrict,
  children,
  content,
  DerError,
  decodeBitString,
  decodeBoolean,
  decodeOid,
  decodeSmallInteger,
  expectUniversal,
  latin1,
  readSingle,
  readTlv,
  TAG,
  type Tlv,
  toHex,
  whole,
} from './der.js';
import { type DistinguishedName, decodeName } from './name.js';
import { OID } from './oids.js';
import { decodeSignatureAlgorithm, type SignatureAlgorithm } from './signatureAlgorithm.js';
import { decodeTime, type X509Time } from './time.js';

export interface RevokedEntry {
  readonly revocationDate: X509Time;
  readonly reason: string | null;
}

/** A parsed CRL (RFC 5280 §5). */
export interface Crl {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly signature: Uint8Array;
  readonly issuer: DistinguishedName;
  readonly thisUpdate: X509Time;
  readonly nextUpdate: X509Time | null;
  readonly crlNumber: string | null;
  /** Serial (upper-case hex) → entry; a compact index, decoded per look-up. */
  readonly revoked: { get(serialHex: string): RevokedEntry | undefined; readonly size: number };
  readonly isDelta: boolean;
  /** For a delta CRL: the BaseCRLNumber it updates (RFC 5280 §5.2.4). */
  readonly baseCrlNumber: string | null;
  /** Where the delta CRLs for this (base) CRL are (freshestCRL, RFC 5280 §5.2.6). */
  readonly deltaUrls: readonly string[];
  readonly onlyUserCerts: boolean;
  readonly onlyCaCerts: boolean;
  readonly indirect: boolean;
  readonly onlySomeReasons: boolean;
  readonly onlyAttributeCerts: boolean;
  /**
   * A partitioned CRL (RFC 5280 §5.2.5): the URIs its issuingDistributionPoint names, of which
   * a certificate's cRLDistributionPoints must name one for the CRL to cover it; null when the
   * IDP names no distribution point (the CRL covers the issuer's whole scope).
   */
  readonly distributionPointUris: readonly string[] | null;
  /** Why the IDP's distribution point name cannot be matched (a relative name, non-URI names), or null. */
  readonly distributionPointUnmatchable: string | null;
  /** Problems that make this CRL unusable (RFC 5280 §5.2 profile violations, unknown critical extensions). */
  readonly defects: readonly string[];
  /** Where it came from (a file name, a URL), for messages; null when the caller gave none. */
  readonly source: string | null;
}

/**
 * One Extension (RFC 5280 §4.1): SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
 * extnValue OCTET STRING }, shape-checked before any field is read.
 */
function extensionParts(ext: Tlv, what: string): { oid: string; critical: boolean; value: Uint8Array } {
  const parts = children(expectUniversal(ext, TAG.SEQUENCE, what));
  if (parts.length < 2 || parts.length > 3) throw new DerError(`${what} must have two or three fields`);
  const oid = decodeOid(content(expectUniversal(parts[0]!, TAG.OID, `${what} extnID`)));
  const critical = parts.length === 3 && decodeBoolean(parts[1]!);
  const value = content(expectUniversal(parts[parts.length - 1]!, TAG.OCTET_STRING, `${what} extnValue`));
  return { oid, critical, value };
}

function entryExtensionDefects(extsT: Tlv): string[] {
  const out: string[] = [];
  for (const ext of children(expectUniversal(extsT, TAG.SEQUENCE, 'crlEntryExtensions'))) {
    const { oid, critical } = extensionParts(ext, 'CRL entry extension');
    if (oid === OID.certificateIssuer)
      out.push('uses certificateIssuer entry extensions (indirect CRLs are not supported)');
    else if (critical && oid !== OID.crlReason && oid !== OID.invalidityDate)
      out.push(`has an unknown critical entry extension ${oid}`);
  }
  return out;
}

/**
 * The revoked list of a CRL as serial → offset of its entry in the DER: one small number per
 * entry (a CRL of 100,000 entries costs a few MB), decoded only when a serial is looked up.
 */
class RevokedIndex {
  private readonly offsets = new Map<string, number>();
  /** Further entries for a serial listed more than once (a malformed CRL): all are kept. */
  private readonly repeats = new Map<string, number[]>();
  constructor(private readonly der: Uint8Array) {}

  add(serialHex: string, entryStart: number): void {
    if (!this.offsets.has(serialHex)) this.offsets.set(serialHex, entryStart);
    else {
      const more = this.repeats.get(serialHex);
      if (more) more.push(entryStart);
      else this.repeats.set(serialHex, [entryStart]);
    }
  }

  has(serialHex: string): boolean {
    return this.offsets.has(serialHex);
  }

  get size(): number {
    return this.offsets.size;
  }

  /**
   * The entry for a serial; of several (a malformed CRL), the most severe, so that a later
   * certificateHold or removeFromCRL can never stand in for a revocation listed beside it.
   */
  get(serialHex: string): RevokedEntry | undefined {
    const at = this.offsets.get(serialHex);
    if (at === undefined) return undefined;
    const first = this.entryAt(at);
    const more = this.repeats.get(serialHex);
    if (!more) return first;
    return [first, ...more.map((o) => this.entryAt(o))].reduce((a, b) => (severity(b) > severity(a) ? b : a));
  }

  private entryAt(at: number): RevokedEntry {
    const entry = readTlv(this.der, at);
    const [, dateT, extsT] = children(entry);
    let reason: string | null = null;
    for (const ext of extsT ? children(extsT) : []) {
      const { oid, value } = extensionParts(ext, 'CRL entry extension');
      if (oid === OID.crlReason) reason = REASONS[content(readSingle(value))[0] ?? 0] ?? 'unknown';
    }
    return { revocationDate: decodeTime(dateT!), reason };
  }
}

/** How much an entry revokes: a lifted hold least, a hold more, any other reason most. */
function severity(e: RevokedEntry): number {
  return e.reason === 'removeFromCRL' ? 0 : e.reason === 'certificateHold' ? 1 : 2;
}

/**
 * The IDP's distributionPoint (RFC 5280 §5.2.5), read from the DER itself: the schema decoder
 * drops a name it cannot decode, which would turn a partitioned CRL into a full one. Returns
 * the URIs of a fullName (and why the name cannot be matched, if it cannot), or null when the
 * IDP names no distribution point; throws DerError for a malformed name.
 */
function idpDistributionPoint(value: Uint8Array): { uris: string[]; unmatchable: string | null } | null {
  const [first] = children(expectUniversal(readSingle(value), TAG.SEQUENCE, 'issuingDistributionPoint'));
  if (first?.cls !== 2 || first.tag !== 0) return null;
  const [name, extra] = first.constructed ? children(first) : [];
  if (!name || extra) throw new DerError('its distributionPoint must hold exactly one name');
  if (name.cls === 2 && name.tag === 1 && name.constructed)
    return { uris: [], unmatchable: 'by a name relative to the CRL issuer' };
  if (name.cls !== 2 || name.tag !== 0 || !name.constructed)
    throw new DerError('its distributionPoint is neither a fullName nor a nameRelativeToCRLIssuer');
  const names = children(name);
  if (names.length === 0) throw new DerError('its distributionPoint fullName is empty');
  const uris: string[] = [];
  let unmatchable: string | null = null;
  for (const gn of names) {
    if (gn.cls === 2 && gn.tag === 6 && !gn.constructed) uris.push(latin1(content(gn)));
    else unmatchable = 'with a name that is not a URI';
  }
  return { uris, unmatchable };
}

/** The signature BIT STRING's octets: a signature is whole octets, so unused bits are an error. */
function signatureBytes(sigT: Tlv): Uint8Array {
  const bits = decodeBitString(expectUniversal(sigT, TAG.BIT_STRING, 'CRL signature'));
  if (bits.unusedBits !== 0) throw new DerError('the CRL signature BIT STRING has unused bits');
  return bits.bytes;
}

/** Parses a DER CRL; structural errors throw, semantic problems go to `defects`. */
export function parseCrl(input: Uint8Array, source: string | null = null): Crl {
  const der = new Uint8Array(input);
  try {
    const top = readSingle(der);
    checkDerStrict(top, 0, 2);
    const [tbsT, algT, sigT, extra] = children(expectUniversal(top, TAG.SEQUENCE, 'CertificateList'));
    if (algT) expectUniversal(algT, TAG.SEQUENCE, 'CRL signatureAlgorithm');
    if (!tbsT || !algT || !sigT || extra) throw new DerError('CertificateList must have three elements');
    const f = children(expectUniversal(tbsT, TAG.SEQUENCE, 'TBSCertList'));
    const defects: string[] = [];
    let i = 0;
    let version = 1;
    if (f[i] && f[i]!.cls === 0 && f[i]!.tag === TAG.INTEGER) version = decodeSmallInteger(f[i++]!) + 1;
    const innerAlg = f[i++]!;
    const issuer = decodeName(f[i++]!);
    const thisUpdate = decodeTime(f[i++]!);
    let nextUpdate: X509Time | null = null;
    if (f[i] && f[i]!.cls === 0 && (f[i]!.tag === TAG.UTC_TIME || f[i]!.tag === TAG.GENERALIZED_TIME))
      nextUpdate = decodeTime(f[i++]!);
    const revoked = new RevokedIndex(der);
    let duplicateListed = false;
    if (f[i] && f[i]!.cls === 0 && f[i]!.tag === TAG.SEQUENCE) {
      // Hot loop for CRLs of hundreds of thousands of entries: walk the TLVs directly, keep the
      // revocation date and entry extensions undecoded until a serial is actually looked up.
      const list = f[i++]!;
      let pos = list.contentStart;
      while (pos < list.end) {
        const entry = readTlv(der, pos, list.end);
        pos = entry.end;
        if (entry.cls !== 0 || entry.tag !== TAG.SEQUENCE)
          throw new DerError('revoked certificate entry is not a SEQUENCE');
        const serialT = readTlv(der, entry.contentStart, entry.end);
        if (serialT.tag !== TAG.INTEGER || serialT.end === serialT.contentStart)
          throw new DerError('bad userCertificate');
        // DER: a minimal INTEGER. "00 05" would never match serial 05 (serials are looked up by
        // their bytes), so a revocation could hide behind a non-minimal encoding; Node/OpenSSL
        // refuse such a CRL too.
        if (serialT.end - serialT.contentStart > 1) {
          const a = der[serialT.contentStart]!;
          const b = der[serialT.contentStart + 1]!;
          if ((a === 0 && (b & 0x80) === 0) || (a === 0xff && (b & 0x80) !== 0))
            throw new DerError('a revoked serial number is not a minimally encoded INTEGER');
        }
        const dateT = readTlv(der, serialT.end, entry.end);
        if (dateT.cls !== 0 || (dateT.tag !== TAG.UTC_TIME && dateT.tag !== TAG.GENERALIZED_TIME))
          throw new DerError('revocationDate is not a Time');
        const extsT = dateT.end < entry.end ? readTlv(der, dateT.end, entry.end) : null;
        if (extsT) for (const d of entryExtensionDefects(extsT)) if (!defects.includes(d)) defects.push(d);
        const serial = Buffer.from(
          der.buffer,
          der.byteOffset + serialT.contentStart,
          serialT.end - serialT.contentStart,
        )
          .toString('hex')
          .toUpperCase();
        if (revoked.has(serial) && !duplicateListed) {
          duplicateListed = true;
          defects.push(`lists serial ${serial} more than once (each revoked certificate must appear once)`);
        }
        revoked.add(serial, entry.start);
      }
    }
    let crlNumber: string | null = null;
    let isDelta = false;
    let baseCrlNumber: string | null = null;
    const deltaUrls: string[] = [];
    let idp: IssuingDistributionPoint | null = null;
    let idpName: { uris: string[]; unmatchable: string | null } | null = null;
    if (f[i] && f[i]!.cls === 2 && f[i]!.tag === 0) {
      const [extsT] = children(f[i++]!);
      if (!extsT) throw new DerError('crlExtensions is empty');
      for (const ext of children(expectUniversal(extsT, TAG.SEQUENCE, 'crlExtensions'))) {
        const { oid, critical, value } = extensionParts(ext, 'CRL extension');
        if (oid === OID.crlNumber) {
          if (critical)
            defects.push('marks the cRLNumber extension critical (RFC 5280 §5.2.3: MUST be non-critical)');
          crlNumber = BigInt(
            `0x${toHex(content(expectUniversal(readSingle(value), TAG.INTEGER, 'cRLNumber'))) || '0'}`,
          ).toString();
        } else if (oid === OID.deltaCrlIndicator) {
          isDelta = true;
          baseCrlNumber = BigInt(
            `0x${toHex(content(expectUniversal(readSingle(value), TAG.INTEGER, 'BaseCRLNumber'))) || '0'}`,
          ).toString();
        } else if (oid === OID.freshestCrl) {
          for (const dp of asn1Schema().AsnConvert.parse(value, asn1X509().CRLDistributionPoints))
            for (const gn of dp.distributionPoint?.fullName ?? [])
              if (gn.uniformResourceIdentifier) deltaUrls.push(gn.uniformResourceIdentifier);
        } else if (oid === OID.issuingDistributionPoint) {
          idp = asn1Schema().AsnConvert.parse(value, asn1X509().IssuingDistributionPoint);
          try {
            idpName = idpDistributionPoint(value);
          } catch (e) {
            defects.push(`has a malformed issuingDistributionPoint (${(e as Error).message})`);
            idpName = { uris: [], unmatchable: 'with a malformed name' };
          }
        } else if (oid === OID.authorityKeyIdentifier || oid === OID.issuerAltName) {
          // understood, informational
        } else if (critical) {
          defects.push(`has an unknown critical extension ${oid}`);
        }
      }
    }
    if (f[i]) throw new DerError('unexpected trailing field in TBSCertList');
    if (version !== 2) defects.push(`is version ${version} (RFC 5280 §5.1.2.1 requires v2)`);
    if (crlNumber === null) defects.push('has no cRLNumber extension (RFC 5280 §5.2.3: MUST be included)');
    const signatureAlgorithm = decodeSignatureAlgorithm(algT);
    const inner = decodeSignatureAlgorithm(innerAlg);
    // RFC 5280 §5.1.1.2: the two AlgorithmIdentifiers must be identical, parameters included.
    if (inner.oid !== signatureAlgorithm.oid || !bytesEqual(whole(innerAlg), whole(algT)))
      defects.push('has mismatched signature algorithms (signatureAlgorithm differs from the signed one)');
    const onlySomeReasons = idp?.onlySomeReasons !== undefined;
    const distributionPointUris = idpName?.uris ?? null;
    const distributionPointUnmatchable = idpName?.unmatchable ?? null;
    return {
      der,
      tbs: whole(tbsT),
      signatureAlgorithm,
      signature: signatureBytes(sigT),
      issuer,
      thisUpdate,
      nextUpdate,
      crlNumber,
      revoked,
      isDelta,
      baseCrlNumber,
      deltaUrls,
      onlyUserCerts: idp?.onlyContainsUserCerts ?? false,
      onlyCaCerts: idp?.onlyContainsCACerts ?? false,
      indirect: idp?.indirectCRL ?? false,
      onlySomeReasons,
      onlyAttributeCerts: idp?.onlyContainsAttributeCerts ?? false,
      distributionPointUris,
      distributionPointUnmatchable,
      defects,
      source,
    };
  } catch (e) {
    throw new DerError(`not a valid DER CRL: ${(e as Error).message}`, { cause: e });
  }
}
