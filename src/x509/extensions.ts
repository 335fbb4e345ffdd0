import type { X509 } from './asn1.js';
import { asn1Schema, asn1X509 } from './asn1.js';
import {
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
} from './der.js';
import {
  fastAuthorityInfoAccess,
  fastAuthorityKeyId,
  fastCrlDistributionPoints,
  fastExtKeyUsage,
  fastPolicyConstraints,
  fastPolicyIds,
  fastPolicyMappings,
} from './fastExtensions.js';
import { decodeGeneralName, decodeGeneralNames, type GeneralName } from './generalName.js';
import { OID } from './oids.js';

export interface RawExtension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

export const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsageBit = (typeof KEY_USAGE_BITS)[number];

export interface BasicConstraints {
  readonly ca: boolean;
  readonly pathLen: number | null;
}

export interface GeneralSubtree {
  readonly base: GeneralName;
  /** True when minimum/maximum are present with non-default values (unsupported by RFC 5280). */
  readonly hasMinMax: boolean;
}

export interface NameConstraints {
  readonly permitted: readonly GeneralSubtree[];
  readonly excluded: readonly GeneralSubtree[];
  readonly hasPermitted: boolean;
  readonly hasExcluded: boolean;
}

export interface AuthorityKeyId {
  readonly keyId: Uint8Array | null;
  readonly hasIssuer: boolean;
  readonly hasSerial: boolean;
}

export interface PolicyConstraintsValue {
  readonly requireExplicitPolicy: number | null;
  readonly inhibitPolicyMapping: number | null;
}

export interface AccessInfo {
  readonly ocsp: readonly string[];
  readonly caIssuers: readonly string[];
}

export interface DecodedExtensions {
  basicConstraints?: BasicConstraints;
  keyUsage?: ReadonlySet<KeyUsageBit>;
  extKeyUsage?: readonly string[];
  subjectAltName?: readonly GeneralName[];
  nameConstraints?: NameConstraints;
  authorityKeyId?: AuthorityKeyId;
  subjectKeyId?: Uint8Array;
  certificatePolicies?: readonly string[];
  policyMappings?: readonly (readonly [string, string])[];
  policyConstraints?: PolicyConstraintsValue;
  inhibitAnyPolicy?: number;
  authorityInfoAccess?: AccessInfo;
  /** Every URI of the cRLDistributionPoints (where CRLs can be fetched). */
  crlDistributionPoints?: readonly string[];
  /**
   * The URIs by which a partitioned CRL's issuingDistributionPoint may name this certificate's
   * distribution point (RFC 5280 §6.3.3 (b)(2)(i)): those of the DistributionPoints whose name
   * is a fullName of URIs only, with neither reasons nor cRLIssuer. Other forms are not matched.
   */
  crlDistributionPointMatchUris?: readonly string[];
  tlsFeatures?: readonly number[];
}

/** Extensions this validator processes; an unknown one marked critical makes a certificate unusable. */
export const UNDERSTOOD_EXTENSIONS: ReadonlySet<string> = new Set([
  OID.subjectKeyIdentifier,
  OID.keyUsage,
  OID.subjectAltName,
  OID.issuerAltName,
  OID.basicConstraints,
  OID.nameConstraints,
  OID.crlDistributionPoints,
  OID.certificatePolicies,
  OID.policyMappings,
  OID.authorityKeyIdentifier,
  OID.policyConstraints,
  OID.extKeyUsage,
  OID.inhibitAnyPolicy,
  OID.authorityInfoAccess,
  OID.subjectInfoAccess,
  OID.tlsFeature,
  OID.freshestCrl,
  OID.ctSctList,
]);

/** Decodes `value` with the schema `pick` names (loaded on first use: asn1.ts). */
function parseWith<T>(value: Uint8Array, pick: (m: X509) => new () => T): T {
  readSingle(value); // DER framing and no trailing bytes
  return asn1Schema().AsnConvert.parse(value, pick(asn1X509()));
}

