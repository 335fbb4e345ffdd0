import type { Certificate } from '../x509/certificate.js';
import { UNDERSTOOD_EXTENSIONS } from '../x509/extensions.js';
import { attributeValues } from '../x509/name.js';
import { EKU_NAMES, OID } from '../x509/oids.js';
import { describeKey } from '../x509/publicKey.js';
import { isoOf } from '../x509/time.js';
import { checkCrls, describeCrl } from './crl.js';
import { FindingSink } from './findingSink.js';
import {
  type ComparisonBudget,
  type ConstrainedName,
  constraintError,
  dirName,
  NameConstraintState,
} from './nameConstraints.js';
import { dnsSyntaxError } from './names/dns.js';
import { matchExpectedName } from './names/match.js';
import type { Conformance, CrlPolicy, ExpectedName, Profile, Purpose, VerifyOptions } from './options.js';
import { PolicyState } from './policy.js';
import type { CertContext } from './rules/context.js';
import { checkRfc5280Profile } from './rules/rfc5280.js';
import { checkSignatureOnlyKeyUsage } from './rules/signatureOnlyKeyUsage.js';
import { checkSmimeProfile } from './rules/smime.js';
import { checkWebPkiProfile } from './rules/webpki.js';

export interface PathSettings {
  readonly nowSec: number;
  readonly profile: Profile;
  readonly conformance: Conformance;
  readonly purpose: Purpose;
  readonly requiredEku: readonly string[];
  readonly requiredKeyUsage: NonNullable<VerifyOptions['requiredKeyUsage']>;
  readonly requiredKeyUsageReason: string | null;
  readonly expectedNames: readonly ExpectedName[];
  readonly maxDepth: number | null;
  readonly crls: NonNullable<VerifyOptions['crls']>;
  readonly crlPolicy: Required<CrlPolicy>;
  readonly strictAnchors: boolean;
  /** Shared by every candidate path of one verification. */
  readonly ncBudget: ComparisonBudget;
}

/** Verifies `child`'s signature with `issuer`'s key; returns null or the reason (cached by the caller). */
export type SignatureChecker = (child: Certificate, issuer: Certificate) => string | null;

const WEAK_HASHES = new Set(['md5', 'sha1']);

function labelFor(index: number, n: number, anchored: boolean): string {
  if (index === 0) return n === 1 && anchored ? 'leaf (trusted directly)' : 'leaf certificate';
  if (index === n - 1) return anchored ? 'trust anchor' : 'top certificate';
  return `intermediate #${index}`;
}

function subjectText(c: Certificate): string {
  return c.subject.isEmpty ? '(empty subject)' : c.subject.text;
}

/** Names of `cert` that name constraints apply to (RFC 5280 §4.2.1.10, §6.1.3 (b)-(c)). */
function constrainedNames(cert: Certificate, isLeaf: boolean): ConstrainedName[] {
  const names: ConstrainedName[] = [];
  if (!cert.subject.isEmpty) names.push(dirName(cert.subject));
  for (const e of attributeValues(cert.subject, OID.emailAddress)) names.push({ type: 'email', value: e });
  const san = cert.ext.subjectAltName;
  if (san) names.push(...san);
  // Legacy: with no SAN, a leaf's host-name-like CN is constrained as a dNSName (as browsers do).
  if (isLeaf && !san)
    for (const cn of attributeValues(cert.subject, OID.commonName))
      if (dnsSyntaxError(cn.toLowerCase(), { allowWildcard: true }) === null)
        names.push({ type: 'dns', value: cn });
  return names;
}

/** One certificate's place in the path being validated. */
interface Step {
  readonly cert: Certificate;
  readonly i: number;
  readonly isLeaf: boolean;
  readonly isTop: boolean;
  readonly anchored: boolean;
  readonly label: string;
  /** "the intermediate #1 (CN=…)": how messages name this certificate. */
  readonly who: string;
  readonly ctx: CertContext;
  readonly s: PathSettings;
  readonly sink: FindingSink;
}

