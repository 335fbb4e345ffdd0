import { randomBytes } from 'node:crypto';
import type { Finding } from '../findings/catalogue.js';
import type { RevocationInfo } from '../model/revocation.js';
import { abortReason } from '../probe/deadline.js';
import { AnswerCache } from '../util/answerCache.js';
import { type Crl, checkCrls, checkDelta, describeCrl, type RevokedEntry } from '../verify/crl.js';
import type { Certificate } from '../x509/certificate.js';
import type { CrlCache } from './crlCache.js';
import { boundedFetch, type FetchOptions } from './fetch.js';
import {
  buildOcspRequest,
  type CertIdHash,
  OCSP_NO_NEXT_UPDATE_MAX_AGE_SEC,
  type OcspAnswer,
  OcspError,
  ocspGetUrl,
  verifyOcspResponse,
} from './ocsp.js';

export type RevocationMode = 'off' | 'soft' | 'hard';
export type RevocationSourceKind = 'ocsp' | 'crl';

export type { RevocationInfo } from '../model/revocation.js';

export interface OcspCacheOptions {
  /** Answers held at most (default 4096). */
  readonly maxEntries?: number;
  /** An answer is reused until its nextUpdate, at most this long (default 1 h). */
  readonly maxTtlMs?: number;
  /** How long an answer without nextUpdate is reused (default 5 min). */
  readonly noNextUpdateTtlMs?: number;
  /** How long a failed query is remembered (default 30 s). */
  readonly failureTtlMs?: number;
  /** The clock (epoch ms; default Date.now). */
  readonly now?: () => number;
}

/**
 * OCSP answers shared across a run, in the one answer cache ({@link AnswerCache}): an
 * intermediate seen behind 1,000 endpoints is asked about once (single-flight), and the answer
 * reused until its nextUpdate (at most an hour; 5 minutes when it has none); failures are
 * remembered for 30 s. Each caller waits under its own signal: one target's deadline never
 * fails the query for the others, and a query every waiter gave up on is cancelled and
 * forgotten.
 */
export class OcspCache {
  private readonly cache: AnswerCache<OcspAnswer>;
  private readonly maxTtlMs: number;
  private readonly noNextUpdateTtlMs: number;