function decodeBasicConstraints(v: Uint8Array): BasicConstraints {
  const seq = expectUniversal(readSingle(v), TAG.SEQUENCE, 'basicConstraints');
  const items = children(seq);
  let i = 0;
  let ca = false;
  let pathLen: number | null = null;
  if (items[i] && items[i]!.cls === 0 && items[i]!.tag === TAG.BOOLEAN) {
    ca = decodeBoolean(items[i]!);
    if (!ca) throw new DerError('basicConstraints encodes the DEFAULT value cA FALSE explicitly (not DER)');
    i++;
  }
  if (items[i]) {
    pathLen = decodeSmallInteger(expectUniversal(items[i], TAG.INTEGER, 'pathLenConstraint'));
    i++;
  }
  if (items[i]) throw new DerError('basicConstraints has unexpected trailing elements');
  return { ca, pathLen };
}

function decodeKeyUsage(v: Uint8Array): Set<KeyUsageBit> {
  const bs = decodeBitString(expectUniversal(readSingle(v), TAG.BIT_STRING, 'keyUsage'));
  const bits = new Set<KeyUsageBit>();
  KEY_USAGE_BITS.forEach((name, i) => {
    const byte = bs.bytes[i >> 3];
    if (byte !== undefined && (byte & (0x80 >> (i & 7))) !== 0) bits.add(name);
  });
  if (bits.size === 0) throw new DerError('keyUsage has no bits set');
  return bits;
}

function decodeSubtrees(t: ReturnType<typeof readSingle>): GeneralSubtree[] {
  const out: GeneralSubtree[] = [];
  for (const st of children(t)) {
    expectUniversal(st, TAG.SEQUENCE, 'GeneralSubtree');
    const [baseT, ...rest] = children(st);
    if (!baseT) throw new DerError('GeneralSubtree without a base');
    let hasMinMax = false;
    for (const r of rest) {
      if (r.cls !== 2 || (r.tag !== 0 && r.tag !== 1))
        throw new DerError('GeneralSubtree: unexpected element');
      const n = decodeSmallInteger({ ...r, constructed: false });
      if (r.tag === 0 && n === 0)
        throw new DerError('GeneralSubtree encodes the DEFAULT minimum 0 (not DER)');
      hasMinMax = true;
    }
    out.push({ base: decodeGeneralName(baseT), hasMinMax });
  }
  if (out.length === 0) throw new DerError('nameConstraints has an empty GeneralSubtrees (SIZE (1..MAX))');
  return out;
}

function decodeNameConstraints(v: Uint8Array): NameConstraints {
  const seq = expectUniversal(readSingle(v), TAG.SEQUENCE, 'nameConstraints');
  let permitted: GeneralSubtree[] = [];
  let excluded: GeneralSubtree[] = [];
  let hasPermitted = false;
  let hasExcluded = false;
  for (const c of children(seq)) {
    if (c.cls !== 2 || !c.constructed) throw new DerError('nameConstraints: unexpected element');
    if (c.tag === 0 && !hasPermitted && !hasExcluded) {
      permitted = decodeSubtrees(c);
      hasPermitted = true;
    } else if (c.tag === 1 && !hasExcluded) {
      excluded = decodeSubtrees(c);
      hasExcluded = true;
    } else throw new DerError('nameConstraints: unexpected element');
  }
  if (!hasPermitted && !hasExcluded)
    throw new DerError('nameConstraints has neither permittedSubtrees nor excludedSubtrees');
  return { permitted, excluded, hasPermitted, hasExcluded };
}

function decodeAki(v: Uint8Array): AuthorityKeyId {
  const quick = fastAuthorityKeyId(v);
  if (quick) return quick;
  const aki = parseWith(v, (m) => m.AuthorityKeyIdentifier);
  return {
    keyId: aki.keyIdentifier ? new Uint8Array(aki.keyIdentifier.buffer) : null,
    hasIssuer: aki.authorityCertIssuer !== undefined,
    hasSerial: aki.authorityCertSerialNumber !== undefined,
  };
}

