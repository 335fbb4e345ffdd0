import { hash } from 'node:crypto';
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
  readSingle,
  TAG,
  type Tlv,
  toHex,
  whole,
} from './der.js';
import { type DecodedExtensions, decodeExtensions, extensionLabel, type RawExtension } from './extensions.js';
import { type DistinguishedName, decodeName, namesEqual } from './name.js';
import { decodePublicKey, type PublicKeyInfo } from './publicKey.js';
import { decodeSignatureAlgorithm, type SignatureAlgorithm, verifySignature } from './signatureAlgorithm.js';
import { decodeTime, type X509Time } from './time.js';

/** A parsed X.509 certificate: every field certvet validates, with the exact bytes it was signed over. */
export interface Certificate {
  readonly der: Uint8Array;
  /** Lower-case hex SHA-256 of the DER: the certificate's identity in certvet. */
  readonly sha256: string;
  readonly tbs: Uint8Array;
  /** 1, 2 or 3. */
  readonly version: number;
  /** Content octets of the serialNumber INTEGER (two's complement, as encoded). */
  readonly serial: Uint8Array;
  readonly serialHex: string;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly signature: Uint8Array;
  readonly issuer: DistinguishedName;
  readonly subject: DistinguishedName;
  readonly notBefore: X509Time;
  readonly notAfter: X509Time;
  readonly publicKey: PublicKeyInfo;
  readonly extensions: readonly RawExtension[];
  /**
   * The first extension of each OID, for rules that ask about one extension (a repeated
   * extension is also a `malformed` defect).
   */
  readonly extensionsByOid: ReadonlyMap<string, RawExtension>;
  readonly ext: DecodedExtensions;
  readonly hasUniqueIds: boolean;
  /** Subject and issuer names are equal (RFC 5280 "self-issued"). */
  readonly selfIssued: boolean;
  /**
   * Problems that make the certificate invalid under any profile (malformed extensions,
   * duplicate extensions, mismatched signature algorithms...). They matter only when the
   * certificate ends up in a path.
   */
  readonly defects: readonly Defect[];
}

/**
 * A problem found while parsing. `malformed` ones break the certificate under any reading;
 * `encoding` ones are DER rules (explicitly encoded DEFAULT values) that lenient validators
 * tolerate, so the lenient conformance mode reports them as warnings.
 */
export interface Defect {
  readonly kind: 'malformed' | 'encoding';
  readonly message: string;
}

export class CertificateParseError extends Error {
  override readonly name = 'CertificateParseError';
  readonly code = 'CERTVET_CERTIFICATE_PARSE';
}

function malformed(message: string): Defect {
  return { kind: 'malformed', message };
}

function serialToHex(serial: Uint8Array): string {
  return toHex(serial).toUpperCase();
}

function parseExtensions(t: Tlv, defects: Defect[], byOid: Map<string, RawExtension>): RawExtension[] {
  const seq = expectUniversal(t, TAG.SEQUENCE, 'Extensions');
  const items = children(seq);
  if (items.length === 0)
    defects.push(malformed('the extensions field is present but empty (SIZE (1..MAX))'));
  const out: RawExtension[] = [];
  for (const e of items) {
    const parts = children(expectUniversal(e, TAG.SEQUENCE, 'Extension'));
    const oid = decodeOid(content(expectUniversal(parts[0], TAG.OID, 'extnID')));
    let critical = false;
    let i = 1;
    if (parts[i] && parts[i]!.cls === 0 && parts[i]!.tag === TAG.BOOLEAN) {
      critical = decodeBoolean(parts[i]!);
      if (!critical)
        defects.push({
          kind: 'encoding',
          message: `the ${extensionLabel(oid)} extension encodes the DEFAULT critical FALSE explicitly (not DER)`,
        });
      i++;
    }
    const value = content(expectUniversal(parts[i], TAG.OCTET_STRING, 'extnValue'));
    if (parts[i + 1]) throw new DerError('Extension has trailing elements');
    const ext = { oid, critical, value };
    if (byOid.has(oid))
      defects.push(malformed(`the ${extensionLabel(oid)} extension appears more than once (RFC 5280 §4.2)`));
    else byOid.set(oid, ext);
    out.push(ext);
  }
  return out;
}

/**
 * Parses one DER certificate. Structural errors (not a certificate, truncated, not DER) throw
 * CertificateParseError; semantic problems are collected in `defects`.
 */
