import { randomBytes } from 'node:crypto';
import type { Finding } from '../findings/catalogue.js';
import { checkCrls, checkDelta } from '../verify/crl.js';
import type { Certificate } from '../x509/certificate.js';
import type { CrlCache } from './crlCache.js';
import { boundedFetch, type FetchOptions } from './fetch.js';
import {
  buildOcspRequest,
  type CertIdHash,
  type OcspAnswer,
  OcspError,
  ocspGetUrl,
  verifyOcspResponse,
} from './ocsp.js';

export type RevocationMode = 'off' | 'soft' | 'hard';
export type RevocationSourceKind = 'ocsp' | 'crl';

/** Per-certificate revocation outcome, as JSON carries it on each chain entry. */
export interface RevocationInfo {
  readonly status: 'good' | 'revoked' | 'unknown' | 'not-checked';
  readonly source: 'ocsp-stapled' | 'ocsp' | 'crl' | null;
  readonly checkedAt: string;
  readonly nextUpdate: string | null;
  readonly reason: string | null;
  /** Why the status is unknown, or where it came from. */
  readonly detail: string | null;
}

/**
 * OCSP answers shared across a run: an intermediate seen behind 1,000 endpoints is asked
 * about once (single-flight), and the answer reused until its nextUpdate (at most an hour).
 */
export class OcspCache {
  private readonly entries = new Map<string, { promise: Promise<OcspAnswer>; expiresAt: number }>();
  queries = 0;

  get(key: string, load: () => Promise<OcspAnswer>): Promise<OcspAnswer> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return hit.promise;
    this.queries++;
    const entry = { promise: load(), expiresAt: now + 3600_000 };
    entry.promise.then(
      (a) => {
        entry.expiresAt = Math.min(entry.expiresAt, a.nextUpdate ? a.nextUpdate.getTime() : now + 300_000);
      },
      () => {
        entry.expiresAt = Date.now() + 30_000;
      },
    );
    this.entries.set(key, entry);
    if (this.entries.size > 4096) this.entries.delete(this.entries.keys().next().value as string);
    return entry.promise;
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
  readonly fetch: Omit<FetchOptions, 'method' | 'body' | 'maxBytes'> & { readonly maxOcspBytes: number };
  readonly nowSec: number;
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
): Promise<OcspAnswer> {
  const nonce = ctx.nonce ? new Uint8Array(randomBytes(16)) : undefined;
  const req = buildOcspRequest(cert, issuer, { hash, ...(nonce ? { nonce } : {}) });
  const get = ocspGetUrl(url, req);
  const common = { ...ctx.fetch, maxBytes: ctx.fetch.maxOcspBytes };
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
): Promise<OcspAnswer> {
  let first: OcspAnswer;
  try {
    first = await queryOcspWith(url, cert, issuer, ctx, 'sha1');
  } catch (e) {
    if (e instanceof OcspError && /malformedRequest|unauthorized|does not cover/.test(e.message))
      return queryOcspWith(url, cert, issuer, ctx, 'sha256');
    throw e;
  }
  if (first.status !== 'unknown') return first;
  return queryOcspWith(url, cert, issuer, ctx, 'sha256').catch(() => first);
}