function decodeSki(v: Uint8Array): Uint8Array {
  const t = expectUniversal(readSingle(v), TAG.OCTET_STRING, 'subjectKeyIdentifier');
  const id = content(t);
  if (id.length === 0) throw new DerError('subjectKeyIdentifier is empty');
  return id;
}

function decodeEku(v: Uint8Array): string[] {
  const quick = fastExtKeyUsage(v);
  if (quick) return quick;
  const eku = parseWith(v, (m) => m.ExtendedKeyUsage);
  if (eku.length === 0) throw new DerError('extKeyUsage lists no purposes (SIZE (1..MAX))');
  return [...eku];
}

function decodePolicies(v: Uint8Array): string[] {
  let ids = fastPolicyIds(v);
  if (!ids) {
    const cp = parseWith(v, (m) => m.CertificatePolicies);
    if (cp.length === 0) throw new DerError('certificatePolicies is empty');
    ids = cp.map((p) => p.policyIdentifier);
  }
  if (new Set(ids).size !== ids.length) throw new DerError('certificatePolicies lists a policy twice');
  return ids;
}

function decodeMappings(v: Uint8Array): [string, string][] {
  const quick = fastPolicyMappings(v);
  if (quick) return quick;
  const pm = parseWith(v, (m) => m.PolicyMappings);
  if (pm.length === 0) throw new DerError('policyMappings is empty');
  return pm.map((m) => [m.issuerDomainPolicy, m.subjectDomainPolicy]);
}

function skip(b: ArrayBuffer | Uint8Array | null | undefined): number | null {
  if (b === undefined || b === null) return null;
  const u = b instanceof Uint8Array ? b : new Uint8Array(b);
  let n = 0;
  for (const x of u) n = n * 256 + x;
  if (u.length > 4 || (u[0]! & 0x80) !== 0) throw new DerError('SkipCerts out of range');
  return n;
}

function decodePolicyConstraints(v: Uint8Array): PolicyConstraintsValue {
  const pc = fastPolicyConstraints(v) ?? parseWith(v, (m) => m.PolicyConstraints);
  const out = {
    requireExplicitPolicy: skip(pc.requireExplicitPolicy),
    inhibitPolicyMapping: skip(pc.inhibitPolicyMapping),
  };
  if (out.requireExplicitPolicy === null && out.inhibitPolicyMapping === null)
    throw new DerError('policyConstraints is empty');
  return out;
}

function decodeInhibitAnyPolicy(v: Uint8Array): number {
  return decodeSmallInteger(expectUniversal(readSingle(v), TAG.INTEGER, 'inhibitAnyPolicy'));
}

function decodeAia(v: Uint8Array): AccessInfo {
  const quick = fastAuthorityInfoAccess(v);
  if (quick) return quick;
  const aia = parseWith(v, (m) => m.AuthorityInfoAccessSyntax);
  if (aia.length === 0) throw new DerError('authorityInfoAccess is empty (SIZE (1..MAX))');
  const ocsp: string[] = [];
  const caIssuers: string[] = [];
  for (const ad of aia) {
    const uri = ad.accessLocation.uniformResourceIdentifier;
    if (uri === undefined) continue;
    if (ad.accessMethod === OID.ocsp) ocsp.push(uri);
    else if (ad.accessMethod === OID.caIssuers) caIssuers.push(uri);
  }
  return { ocsp, caIssuers };
}

function decodeCrlDp(v: Uint8Array): { urls: string[]; matchUris: string[] } {
  // The common form (fullNames of URIs, nothing else): every URI both fetches and matches.
  const quick = fastCrlDistributionPoints(v);
  if (quick) return { urls: quick, matchUris: quick };
  const dps = parseWith(v, (m) => m.CRLDistributionPoints);
  if (dps.length === 0) throw new DerError('cRLDistributionPoints is empty');
  const urls: string[] = [];
  const matchUris: string[] = [];
  for (const dp of dps) {
    const names = dp.distributionPoint?.fullName ?? [];
    const dpUris: string[] = [];
    for (const gn of names)
      if (gn.uniformResourceIdentifier !== undefined) dpUris.push(gn.uniformResourceIdentifier);
    urls.push(...dpUris);
    if (dpUris.length > 0 && dpUris.length === names.length && !dp.reasons && !dp.cRLIssuer)
      matchUris.push(...dpUris);
  }
  return { urls, matchUris };
}