/** What RFC 5280 §6.1.2 carries from one certificate to the next. */
interface PathState {
  readonly nc: NameConstraintState;
  readonly policy: PolicyState;
  maxPathLength: number;
}

/**
 * RFC 5280 §6.1 over one candidate path (leaf first). `anchored` says the top certificate is
 * trusted; when it is not, the path is still evaluated (as if the top were trusted) so that
 * every problem is reported, and the caller adds `untrusted`. Each certificate, from the top
 * down, goes through the steps below in order.
 */
export function validatePath(
  path: readonly Certificate[],
  anchored: boolean,
  s: PathSettings,
  verifySig: SignatureChecker,
): FindingSink {
  const sink = new FindingSink(s.conformance);
  const n = path.length;
  const ps: PathState = { nc: new NameConstraintState(), policy: new PolicyState(n - 1), maxPathLength: n };
  checkMaxDepth(path, s, sink);
  for (let i = n - 1; i >= 0; i--) {
    const cert = path[i]!;
    const isTop = i === n - 1;
    const label = labelFor(i, n, anchored);
    const st: Step = {
      cert,
      i,
      isLeaf: i === 0,
      isTop,
      anchored,
      label,
      who: `the ${label} (${subjectText(cert)})`,
      ctx: {
        cert,
        index: i,
        isLeaf: i === 0,
        isAnchor: isTop && anchored,
        isIssuer: i > 0,
        purpose: s.purpose,
        sink,
        label,
      },
      s,
      sink,
    };
    checkEncoding(st);
    checkValidity(st);
    checkCriticalExtensions(st);
    checkKeyStrength(st);
    checkProfileRules(st);
    if (!isTop) checkAgainstIssuer(st, path[i + 1]!, ps, verifySig);
    if (i > 0) prepareAsIssuer(st, ps);
    else finishLeaf(st, ps, n);
  }
  return sink;
}

/** The caller's maximum number of intermediates (self-issued ones not counted). */
function checkMaxDepth(path: readonly Certificate[], s: PathSettings, sink: FindingSink): void {
  if (s.maxDepth === null) return;
  const depth = path.slice(1, -1).filter((c) => !c.selfIssued).length;
  if (depth > s.maxDepth)
    sink.trust(
      'path-too-long',
      `the path has ${depth} intermediate certificates; at most ${s.maxDepth} are allowed`,
      path.length - 2,
    );
}

/** Defects found while parsing: malformed (trust) or DER encoding (profile). */
function checkEncoding(st: Step): void {
  const { cert, i, who, s, sink, ctx } = st;
  for (const d of cert.defects) {
    // A trust anchor is trusted for its name, key and constraints, not judged for its encoding.
    if (d.kind === 'encoding' && ctx.isAnchor && !s.strictAnchors) continue;
    if (d.kind === 'malformed') sink.trust('malformed-certificate', `${who}: ${d.message}`, i, 'RFC 5280 §4');
    else sink.profile('malformed-certificate', `${who}: ${d.message}`, i, 'X.690 DER');
  }
}

/** §6.1.3 (a)(2): the validity period. */
function checkValidity(st: Step): void {
  const { cert, i, who, s, sink } = st;
  // Inclusive at both ends, at one-second granularity.
  if (s.nowSec > cert.notAfter.seconds) {
    const days = Math.floor((s.nowSec - cert.notAfter.seconds) / 86400);
    sink.trust(
      'expired',
      `${who} expired on ${isoOf(cert.notAfter)}${days > 0 ? ` (${days} days ago)` : ''}`,
      i,
      'RFC 5280 §6.1.3 (a)(2)',
    );
  }
  if (s.nowSec < cert.notBefore.seconds)
    sink.trust(
      'not-yet-valid',
      `${who} is not valid until ${isoOf(cert.notBefore)}`,
      i,
      'RFC 5280 §6.1.3 (a)(2)',
    );
}