  constructor(options: OcspCacheOptions = {}) {
    this.maxTtlMs = options.maxTtlMs ?? 3600_000;
    this.noNextUpdateTtlMs = options.noNextUpdateTtlMs ?? 300_000;
    this.cache = new AnswerCache({
      max: options.maxEntries ?? 4096,
      failureTtlMs: options.failureTtlMs ?? 30_000,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  /** Queries started (for tests and benchmarks). */
  get queries(): number {
    return this.cache.loads;
  }

  /** `load` runs under the entry's own signal (not the caller's). */
  get(
    key: string,
    load: (signal: AbortSignal) => Promise<OcspAnswer>,
    signal?: AbortSignal,
  ): Promise<OcspAnswer> {
    return this.cache.get(
      key,
      async (own) => {
        const a = await load(own);
        // Without nextUpdate an answer is current for a day after thisUpdate (ocsp.ts): never kept longer.
        const ttlMs = a.nextUpdate
          ? a.nextUpdate.getTime() - this.cache.now()
          : Math.min(
              this.noNextUpdateTtlMs,
              a.thisUpdate.getTime() + OCSP_NO_NEXT_UPDATE_MAX_AGE_SEC * 1000 - this.cache.now(),
            );
        return { value: a, ttlMs: Math.min(this.maxTtlMs, ttlMs) };
      },
      signal,
    );
  }
}

export interface RevocationContext {
  readonly mode: RevocationMode;
  /** Send a nonce with OCSP requests (and reject responses that echo a different one). */
  readonly nonce?: boolean;
  /** Shares OCSP answers across targets (optional). */
  readonly ocspCache?: OcspCache;
  /** Order of the network sources (a staple is always tried first). */
  readonly sources: readonly RevocationSourceKind[];
  readonly crlCache: CrlCache;
  readonly fetch: Omit<FetchOptions, 'method' | 'body' | 'maxBytes' | 'signal'> & {
    readonly maxOcspBytes: number;
  };
  readonly nowSec: number;
  /**
   * CRLs given locally (`--crl`), weighed with the other sources: a usable one that covers a
   * certificate is a good answer, one that cannot be used is a reason its status may be
   * unknown. (A serial one lists is the validator's `revoked`, final whatever is said here.)
   */
  readonly supplied?: readonly Crl[];
  /**
   * The validator has already reported what `supplied` cannot establish (the mTLS verifier's
   * `crlMode`): a supplied CRL that cannot be used still leaves the status unknown here (by this
   * mode), but its reason is referred to, not repeated.
   */
  readonly suppliedReported?: boolean;
  /**
   * Ends every fetch at once (the per-target deadline combined with Ctrl-C): what is not
   * answered by then is `revocation-unknown`, never good.
   */
  readonly signal?: AbortSignal;
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString().replace('.000Z', 'Z') : null;
}

async function queryOcspWith(
  url: string,
  cert: Certificate,
  issuer: Certificate,
  ctx: RevocationContext,
  hash: CertIdHash,
  signal: AbortSignal | undefined,
): Promise<OcspAnswer> {
  const nonce = ctx.nonce ? new Uint8Array(randomBytes(16)) : undefined;
  const req = buildOcspRequest(cert, issuer, { hash, ...(nonce ? { nonce } : {}) });
  const get = ocspGetUrl(url, req);
  const common = { ...ctx.fetch, maxBytes: ctx.fetch.maxOcspBytes, ...(signal ? { signal } : {}) };
  const r = get
    ? await boundedFetch(get, { ...common, method: 'GET' })
    : await boundedFetch(url, {
        ...common,
        method: 'POST',
        body: req,
        contentType: 'application/ocsp-request',
      });
  return verifyOcspResponse(r.body, cert, issuer, ctx.nowSec, 300, nonce);
}

/**
 * SHA-1 CertID first (universally supported); when the responder refuses it or does not know
 * the certificate that way, ask again with a SHA-256 CertID.
 */
async function queryOcsp(
  url: string,
  cert: Certificate,
  issuer: Certificate,
  ctx: RevocationContext,
  signal: AbortSignal | undefined,
): Promise<OcspAnswer> {
  let first: OcspAnswer;
  try {
    first = await queryOcspWith(url, cert, issuer, ctx, 'sha1', signal);
  } catch (e) {
    if (e instanceof OcspError && /malformedRequest|unauthorized|does not cover/.test(e.message))
      return queryOcspWith(url, cert, issuer, ctx, 'sha256', signal);
    throw e;
  }
  if (first.status !== 'unknown') return first;
  return queryOcspWith(url, cert, issuer, ctx, 'sha256', signal).catch(() => first);
}

/** A CRL entry that a delta CRL's removeFromCRL may lift (RFC 5280 §5.3.1): only a hold. */
function isHold(e: RevokedEntry | null): boolean {
  return e?.reason === 'certificateHold';
}

type CertOutcome = {
  info: RevocationInfo | null;
  problems: string[];
  hadSource: boolean;
  /** A supplied CRL lists it: the validator reported `revoked`, nothing is left to say here. */
  revokedBySupplied?: boolean;
};

/**
 * One certificate: the staple (leaf) and every network source, asked concurrently under the
 * deadline. Revoked is sticky across sources: if any trustworthy source (staple, OCSP, CRL,
 * delta CRL) says revoked, the certificate is revoked, whatever the others say; otherwise a
 * good answer from any source is good; otherwise the status is unknown. (Asking every source
 * costs little: CRLs and OCSP answers are shared across the run.)
 */
async function checkOne(
  cert: Certificate,
  issuer: Certificate,
  i: number,
  staple: Uint8Array | null,
  ctx: RevocationContext,
  checkedAt: string,
): Promise<CertOutcome> {
  const problems: string[] = [];
  const fromOcsp = (a: OcspAnswer, source: 'ocsp-stapled' | 'ocsp', where: string): RevocationInfo | null => {
    if (a.status === 'unknown') {
      problems.push(`${where} does not know this certificate (status unknown)`);
      return null;
    }
    return {
      status: a.status,
      source,
      checkedAt,
      nextUpdate: iso(a.nextUpdate),
      reason: a.reason,
      detail: `${where}, signed by ${a.signer}${a.revokedAt ? `, revoked at ${iso(a.revokedAt)}` : ''}${a.caveat ? ` (${a.caveat}; a signed revocation stands)` : ''}`,
    };
  };
  const answers: RevocationInfo[] = [];
  // The supplied CRLs first: no I/O. Revoked is left to the validator, which reported it.
  let suppliedRelevant = false;
  if (ctx.supplied?.length) {
    const st = checkCrls(cert, issuer, ctx.supplied, ctx.nowSec, i > 0);
    // Listed: revoked, final — the validator reported it and the chain entry will say so; no
    // other source is asked and nothing is "unknown".
    if (st.status === 'revoked')
      return { info: null, problems: [], hadSource: false, revokedBySupplied: true };
    suppliedRelevant = st.status !== 'not-covered';
    if (st.status === 'good')
      answers.push({
        status: 'good',
        source: 'crl',
        checkedAt,
        nextUpdate: st.crl.nextUpdate ? iso(new Date(st.crl.nextUpdate.seconds * 1000)) : null,
        reason: null,
        detail: `${describeCrl(st.crl)}, supplied locally`,
      });
    else if (st.status === 'unusable')
      problems.push(
        ctx.suppliedReported
          ? 'a supplied CRL covers it but cannot be used (reported above)'
          : `supplied CRLs: ${st.reason}`,
      );
  }
  let stapleProblem: string | null = null;
  if (i === 0 && staple) {
    try {
      const a = fromOcsp(
        verifyOcspResponse(staple, cert, issuer, ctx.nowSec),
        'ocsp-stapled',
        'the stapled OCSP response',
      );
      if (a) answers.push(a);
    } catch (e) {
      stapleProblem = `the stapled OCSP response is unusable: ${(e as Error).message}`;
      problems.push(stapleProblem);
    }
  }
  const named = (kind: RevocationSourceKind) =>
    (kind === 'ocsp'
      ? (cert.ext.authorityInfoAccess?.ocsp ?? [])
      : (cert.ext.crlDistributionPoints ?? [])
    ).map((url) => ({ kind, url }));
  const sources = ctx.sources.flatMap(named);
  // Sources the certificate names but the caller left out: not asked, and if nothing else
  // answers, the status is unknown — a certificate that can be checked is never "not-checked".
  const leftOut = (['ocsp', 'crl'] as const).filter((k) => !ctx.sources.includes(k)).flatMap(named);
  const hadSource =
    suppliedRelevant || (i === 0 && staple !== null) || sources.length > 0 || leftOut.length > 0;
  // A revoked staple is final: nothing another source says can change it.
  const stapled = answers.find((a) => a.source === 'ocsp-stapled');
  if (stapled?.status === 'revoked') return { info: stapled, problems, hadSource };
  // Each source reports into its own slot, so answers and problems keep the sources' order.
  const slots = sources.map(() => ({ answer: null as RevocationInfo | null, problems: [] as string[] }));
  const ask = async (
    { kind, url }: { kind: RevocationSourceKind; url: string },
    n: number,
  ): Promise<void> => {
    const slot = slots[n]!;
    if (ctx.signal?.aborted) {
      slot.problems.push(
        `${kind === 'ocsp' ? 'OCSP' : 'CRL'} ${url}: not asked: ${abortReason(ctx.signal).message}`,
      );
      return;
    }
    if (kind === 'ocsp') {
      try {
        const load = (signal?: AbortSignal) => queryOcsp(url, cert, issuer, ctx, signal);
        const answer = ctx.ocspCache
          ? await ctx.ocspCache.get(`${url}|${cert.sha256}|${issuer.sha256}`, load, ctx.signal)
          : await load(ctx.signal);
        if (answer.status === 'unknown')
          slot.problems.push(`the OCSP responder ${url} does not know this certificate (status unknown)`);
        else slot.answer = fromOcsp(answer, 'ocsp', `the OCSP responder ${url}`);
      } catch (e) {
        slot.problems.push(`OCSP ${url}: ${(e as Error).message}`);
      }
    } else {
      try {
        slot.answer = await fromCrl(url, cert, issuer, i, ctx, checkedAt, slot.problems);
      } catch (e) {
        slot.problems.push(`CRL ${url}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(sources.map(ask));
  for (const slot of slots) {
    if (slot.answer) answers.push(slot.answer);
    problems.push(...slot.problems);
  }
  const revoked = answers.find((a) => a.status === 'revoked');
  const good = answers.filter((a) => a.status === 'good');
  let info: RevocationInfo | null = null;
  if (revoked)
    info = good.length
      ? {
          ...revoked,
          detail: `${revoked.detail} (revoked is final: ${good.map((g) => g.detail).join('; ')} said good)`,
        }
      : revoked;
  else if (good.length) info = good[0]!;
  // A good answer from elsewhere decides, but a broken staple is still worth knowing about.
  if (info && stapleProblem && info.source !== 'ocsp-stapled')
    info = { ...info, detail: `${info.detail} (${stapleProblem})` };
  if (!info)
    for (const { kind, url } of leftOut)
      problems.push(
        `${kind === 'ocsp' ? 'the OCSP responder' : 'the CRL'} ${url} was not asked: the revocation sources in use are ${ctx.sources.join(' and ') || 'none'}`,
      );
  return { info, problems, hadSource };
}

/**
 * The CRL at `url` (and the delta CRLs it names). Revoked is sticky: a delta's removeFromCRL
 * lifts only a certificateHold, and a delta that cannot be used never lifts anything (a base
 * entry stands; a base "good" becomes unknown).
 */
async function fromCrl(
  url: string,
  cert: Certificate,
  issuer: Certificate,
  i: number,
  ctx: RevocationContext,
  checkedAt: string,
  problems: string[],
): Promise<RevocationInfo | null> {
  const crl = await ctx.crlCache.get(url, undefined, ctx.signal);
  const st = checkCrls(cert, issuer, [crl], ctx.nowSec, i > 0);
  if (st.status !== 'revoked' && st.status !== 'good') {
    problems.push(
      `CRL ${url}: ${st.status === 'unusable' ? st.reason : 'the CRL does not cover this certificate'}`,
    );
    return null;
  }
  const next = crl.nextUpdate ? iso(new Date(crl.nextUpdate.seconds * 1000)) : null;
  let entry: RevokedEntry | null = st.status === 'revoked' ? st.entry : null;
  let where = `the CRL at ${url}`;
  const notes: string[] = [];
  let deltaProblem: string | null = null;
  // Delta CRLs named by the base (freshestCRL) update its verdict.
  for (const deltaUrl of crl.deltaUrls) {
    let d: RevokedEntry | 'removed' | null;
    try {
      const delta = await ctx.crlCache.get(deltaUrl, undefined, ctx.signal);
      d = checkDelta(cert, issuer, crl, delta, ctx.nowSec);
    } catch (e) {
      deltaProblem = `its delta CRL ${deltaUrl}: ${(e as Error).message}`;
      break;
    }
    where = `${where} and its delta CRL at ${deltaUrl}`;
    if (d === 'removed') {
      // A hold on a base CRL that could not vouch by itself (out of scope, malformed) is not
      // lifted by a delta: that base is only heard when it revokes.
      if (entry && st.status === 'revoked' && st.caveats.length)
        notes.push(
          `the delta CRL's removeFromCRL is ignored: the base CRL that lists the hold ${st.caveats.join('; ')}`,
        );
      else if (isHold(entry) || !entry) entry = null;
      else
        notes.push(
          `the delta CRL's removeFromCRL is ignored: only a certificateHold can be lifted, and this revocation is ${entry.reason ?? 'unspecified'}`,
        );
    } else if (d && (!entry || isHold(entry))) entry = d;
  }
  if (deltaProblem && !entry) {
    problems.push(`CRL ${url}: ${deltaProblem}`);
    return null;
  }
  if (deltaProblem) notes.push(`${deltaProblem} (a revocation stands without it)`);
  const detail = (s: string) => (notes.length ? `${s} (${notes.join('; ')})` : s);
  return entry
    ? {
        status: 'revoked',
        source: 'crl',
        checkedAt,
        nextUpdate: next,
        reason: entry.reason,
        detail: detail(`${where}, revoked at ${iso(new Date(entry.revocationDate.seconds * 1000))}`),
      }
    : { status: 'good', source: 'crl', checkedAt, nextUpdate: next, reason: null, detail: where };
}

/** Days from notBefore to notAfter, both included (the CA/B BR validity period), rounded. */
function validityDays(cert: Certificate): number {
  return Math.round((cert.notAfter.seconds - cert.notBefore.seconds + 1) / 86_400);
}

/**
 * A short-lived subscriber certificate (CA/B BR, ballot SC-063: a validity period of at most 10
 * days, 7 for those issued from 2026-03-15) may name no OCSP responder and no CRL: its expiry
 * does the revoking. Such a leaf is not held to hard mode's "a status or critical".
 */
function isShortLived(cert: Certificate): boolean {
  return cert.notAfter.seconds - cert.notBefore.seconds + 1 <= 10 * 86_400;
}

/**
 * A leaf that requires OCSP stapling (TLS Feature status_request, RFC 7633 §4.2.3) from a
 * server that sent no staple, or one that cannot be used (malformed, badly signed, stale, for
 * another certificate, "unknown"): critical, whatever the revocation mode — the promise is
 * broken whether or not revocation is checked (a client that honours it, Firefox, refuses the
 * site). The staple is judged against the leaf's issuer (`path[1]`); without one nothing is
 * said about it (the chain's own findings say why).
 */
export function mustStapleMissing(
  path: readonly Certificate[],
  staple: Uint8Array | null,
  nowSec: number,
): Finding | null {
  const leaf = path[0];
  if (!leaf?.ext.tlsFeatures?.includes(5)) return null;
  const finding = (what: string): Finding => ({
    code: 'must-staple-missing',
    severity: 'critical',
    message: `the leaf certificate (${leaf.subject.text}) requires OCSP stapling (TLS Feature status_request) but ${what}`,
    certIndex: 0,
  });
  if (!staple) return finding('the server sent no staple');
  const issuer = path[1];
  if (!issuer) return null;
  try {
    const a = verifyOcspResponse(staple, leaf, issuer, nowSec);
    if (a.status === 'unknown')
      return finding("the staple the server sent gives the certificate's status as unknown");
  } catch (e) {
    return finding(`the staple the server sent cannot be used: ${(e as Error).message}`);
  }
  return null;
}

/**
 * Revocation of every certificate of a validated path below the anchor (RFC 6960, RFC 5280
 * §6.3): the stapled OCSP response first (leaf), then the sources in `ctx.sources` order.
 * The certificates are checked concurrently, all under `ctx.signal` (the per-target
 * deadline). A definitive `revoked` is always critical; a source that exists but cannot
 * answer — including one cut short by the deadline — makes `revocation-unknown` (warning in
 * soft mode, critical in hard). Certificates that name no source at all are "not-checked",
 * without a finding, in soft mode, and `revocation-unknown` (critical) in hard mode.
 * must-staple without a usable staple is critical.
 */
export async function checkRevocation(
  path: readonly Certificate[],
  staple: Uint8Array | null,
  ctx: RevocationContext,
): Promise<{ findings: Finding[]; perCert: (RevocationInfo | null)[] }> {
  const findings: Finding[] = [];
  const perCert: (RevocationInfo | null)[] = path.map(() => null);
  if (ctx.mode === 'off') return { findings, perCert };
  const checkedAt = new Date(ctx.nowSec * 1000).toISOString().replace('.000Z', 'Z');
  const unknownSeverity = ctx.mode === 'hard' ? 'critical' : 'warning';
  const missingStaple = mustStapleMissing(path, staple, ctx.nowSec);
  if (missingStaple) findings.push(missingStaple);
  const outcomes = await Promise.all(
    path.slice(0, -1).map((cert, i) => checkOne(cert, path[i + 1]!, i, staple, ctx, checkedAt)),
  );
  // A chain entry without an answer: unknown (with why) or not checked.
  const unanswered = (status: 'unknown' | 'not-checked', detail: string): RevocationInfo => ({
    status,
    source: null,
    checkedAt,
    nextUpdate: null,
    reason: null,
    detail,
  });
  outcomes.forEach(({ info, problems, hadSource, revokedBySupplied }, i) => {
    const cert = path[i]!;
    const who =
      i === 0 ? `the leaf certificate (${cert.subject.text})` : `intermediate #${i} (${cert.subject.text})`;
    if (info) {
      perCert[i] = info;
      if (info.status === 'revoked')
        findings.push({
          code: 'revoked',
          severity: 'critical',
          message: `${who} (serial ${cert.serialHex}) is revoked according to ${info.detail}${info.reason ? ` (reason ${info.reason})` : ''}`,
          certIndex: i,
        });
    } else if (hadSource) {
      perCert[i] = unanswered('unknown', problems.join('; '));
      findings.push({
        code: 'revocation-unknown',
        severity: unknownSeverity,
        message: `the revocation status of ${who} could not be determined: ${problems.join('; ')}`,
        certIndex: i,
      });
    } else if (i === 0 && isShortLived(cert)) {
      perCert[i] = unanswered(
        'not-checked',
        `a short-lived certificate (valid ${validityDays(cert)} days), which needs no revocation source (CA/B BR 4.9.1.1, 7.1.2.11.2)`,
      );
    } else if (ctx.mode === 'hard' && !revokedBySupplied) {
      // Hard mode asked for a status: a certificate that names nowhere to get one has none.
      const why = 'it names no OCSP responder and no CRL distribution point, and no supplied CRL covers it';
      perCert[i] = unanswered('unknown', why);
      findings.push({
        code: 'revocation-unknown',
        severity: 'critical',
        message: `the revocation status of ${who} cannot be checked: ${why} (hard revocation mode)`,
        certIndex: i,
      });
    } else {
      perCert[i] = unanswered(
        'not-checked',
        'the certificate names no OCSP responder or CRL distribution point',
      );
    }
  });
  return { findings, perCert };
}
