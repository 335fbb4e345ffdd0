/**
 * Fast decoders for the common, canonical DER shapes of the extensions that
 * @peculiar/asn1-schema decodes for us (authorityKeyIdentifier, extKeyUsage,
 * certificatePolicies, policyMappings, policyConstraints, authorityInfoAccess,
 * cRLDistributionPoints).
 *
 * Why our own: the schema decoder builds an asn1js object graph and matches it against the
 * schema for every extension, which made it most of the cost of parsing a certificate (an
 * authorityKeyIdentifier alone cost more than the two signature checks of a chain). These
 * functions walk the DER directly with der.ts.
 *
 * They never decide that an extension is malformed. Each accepts only a narrow shape — exact
 * tags, strict DER framing, minimal OBJECT IDENTIFIER arcs, ASCII URIs — and returns `null`
 * for anything else (any error, any unusual but possibly valid form: a GeneralName other
 * than a URI, policy qualifiers other than a CPS URI, an authorityCertIssuer...). The caller
 * then uses the schema decoder, so what is rejected, and the message saying why, stay the
 * library's. Whatever these accept, the schema decoder accepts too and decodes to the same
 * value; test/fast-extensions.test.ts checks that on the limbo certificates, generated ones
 * and mutations of both.
 */
import { children, DerError, decodeOid, readSingle, TAG, type Tlv } from './der.js';
import type { AccessInfo, AuthorityKeyId } from './extensions.js';
import { OID } from './oids.js';

/** Marks "not a shape handled here" inside a decoder; never escapes this module. */
class NotHandled extends Error {}

function fast<T>(v: Uint8Array, decode: (seq: Tlv) => T): T | null {
  try {
    const seq = readSingle(v);
    if (seq.cls !== 0 || seq.tag !== TAG.SEQUENCE || !seq.constructed) return null;
    return decode(seq);
  } catch (e) {
    if (e instanceof NotHandled || e instanceof DerError) return null;
    throw e;
  }
}

function bail(): never {
  throw new NotHandled();
}

/** The children of a constructed TLV (der.ts's walk); there must be at least one. */
function items(t: Tlv): Tlv[] {
  const out = children(t);
  if (out.length === 0) bail();
  return out;
}

function universal(t: Tlv | undefined, tag: number, constructed: boolean): Tlv {
  if (t?.cls !== 0 || t.tag !== tag || t.constructed !== constructed) bail();
  return t;
}

function context(t: Tlv | undefined, tag: number, constructed: boolean): Tlv {
  if (t?.cls !== 2 || t.tag !== tag || t.constructed !== constructed) bail();
  return t;
}

function oid(t: Tlv | undefined): string {
  const o = universal(t, TAG.OID, false);
  return decodeOid(o.buf.subarray(o.contentStart, o.end));
}

/** Printable ASCII only (no controls, no DEL, nothing above 0x7e), non-empty. */
function ascii(t: Tlv): string {
  if (t.end === t.contentStart) bail();
  let s = '';
  for (let p = t.contentStart; p < t.end; p++) {
    const b = t.buf[p]!;
    if (b < 0x20 || b > 0x7e) bail();
    s += String.fromCharCode(b);
  }
  return s;
}

/** A GeneralNames holding only uniformResourceIdentifier [6] entries. */
function uris(t: Tlv): string[] {
  return items(t).map((gn) => ascii(context(gn, 6, false)));
}

/** SEQUENCE { keyIdentifier [0] } — the form nearly every CA writes. */
export function fastAuthorityKeyId(v: Uint8Array): AuthorityKeyId | null {
  return fast(v, (seq) => {
    const [kid, more] = items(seq);
    const k = context(kid, 0, false);
    if (more || k.end === k.contentStart) bail();
    return {
      keyId: new Uint8Array(k.buf.subarray(k.contentStart, k.end)),
      hasIssuer: false,
      hasSerial: false,
    };
  });
}