/** §6.1.4 (o), §6.1.5 (e): unknown critical extensions. */
function checkCriticalExtensions(st: Step): void {
  const { cert, i, who, sink } = st;
  // Unknown critical extensions (§6.1.4 (o), §6.1.5 (e)).
  for (const e of cert.extensions)
    if (e.critical && !UNDERSTOOD_EXTENSIONS.has(e.oid))
      sink.trust(
        'critical-extension',
        `${who} has an unrecognised critical extension ${e.oid}`,
        i,
        'RFC 5280 §4.2',
      );
}

/** Key strength, for every certificate (anchors included). */
function checkKeyStrength(st: Step): void {
  const { cert, i, who, sink } = st;
  // Key strength (all certificates, anchors included).
  const key = cert.publicKey;
  if (
    (key.type === 'rsa' || key.type === 'rsa-pss' || key.type === 'dsa') &&
    key.bits !== null &&
    key.bits < 2048
  )
    sink.trust('weak-key', `${who} has a ${describeKey(key)}-bit key (at least 2048 bits required)`, i);
  else if (key.type === 'ec' && key.bits !== null && key.bits < 224)
    sink.trust('weak-key', `${who} has an ${describeKey(key)} key (curves below 224 bits are too weak)`, i);
}

/** The profile's encoding and issuance rules. */
function checkProfileRules(st: Step): void {
  const { ctx, s } = st;
  // Profile rules (serial, AKI, CA/B issuance rules) apply below the anchor: an anchor is
  // configured out of band (real Mozilla roots have serial 0 or no AKI), and its validity,
  // basicConstraints, keyUsage and name constraints are still enforced below.
  if (!ctx.isAnchor || s.strictAnchors) {
    checkRfc5280Profile(ctx, { allowNonCriticalNameConstraints: s.profile === 'webpki' });
    checkSignatureOnlyKeyUsage(ctx);
    if (s.profile === 'webpki') checkWebPkiProfile(ctx);
    else if (s.profile === 'smime') checkSmimeProfile(ctx);
  }
}

/** §6.1.3 against the certificate above: signature, supplied CRLs, name constraints, policies. */
function checkAgainstIssuer(st: Step, issuer: Certificate, ps: PathState, verifySig: SignatureChecker): void {
  const { cert, i, isLeaf, who, s, sink } = st;
  const { nc, policy } = ps;
  // §6.1.3 (a)(1) signature.
  const sigErr = verifySig(cert, issuer);
  if (sigErr)
    sink.trust(
      'invalid-signature',
      `${who}: ${sigErr} (issuer ${subjectText(issuer)})`,
      i,
      'RFC 5280 §6.1.3 (a)(1)',
    );
  if (cert.signatureAlgorithm.hash && WEAK_HASHES.has(cert.signatureAlgorithm.hash))
    sink.trust('weak-signature', `${who} is signed with ${cert.signatureAlgorithm.name}, a broken hash`, i);
  // §6.1.3 (a)(3) revocation from the supplied CRLs; when coverage is required, having none
  // leaves every certificate's status unknown (never a silent pass).
  if (s.crls.length || s.crlPolicy.requireCoverage) checkSuppliedCrls(cert, issuer, i, who, s, sink);
  // §6.1.3 (b)-(c) name constraints; self-issued intermediates are exempt.
  if ((!cert.selfIssued || isLeaf) && !nc.isEmpty) {
    for (const p of nc.check(constrainedNames(cert, isLeaf), s.ncBudget))
      sink.trust('name-constraints', `${who}: ${p}`, i, 'RFC 5280 §6.1.3 (b)');
    if (s.ncBudget.exhausted)
      sink.trust(
        'budget-exceeded',
        `name-constraint checking of ${who} stopped at its budget of ${s.ncBudget.limit} comparisons (names × subtrees); the chain is rejected`,
        i,
        'RFC 5280 §6.1.3 (b)',
      );
  }
  // §6.1.3 (d)-(f) policies.
  const pe = policy.process(cert);
  if (pe) sink.trust('policy', `${who}: ${pe}`, i, 'RFC 5280 §6.1.3 (f)');
}