export function parseCertificate(input: Uint8Array): Certificate {
  const der = new Uint8Array(input);
  try {
    const cert = readSingle(der);
    checkDerStrict(cert);
    const [tbsT, sigAlgT, sigT, extra] = children(expectUniversal(cert, TAG.SEQUENCE, 'Certificate'));
    if (!tbsT || !sigAlgT || !sigT || extra)
      throw new DerError('Certificate must have exactly three elements');
    expectUniversal(tbsT, TAG.SEQUENCE, 'TBSCertificate');
    const defects: Defect[] = [];
    const f = children(tbsT);
    let i = 0;
    let version = 1;
    if (f[i] && f[i]!.cls === 2 && f[i]!.tag === 0) {
      const [v] = children(f[i]!);
      version = decodeSmallInteger(expectUniversal(v, TAG.INTEGER, 'version')) + 1;
      if (version === 1)
        defects.push({
          kind: 'encoding',
          message: 'version v1 is encoded explicitly (DEFAULT values must be omitted in DER)',
        });
      if (version > 3) throw new DerError(`unknown certificate version ${version}`);
      i++;
    }
    const serialT = expectUniversal(f[i++], TAG.INTEGER, 'serialNumber');
    const serial = content(serialT);
    const tbsSigAlgT = f[i++];
    const tbsSigAlg = decodeSignatureAlgorithm(tbsSigAlgT!);
    const issuer = decodeName(f[i++]!);
    const validity = children(expectUniversal(f[i++], TAG.SEQUENCE, 'Validity'));
    if (validity.length !== 2) throw new DerError('Validity must have two elements');
    const notBefore = decodeTime(validity[0]!);
    const notAfter = decodeTime(validity[1]!);
    const subject = decodeName(f[i++]!);
    const spkiT = f[i++];
    if (!spkiT) throw new DerError('TBSCertificate is truncated');
    const publicKey = decodePublicKey(spkiT);
    let hasUniqueIds = false;
    let extensions: RawExtension[] = [];
    const extensionsByOid = new Map<string, RawExtension>();
    let sawExtensions = false;
    for (; i < f.length; i++) {
      const t = f[i]!;
      if (t.cls === 2 && (t.tag === 1 || t.tag === 2) && !sawExtensions) {
        hasUniqueIds = true;
        if (version < 2) defects.push(malformed('unique identifiers are present in a v1 certificate'));
      } else if (t.cls === 2 && t.tag === 3 && t.constructed && !sawExtensions) {
        sawExtensions = true;
        const [inner, more] = children(t);
        if (!inner || more) throw new DerError('malformed extensions field');
        extensions = parseExtensions(inner, defects, extensionsByOid);
        if (version !== 3) defects.push(malformed(`extensions are present in a v${version} certificate`));
      } else {
        throw new DerError('unexpected field at the end of TBSCertificate');
      }
    }
    // The two AlgorithmIdentifiers are nearly always the same bytes: decode them once then.
    const sameAlg = bytesEqual(whole(sigAlgT), whole(tbsSigAlgT!));
    const outerAlg = sameAlg ? tbsSigAlg : decodeSignatureAlgorithm(sigAlgT);
    if (!sameAlg)
      defects.push(
        malformed(
          `the signatureAlgorithm (${outerAlg.name}) differs from the TBS signature field (${tbsSigAlg.name}) (RFC 5280 §4.1.1.2)`,
        ),
      );
    const sig = decodeBitString(expectUniversal(sigT, TAG.BIT_STRING, 'signatureValue'));
    if (sig.unusedBits !== 0) defects.push(malformed('the signature BIT STRING has unused bits'));
    const { decoded, defects: extDefects } = decodeExtensions(extensions);
    defects.push(...extDefects.map(malformed));
    if (publicKey.error && publicKey.type !== 'x25519' && publicKey.type !== 'x448')
      defects.push(malformed(`subject public key: ${publicKey.error}`));
    return {
      der,
      sha256: hash('sha256', der, 'hex'),
      tbs: whole(tbsT),
      version,
      serial,
      serialHex: serialToHex(serial),
      signatureAlgorithm: outerAlg,
      signature: sig.bytes,
      issuer,
      subject,
      notBefore,
      notAfter,
      publicKey,
      extensions,
      extensionsByOid,
      ext: decoded,
      hasUniqueIds,
      selfIssued: namesEqual(subject, issuer),
      defects,
    };
  } catch (e) {
    if (e instanceof CertificateParseError) throw e;
    // The cause is kept so that callers (and the adversarial tests) can tell a DER/profile
    // rejection (DerError) from an internal fault.
    throw new CertificateParseError(`not a valid DER X.509 certificate: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

const selfSignedCache = new WeakMap<Certificate, boolean>();

/** Self-issued and its signature verifies with its own key (RFC 5280 "self-signed"). */
export function isSelfSigned(cert: Certificate): boolean {
  let v = selfSignedCache.get(cert);
  if (v === undefined) {
    v =
      cert.selfIssued &&
      verifySignature(cert.signatureAlgorithm, cert.publicKey, cert.tbs, cert.signature) === null;
    selfSignedCache.set(cert, v);
  }
  return v;
}
