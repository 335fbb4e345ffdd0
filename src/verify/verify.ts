import type { Finding } from '../findings/catalogue.js';
import { Lru } from '../util/lru.js';
import type { Certificate } from '../x509/certificate.js';
import { OID } from '../x509/oids.js';
import { verifySignature } from '../x509/signatureAlgorithm.js';
import { ComparisonBudget } from './nameConstraints.js';
import { DEFAULT_BUDGET, MAX_PATH_CERTIFICATES, type VerifyBudget, type VerifyOptions } from './options.js';
import { type BuildState, type Candidate, CertificatePool, enumeratePaths } from './pathBuilder.js';
import { type PathSettings, validatePath } from './validatePath.js';

/** The verdict on one leaf certificate. */
export interface VerifyResult {
  /** True when a path to a trust anchor exists with no critical finding. */
  readonly valid: boolean;
  /** The validated path (leaf first, anchor last), or the most promising candidate when none validates. */
  readonly path: readonly Certificate[];
  /** The reported path ends at a trust anchor. */
  readonly anchored: boolean;
  /** Every problem of the reported path; certIndex refers to `path`. */
  readonly findings: readonly Finding[];
  readonly stats: {
    readonly candidates: number;
    readonly signatureChecks: number;
    readonly buildSteps: number;
    readonly budgetExhausted: boolean;
  };
}

/**
 * Signature results are a pure function of the two certificates' bytes, so they are shared
 * across verifications (an intermediate→root signature is checked once per process).
 */
const signatureResults = new Lru<string, string | null>(16384);

function settingsOf(o: VerifyOptions, budget: VerifyBudget): PathSettings {
  // The smime profile judges mailbox certificates: by default their purpose is email protection.
  const smimeDefault = o.profile === 'smime' && o.purpose === undefined && o.requiredEku === undefined;
  const purpose = o.purpose ?? (smimeDefault ? 'any' : 'serverAuth');
  const ms = typeof o.time === 'number' ? o.time : o.time.getTime();
  return {
    nowSec: Math.floor(ms / 1000),
    profile: o.profile ?? 'rfc5280',
    conformance: o.conformance ?? 'enforce',
    purpose,
    requiredEku:
      o.requiredEku ??
      (smimeDefault
        ? [OID.emailProtection]
        : purpose === 'serverAuth'
          ? [OID.serverAuth]
          : purpose === 'clientAuth'
            ? [OID.clientAuth]
            : []),
    requiredKeyUsage: o.requiredKeyUsage ?? [],
    requiredKeyUsageReason: o.requiredKeyUsageReason ?? null,
    expectedNames: o.expectedNames ?? [],
    maxDepth: o.maxDepth ?? null,
    crls: o.crls ?? [],
    crlPolicy: {
      mode: o.crlPolicy?.mode ?? 'soft',
      requireCoverage: o.crlPolicy?.requireCoverage ?? false,
      reportUnknown: o.crlPolicy?.reportUnknown ?? true,
    },
    strictAnchors: o.strictAnchors ?? false,
    ncBudget: new ComparisonBudget(budget.nameConstraintChecks),
  };
}

interface Scored {
  readonly candidate: Candidate;
  readonly findings: Finding[];
  readonly critical: number;
}

function better(a: Scored, b: Scored | null): boolean {
  if (!b) return true;
  if (a.candidate.anchored !== b.candidate.anchored) return a.candidate.anchored;
  if (a.critical !== b.critical) return a.critical < b.critical;
  return a.candidate.path.length > b.candidate.path.length && !a.candidate.anchored;
}

/**
 * Builds every candidate path from the leaf to a trust anchor and validates each (RFC 5280
 * §6.1 plus the selected profile) until one has no critical finding. Pure: no I/O, and the
 * same inputs and time always give the same answer.
 */