/** §6.1.4 preparation: the certificate issues the next one. */
function prepareAsIssuer(st: Step, ps: PathState): void {
  const { cert, i, isTop, anchored, label, who, s, sink } = st;
  const { nc, policy } = ps;
  // §6.1.4 preparation for the next certificate: cert is an issuer.
  const bc = cert.ext.basicConstraints;
  if (!bc) {
    if (isTop && anchored && cert.version < 3)
      sink.profile(
        'basic-constraints',
        `${who} is a v${cert.version} certificate used as a CA (trusted out of band)`,
        i,
        'RFC 5280 §6.1.4 (k)',
      );
    else if (isTop && anchored)
      sink.profile(
        'basic-constraints',
        `${who} has no basicConstraints extension but issues certificates`,
        i,
        'RFC 5280 §4.2.1.9',
      );
    else
      sink.trust(
        'basic-constraints',
        `${who} issues certificates but has no basicConstraints extension`,
        i,
        'RFC 5280 §6.1.4 (k)',
      );
  } else if (!bc.ca) {
    sink.trust(
      'basic-constraints',
      `${who} issues certificates but is not a CA (basicConstraints cA is FALSE)`,
      i,
      'RFC 5280 §6.1.4 (k)',
    );
  }
  if (!isTop && !cert.selfIssued) {
    if (ps.maxPathLength <= 0)
      sink.trust(
        'path-length',
        `${who} exceeds the pathLenConstraint of a CA above it`,
        i,
        'RFC 5280 §6.1.4 (l)',
      );
    ps.maxPathLength--;
  }
  if (bc?.pathLen != null && bc.pathLen < ps.maxPathLength) ps.maxPathLength = bc.pathLen;
  const ku = cert.ext.keyUsage;
  if (ku && !ku.has('keyCertSign'))
    sink.trust(
      'key-usage',
      `${who} issues certificates but its keyUsage lacks keyCertSign`,
      i,
      'RFC 5280 §6.1.4 (n)',
    );
  const ncExt = cert.ext.nameConstraints;
  if (ncExt) {
    const bad = [...ncExt.permitted, ...ncExt.excluded]
      .map(constraintError)
      .filter((e): e is string => e !== null);
    for (const b of bad)
      sink.trust('name-constraints', `${who} has a malformed name constraint: ${b}`, i, 'RFC 5280 §4.2.1.10');
    nc.add(ncExt, `the ${label} (${subjectText(cert)})`);
  }
  if (!isTop) {
    const pe = policy.prepare(cert);
    if (pe) sink.trust('policy', `${who}: ${pe}`, i, 'RFC 5280 §6.1.4 (a)');
  }
  // EKU chaining, in every profile (as Go, rustls-webpki, pyca/cryptography, Chrome and
  // OpenSSL's purpose checks): an issuing CA whose extKeyUsage does not allow the purpose
  // (nor anyExtendedKeyUsage) must not issue for it. A trust anchor's EKU constrains too
  // (as Go and OpenSSL): an anchor is trusted for its name, key and constraints.
  const eku = cert.ext.extKeyUsage;
  if (eku && !eku.includes(OID.anyExtendedKeyUsage))
    for (const want of s.requiredEku)
      if (!eku.includes(want))
        sink.trust(
          'eku',
          `${who} restricts its extKeyUsage to ${eku.map((o) => EKU_NAMES[o] ?? o).join(', ')}, which excludes ${EKU_NAMES[want] ?? want}, so it cannot issue for that purpose`,
          i,
          'RFC 5280 §4.2.1.12 (EKU chaining)',
        );
}