function decodeTlsFeature(v: Uint8Array): number[] {
  const seq = expectUniversal(readSingle(v), TAG.SEQUENCE, 'tlsFeature');
  return children(seq).map((c) => decodeSmallInteger(expectUniversal(c, TAG.INTEGER, 'tlsFeature')));
}

/**
 * Decodes the extensions certvet understands. A decoding failure is returned as a defect
 * naming the extension; it is never thrown, so one bad extension does not hide the others.
 */
export function decodeExtensions(raw: readonly RawExtension[]): {
  decoded: DecodedExtensions;
  defects: string[];
} {
  const decoded: DecodedExtensions = {};
  const defects: string[] = [];
  for (const ext of raw) {
    try {
      const v = ext.value;
      switch (ext.oid) {
        case OID.basicConstraints:
          decoded.basicConstraints = decodeBasicConstraints(v);
          break;
        case OID.keyUsage:
          decoded.keyUsage = decodeKeyUsage(v);
          break;
        case OID.extKeyUsage:
          decoded.extKeyUsage = decodeEku(v);
          break;
        case OID.subjectAltName:
          decoded.subjectAltName = decodeGeneralNames(v, 'subjectAltName');
          break;
        case OID.issuerAltName:
          decodeGeneralNames(v, 'issuerAltName');
          break;
        case OID.nameConstraints:
          decoded.nameConstraints = decodeNameConstraints(v);
          break;
        case OID.authorityKeyIdentifier:
          decoded.authorityKeyId = decodeAki(v);
          break;
        case OID.subjectKeyIdentifier:
          decoded.subjectKeyId = decodeSki(v);
          break;
        case OID.certificatePolicies:
          decoded.certificatePolicies = decodePolicies(v);
          break;
        case OID.policyMappings:
          decoded.policyMappings = decodeMappings(v);
          break;
        case OID.policyConstraints:
          decoded.policyConstraints = decodePolicyConstraints(v);
          break;
        case OID.inhibitAnyPolicy:
          decoded.inhibitAnyPolicy = decodeInhibitAnyPolicy(v);
          break;
        case OID.authorityInfoAccess:
          decoded.authorityInfoAccess = decodeAia(v);
          break;
        case OID.crlDistributionPoints: {
          const dp = decodeCrlDp(v);
          decoded.crlDistributionPoints = dp.urls;
          decoded.crlDistributionPointMatchUris = dp.matchUris;
          break;
        }
        case OID.tlsFeature:
          decoded.tlsFeatures = decodeTlsFeature(v);
          break;
        default:
          break;
      }
    } catch (e) {
      defects.push(`${extensionLabel(ext.oid)} extension cannot be decoded: ${(e as Error).message}`);
    }
  }
  return { decoded, defects };
}

export function extensionLabel(oid: string): string {
  const names: Record<string, string> = {
    [OID.basicConstraints]: 'basicConstraints',
    [OID.keyUsage]: 'keyUsage',
    [OID.extKeyUsage]: 'extKeyUsage',
    [OID.subjectAltName]: 'subjectAltName',
    [OID.issuerAltName]: 'issuerAltName',
    [OID.nameConstraints]: 'nameConstraints',
    [OID.authorityKeyIdentifier]: 'authorityKeyIdentifier',
    [OID.subjectKeyIdentifier]: 'subjectKeyIdentifier',
    [OID.certificatePolicies]: 'certificatePolicies',
    [OID.policyMappings]: 'policyMappings',
    [OID.policyConstraints]: 'policyConstraints',
    [OID.inhibitAnyPolicy]: 'inhibitAnyPolicy',
    [OID.authorityInfoAccess]: 'authorityInfoAccess',
    [OID.crlDistributionPoints]: 'cRLDistributionPoints',
    [OID.tlsFeature]: 'tlsFeature',
  };
  return names[oid] ?? oid;
}

export { decodeOid };