/** SEQUENCE SIZE (1..MAX) OF KeyPurposeId */
export function fastExtKeyUsage(v: Uint8Array): string[] | null {
  return fast(v, (seq) => items(seq).map(oid));
}

/** PolicyInformation with no qualifiers or with CPS-pointer qualifiers (IA5String URIs). */
export function fastPolicyIds(v: Uint8Array): string[] | null {
  return fast(v, (seq) =>
    items(seq).map((pi) => {
      const [id, qualifiers, more] = items(universal(pi, TAG.SEQUENCE, true));
      if (more) bail();
      if (qualifiers)
        for (const q of items(universal(qualifiers, TAG.SEQUENCE, true))) {
          const [qid, value, extra] = items(universal(q, TAG.SEQUENCE, true));
          if (extra || oid(qid) !== OID.cpsQualifier) bail();
          ascii(universal(value, TAG.IA5_STRING, false));
        }
      return oid(id);
    }),
  );
}

/** SEQUENCE SIZE (1..MAX) OF SEQUENCE { issuerDomainPolicy, subjectDomainPolicy } */
export function fastPolicyMappings(v: Uint8Array): [string, string][] | null {
  return fast(v, (seq) =>
    items(seq).map((m) => {
      const [a, b, more] = items(universal(m, TAG.SEQUENCE, true));
      if (more) bail();
      return [oid(a), oid(b)] as [string, string];
    }),
  );
}

/** The content octets of an IMPLICIT SkipCerts, as a minimal non-empty INTEGER. */
function skipCerts(t: Tlv): Uint8Array {
  const c = t.buf.subarray(t.contentStart, t.end);
  if (c.length === 0 || (c.length > 1 && c[0] === 0 && (c[1]! & 0x80) === 0)) bail();
  return c;
}

/**
 * SEQUENCE { requireExplicitPolicy [0], inhibitPolicyMapping [1] }, both present or one,
 * as the SkipCerts content octets (the caller converts and range-checks them).
 */
export function fastPolicyConstraints(
  v: Uint8Array,
): { requireExplicitPolicy: Uint8Array | null; inhibitPolicyMapping: Uint8Array | null } | null {
  return fast(v, (seq) => {
    const [first, second, more] = items(seq);
    if (more || !first) bail();
    if (first.cls === 2 && first.tag === 0 && !first.constructed) {
      const req = skipCerts(first);
      return {
        requireExplicitPolicy: req,
        inhibitPolicyMapping: second ? skipCerts(context(second, 1, false)) : null,
      };
    }
    if (second) bail();
    return { requireExplicitPolicy: null, inhibitPolicyMapping: skipCerts(context(first, 1, false)) };
  });
}

/** AccessDescriptions whose locations are all URIs. */
export function fastAuthorityInfoAccess(v: Uint8Array): AccessInfo | null {
  return fast(v, (seq) => {
    const ocsp: string[] = [];
    const caIssuers: string[] = [];
    for (const ad of items(seq)) {
      const [method, location, more] = items(universal(ad, TAG.SEQUENCE, true));
      if (more) bail();
      const m = oid(method);
      const uri = ascii(context(location, 6, false));
      if (m === OID.ocsp) ocsp.push(uri);
      else if (m === OID.caIssuers) caIssuers.push(uri);
    }
    return { ocsp, caIssuers };
  });
}

/** DistributionPoints that carry only a fullName of URIs (no reasons, no cRLIssuer). */
export function fastCrlDistributionPoints(v: Uint8Array): string[] | null {
  return fast(v, (seq) => {
    const urls: string[] = [];
    for (const dp of items(seq)) {
      const [name, more] = items(universal(dp, TAG.SEQUENCE, true));
      if (more) bail();
      const [fullName, extra] = items(context(name, 0, true));
      if (extra) bail();
      urls.push(...uris(context(fullName, 0, true)));
    }
    return urls;
  });
}