/** §6.1.5 wrap-up on the leaf: purpose, key usage, identity, final policy. */
function finishLeaf(st: Step, ps: PathState, n: number): void {
  const { cert, anchored, s, sink } = st;
  checkLeaf(cert, s, sink, anchored && n === 1 ? 'leaf (trusted directly)' : 'leaf certificate');
  if (n > 1) {
    const pe = ps.policy.finish(cert);
    if (pe) sink.trust('policy', `the leaf certificate: ${pe}`, 0, 'RFC 5280 §6.1.5');
  }
}

/** RFC 5280 §6.3 with the supplied CRLs, failing closed (see checkCrls and CrlPolicy). */
function checkSuppliedCrls(
  cert: Certificate,
  issuer: Certificate,
  i: number,
  who: string,
  s: PathSettings,
  sink: FindingSink,
): void {
  const st = checkCrls(cert, issuer, s.crls, s.nowSec, i > 0);
  const unknown = s.crlPolicy.mode === 'hard' ? 'critical' : 'warning';
  if (st.status === 'revoked')
    sink.trust(
      'revoked',
      `${who} (serial ${cert.serialHex}) was revoked on ${isoOf(st.entry.revocationDate)}${st.entry.reason ? ` (${st.entry.reason})` : ''} according to ${describeCrl(st.crl)}${st.caveats.length ? ` (which ${st.caveats.join('; ')}: a revocation stands regardless)` : ''}`,
      i,
      'RFC 5280 §6.3',
    );
  else if (!s.crlPolicy.reportUnknown) return;
  else if (st.status === 'unusable')
    sink.add({
      code: 'revocation-unknown',
      severity: unknown,
      message: `${who}: revocation status unknown (${s.crlPolicy.mode} revocation mode): ${st.reason}`,
      certIndex: i,
      rule: 'RFC 5280 §6.3.3',
    });
  else if (st.status === 'not-covered' && s.crlPolicy.requireCoverage)
    sink.add({
      code: 'revocation-unknown',
      severity: unknown,
      message: `${who}: revocation status unknown (${s.crlPolicy.mode} revocation mode): ${s.crls.length ? `no supplied CRL is issued by ${subjectText(issuer)}` : `no CRL was supplied, and every certificate below the anchor must be covered by one`}`,
      certIndex: i,
      rule: 'RFC 5280 §6.3.3',
    });
}

function checkLeaf(leaf: Certificate, s: PathSettings, sink: FindingSink, label: string): void {
  const who = `the ${label} (${subjectText(leaf)})`;
  // Extended key usage (RFC 5280 §4.2.1.12).
  const eku = leaf.ext.extKeyUsage;
  if (eku && s.requiredEku.length) {
    const anyOk = s.profile === 'rfc5280' && eku.includes(OID.anyExtendedKeyUsage);
    for (const want of s.requiredEku)
      if (!eku.includes(want) && !anyOk)
        sink.trust(
          'eku',
          `${who} is not valid for ${EKU_NAMES[want] ?? want}: its extKeyUsage allows ${eku.map((o) => EKU_NAMES[o] ?? o).join(', ')}`,
          0,
          'RFC 5280 §4.2.1.12',
        );
  }
  // Key usage required by the caller.
  const ku = leaf.ext.keyUsage;
  if (ku)
    for (const bit of s.requiredKeyUsage)
      if (!ku.has(bit))
        sink.trust(
          'key-usage',
          `${who}'s keyUsage lacks ${bit} (has ${[...ku].join(', ')})${s.requiredKeyUsageReason ? `: ${s.requiredKeyUsageReason}` : ''}`,
          0,
          'RFC 5280 §4.2.1.3',
        );
  // Identity.
  if (s.expectedNames.length) {
    const results = s.expectedNames.map((e) => matchExpectedName(leaf, e, s.profile));
    if (!results.some((r) => r.matched))
      for (const r of results) sink.trust('hostname-mismatch', r.message, 0, 'RFC 6125 §6');
  }
}
