/**
 * The CRL model (RFC 5280 §5): strict DER parsing of a CertificateList into what revocation
 * checking needs, with a compact index of the revoked serials. Judging a certificate against
 * CRLs is verify/crl.ts.
 */
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

  /** A serial listed more than once, or null (each revoked certificate must appear once). */
  get repeatedSerial(): string | null {
    for (const serial of this.repeats.keys()) return serial;
    return null;
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

/** What an issuingDistributionPoint says about a CRL's scope (RFC 5280 §5.2.5). */
interface IdpScope {
  /** The URIs of its distributionPoint's fullName; null when it names no distribution point. */
  readonly uris: readonly string[] | null;
  /** Why its distribution point name cannot be matched (a relative or non-URI name), or null. */
  readonly unmatchable: string | null;
  readonly onlyUserCerts: boolean;
  readonly onlyCaCerts: boolean;
  readonly onlySomeReasons: boolean;
  readonly indirect: boolean;
  readonly onlyAttributeCerts: boolean;
}

/** The scope of a CRL without an issuingDistributionPoint: everything its issuer issued. */
const FULL_SCOPE: IdpScope = {
  uris: null,
  unmatchable: null,
  onlyUserCerts: false,
  onlyCaCerts: false,
  onlySomeReasons: false,
  indirect: false,
  onlyAttributeCerts: false,
};

/**
 * Decodes an issuingDistributionPoint (RFC 5280 §5.2.5) with certvet's own DER reader, field
 * by field and in order: a schema decoder that skipped what it could not read (it dropped a
 * malformed distribution point name) would silently widen a partitioned CRL to a full one.
 * Throws DerError for anything malformed.
 */
function decodeIdp(value: Uint8Array): IdpScope {
  const fields = children(expectUniversal(readSingle(value), TAG.SEQUENCE, 'issuingDistributionPoint'));
  let uris: string[] | null = null;
  let unmatchable: string | null = null;
  const flags = [false, false, false, false, false, false];
  let last = -1;
  for (const f of fields) {
    if (f.cls !== 2 || f.tag > 5 || f.tag <= last)
      throw new DerError('its fields are not [0] to [5], each at most once, in order');
    last = f.tag;
    if (f.tag === 0) {
      const [name, extra] = f.constructed ? children(f) : [];
      if (!name || extra) throw new DerError('its distributionPoint must hold exactly one name');
      if (name.cls === 2 && name.tag === 1 && name.constructed) {
        uris = [];
        unmatchable = 'by a name relative to the CRL issuer';
        continue;
      }
      if (name.cls !== 2 || name.tag !== 0 || !name.constructed)
        throw new DerError('its distributionPoint is neither a fullName nor a nameRelativeToCRLIssuer');
      const names = children(name);
      if (names.length === 0) throw new DerError('its distributionPoint fullName is empty');
      uris = [];
      for (const gn of names) {
        if (gn.cls === 2 && gn.tag === 6 && !gn.constructed) uris.push(latin1(content(gn)));
        else unmatchable = 'with a name that is not a URI';
      }
    } else if (f.tag === 3) {
      if (f.constructed) throw new DerError('onlySomeReasons must be a primitive BIT STRING');
      flags[3] = true;
    } else {
      if (f.constructed) throw new DerError(`its field [${f.tag}] must be a primitive BOOLEAN`);
      flags[f.tag] = decodeBoolean(f);
    }
  }
  return {
    uris,
    unmatchable,
    onlyUserCerts: flags[1]!,
    onlyCaCerts: flags[2]!,
    onlySomeReasons: flags[3]!,
    indirect: flags[4]!,
    onlyAttributeCerts: flags[5]!,
  };
}

/** The signature BIT STRING's octets: a signature is whole octets, so unused bits are an error. */
function signatureBytes(sigT: Tlv): Uint8Array {
  const bits = decodeBitString(expectUniversal(sigT, TAG.BIT_STRING, 'CRL signature'));
  if (bits.unusedBits !== 0) throw new DerError('the CRL signature BIT STRING has unused bits');
  return bits.bytes;
}

/** RFC 5280 §5.1.2.4/§5.1.2.5: dates through 2049 as UTCTime, 2050 and later as GeneralizedTime. */
function timeEncodingDefect(field: string, t: X509Time, rule: string): string | null {
  const year = new Date(t.seconds * 1000).getUTCFullYear();
  return year < 2050 === (t.encoding === 'UTCTime')
    ? null
    : `encodes its ${field} (${t.raw}) as ${t.encoding} for year ${year} (RFC 5280 ${rule})`;
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
        revoked.add(serial, entry.start);
      }
    }
    if (revoked.repeatedSerial)
      defects.push(
        `lists serial ${revoked.repeatedSerial} more than once (each revoked certificate must appear once)`,
      );
    let crlNumber: string | null = null;
    let isDelta = false;
    let baseCrlNumber: string | null = null;
    const deltaUrls: string[] = [];
    let scope = FULL_SCOPE;
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
          try {
            scope = decodeIdp(value);
          } catch (e) {
            // Its scope is unknown: it cannot vouch for anything (a serial it lists still revokes).
            defects.push(`has a malformed issuingDistributionPoint (${(e as Error).message})`);
            scope = { ...FULL_SCOPE, uris: [], unmatchable: 'in a malformed issuingDistributionPoint' };
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
    // §5.1.2.5: without nextUpdate a CRL never says when it stops being current, so it cannot
    // vouch for a certificate's status now.
    if (nextUpdate === null) defects.push('has no nextUpdate (RFC 5280 §5.1.2.5: MUST be included)');
    const thisUpdateDefect = timeEncodingDefect('thisUpdate', thisUpdate, '§5.1.2.4');
    if (thisUpdateDefect) defects.push(thisUpdateDefect);
    const nextUpdateDefect = nextUpdate && timeEncodingDefect('nextUpdate', nextUpdate, '§5.1.2.5');
    if (nextUpdateDefect) defects.push(nextUpdateDefect);
    const signatureAlgorithm = decodeSignatureAlgorithm(algT);
    const inner = decodeSignatureAlgorithm(innerAlg);
    // RFC 5280 §5.1.1.2: the two AlgorithmIdentifiers must be identical, parameters included.
    if (inner.oid !== signatureAlgorithm.oid || !bytesEqual(whole(innerAlg), whole(algT)))
      defects.push('has mismatched signature algorithms (signatureAlgorithm differs from the signed one)');
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
      onlyUserCerts: scope.onlyUserCerts,
      onlyCaCerts: scope.onlyCaCerts,
      indirect: scope.indirect,
      onlySomeReasons: scope.onlySomeReasons,
      onlyAttributeCerts: scope.onlyAttributeCerts,
      distributionPointUris: scope.uris,
      distributionPointUnmatchable: scope.unmatchable,
      defects,
      source,
    };
  } catch (e) {
    throw new DerError(`not a valid DER CRL: ${(e as Error).message}`, { cause: e });
  }
}