/**
 * Revocation of every certificate of a validated path below the anchor (RFC 6960, RFC 5280
 * §6.3): the stapled OCSP response first (leaf), then the sources in `ctx.sources` order.
 * A definitive `revoked` is always critical; a source that exists but cannot answer makes
 * `revocation-unknown` (warning in soft mode, critical in hard). Certificates that name no
 * source at all are "not-checked", without a finding. must-staple without a staple is critical.
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
  const leaf = path[0];
  if (leaf?.ext.tlsFeatures?.includes(5) && !staple)
    findings.push({
      code: 'must-staple-missing',
      severity: 'critical',
      message: `the leaf certificate (${leaf.subject.text}) requires OCSP stapling (TLS Feature status_request) but the server sent no staple`,
      certIndex: 0,
    });
  for (let i = 0; i < path.length - 1; i++) {
    const cert = path[i]!;
    const issuer = path[i + 1]!;
    const who =
      i === 0 ? `the leaf certificate (${cert.subject.text})` : `intermediate #${i} (${cert.subject.text})`;
    const problems: string[] = [];
    let info: RevocationInfo | null = null;
    const fromOcsp = (
      a: OcspAnswer,
      source: 'ocsp-stapled' | 'ocsp',
      where: string,
    ): RevocationInfo | null => {
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
        detail: `${where}, signed by ${a.signer}${a.revokedAt ? `, revoked at ${iso(a.revokedAt)}` : ''}`,
      };
    };
    if (i === 0 && staple) {
      try {
        info = fromOcsp(
          verifyOcspResponse(staple, cert, issuer, ctx.nowSec),
          'ocsp-stapled',
          'the stapled OCSP response',
        );
      } catch (e) {
        problems.push(`the stapled OCSP response is unusable: ${(e as Error).message}`);
      }
    }
    let hadSource = i === 0 && staple !== null;
    for (const kind of ctx.sources) {
      if (info) break;
      if (kind === 'ocsp') {
        for (const url of cert.ext.authorityInfoAccess?.ocsp ?? []) {
          hadSource = true;
          try {
            const load = () => queryOcsp(url, cert, issuer, ctx);
            const answer = ctx.ocspCache
              ? await ctx.ocspCache.get(`${url}|${cert.sha256}|${issuer.sha256}`, load)
              : await load();
            info = fromOcsp(answer, 'ocsp', `the OCSP responder ${url}`);
          } catch (e) {
            problems.push(`OCSP ${url}: ${(e as Error).message}`);
          }
          if (info) break;
        }
      } else {
        for (const url of cert.ext.crlDistributionPoints ?? []) {
          hadSource = true;
          try {
            const crl = await ctx.crlCache.get(url);
            const st = checkCrls(cert, issuer, [crl], ctx.nowSec, i > 0);
            const next = crl.nextUpdate ? iso(new Date(crl.nextUpdate.seconds * 1000)) : null;
            if (st.status === 'revoked' || st.status === 'good') {
              let entry = st.status === 'revoked' ? st.entry : null;
              let where = `the CRL at ${url}`;
              // Delta CRLs named by the base (freshestCRL) update its verdict.
              for (const deltaUrl of crl.deltaUrls) {
                const delta = await ctx.crlCache.get(deltaUrl);
                const d = checkDelta(cert, issuer, crl, delta, ctx.nowSec);
                if (d === 'removed') entry = null;
                else if (d) entry = d;
                where = `${where} and its delta CRL at ${deltaUrl}`;
              }
              info = entry
                ? {
                    status: 'revoked',
                    source: 'crl',
                    checkedAt,
                    nextUpdate: next,
                    reason: entry.reason,
                    detail: `${where}, revoked at ${iso(new Date(entry.revocationDate.seconds * 1000))}`,
                  }
                : { status: 'good', source: 'crl', checkedAt, nextUpdate: next, reason: null, detail: where };
            } else
              problems.push(
                `CRL ${url}: ${st.status === 'unusable' ? st.reason : 'the CRL does not cover this certificate'}`,
              );
          } catch (e) {
            problems.push(`CRL ${url}: ${(e as Error).message}`);
          }
          if (info) break;
        }
      }
    }
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
      perCert[i] = {
        status: 'unknown',
        source: null,
        checkedAt,
        nextUpdate: null,
        reason: null,
        detail: problems.join('; '),
      };
      findings.push({
        code: 'revocation-unknown',
        severity: unknownSeverity,
        message: `the revocation status of ${who} could not be determined: ${problems.join('; ')}`,
        certIndex: i,
      });
    } else {
      perCert[i] = {
        status: 'not-checked',
        source: null,
        checkedAt,
        nextUpdate: null,
        reason: null,
        detail: 'the certificate names no OCSP responder or CRL distribution point',
      };
    }
  }
  return { findings, perCert };
}