export function verifyCertificate(options: VerifyOptions): VerifyResult {
  const budget: VerifyBudget = { ...DEFAULT_BUDGET, ...options.budget };
  const s = settingsOf(options, budget);
  const pool = new CertificatePool(options.anchors, options.intermediates ?? []);
  const state: BuildState = { signatureChecks: 0, buildSteps: 0, exhausted: false };
  const sigCache = new Map<string, string | null>();
  const share = options.shareSignatureResults !== false;
  /** The signature of `child` under `issuer`, computed at most once per verification. */
  const signatureOf = (child: Certificate, issuer: Certificate, k: string): string | null => {
    let r = share ? signatureResults.get(k) : undefined;
    if (r === undefined) {
      r = verifySignature(child.signatureAlgorithm, issuer.publicKey, child.tbs, child.signature);
      if (share) signatureResults.set(k, r);
    }
    sigCache.set(k, r);
    return r;
  };
  // Path building: the budget is charged before each signature check, never after, so no
  // input (1,500 CAs sharing one name, a cross-signed mesh) costs more checks than the budget.
  const buildSig = (child: Certificate, issuer: Certificate): boolean | 'exhausted' => {
    const k = `${child.sha256}:${issuer.sha256}`;
    const hit = sigCache.get(k);
    if (hit !== undefined) return hit === null;
    if (state.signatureChecks >= budget.signatureChecks) return 'exhausted';
    state.signatureChecks++;
    return signatureOf(child, issuer, k) === null;
  };
  // Validation of a candidate: every edge was checked while building it (an issuer is only
  // added after its signature was tried), so these are cache hits.
  const checkSig = (child: Certificate, issuer: Certificate): string | null => {
    const k = `${child.sha256}:${issuer.sha256}`;
    const hit = sigCache.get(k);
    return hit !== undefined ? hit : signatureOf(child, issuer, k);
  };

  let best: Scored | null = null;
  let accepted: Scored | null = null;
  let candidates = 0;
  enumeratePaths(options.leaf, pool, budget, state, buildSig, (candidate) => {
    candidates++;
    const sink = validatePath(candidate.path, candidate.anchored, s, checkSig);
    const findings = [...sink.findings];
    if (candidate.capped) {
      const top = candidate.path[candidate.path.length - 1]!;
      findings.unshift({
        code: 'path-too-long',
        severity: 'critical',
        message: `the chain is longer than certvet's limit of ${MAX_PATH_CERTIFICATES} certificates: path building stopped at ${top.subject.text || '(empty subject)'} without reaching a trust anchor`,
        certIndex: candidate.path.length - 1,
      });
    } else if (!candidate.anchored) {
      const top = candidate.path[candidate.path.length - 1]!;
      if (candidate.path.length === 1 && top.selfIssued)
        findings.unshift({
          code: 'self-signed',
          severity: 'critical',
          message: `the leaf certificate (${top.subject.text || '(empty subject)'}) is self-signed and not trusted`,
          certIndex: 0,
        });
      else
        findings.unshift({
          code: 'untrusted',
          severity: 'critical',
          message: top.selfIssued
            ? `the chain ends at ${top.subject.text || '(empty subject)'}, a root that is not trusted`
            : `no trusted issuer was found for ${top.subject.text || '(empty subject)'} (issuer ${top.issuer.text || '(empty)'}); ${keyIdMismatchNote(pool, top) ?? 'the chain is incomplete or its root is not trusted'}`,
          certIndex: candidate.path.length - 1,
        });
    }
    const critical = findings.filter((f) => f.severity === 'critical').length;
    const scored: Scored = { candidate, findings, critical };
    if (candidate.anchored && critical === 0) {
      accepted = scored;
      return true;
    }
    if (better(scored, best)) best = scored;
    return false;
  });

  const chosen = (accepted ?? best) as Scored | null;
  const stats = {
    candidates,
    signatureChecks: state.signatureChecks,
    buildSteps: state.buildSteps,
    budgetExhausted: state.exhausted,
  };
  if (!chosen) {
    return {
      valid: false,
      path: [options.leaf],
      anchored: false,
      findings: [
        {
          code: 'budget-exceeded',
          severity: 'critical',
          message: `path building stopped after ${state.buildSteps} steps and ${state.signatureChecks} signature checks without finding a path`,
          certIndex: 0,
        },
      ],
      stats,
    };
  }
  const findings = [...chosen.findings];
  if (!accepted && state.exhausted)
    findings.push({
      code: 'budget-exceeded',
      severity: 'critical',
      message: `path building stopped at its budget (${budget.buildSteps} steps, ${budget.signatureChecks} signature checks; used ${state.buildSteps} and ${state.signatureChecks}); other paths were not tried`,
    });
  return {
    valid: accepted !== null,
    path: chosen.candidate.path,
    anchored: chosen.candidate.anchored,
    findings,
    stats,
  };
}

/**
 * Why a certificate of the right name was not taken as the issuer: its subjectKeyIdentifier
 * differs from the authorityKeyIdentifier (RFC 5280 §4.2.1.1), which names another key.
 */
function keyIdMismatchNote(pool: CertificatePool, c: Certificate): string | null {
  const ruledOut = pool.issuersRuledOutByKeyId(c);
  if (ruledOut.length === 0) return null;
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();
  const akid = hex(c.ext.authorityKeyId!.keyId!);
  const skids = ruledOut.map((r) => hex(r.ext.subjectKeyId!)).join(', ');
  return ruledOut.length === 1
    ? `a certificate of that name is known, but its subjectKeyIdentifier (${skids}) is not the key the authorityKeyIdentifier names (${akid}), so it is not the issuer (RFC 5280 §4.2.1.1)`
    : `${ruledOut.length} certificates of that name are known, but their subjectKeyIdentifiers (${skids}) are not the key the authorityKeyIdentifier names (${akid}), so none is the issuer (RFC 5280 §4.2.1.1)`;
}
