/**
 * The per-target pipeline, in steps named after what they do: probe the endpoint
 * (`probeTarget`), then assess what it showed (`assessObservation`: verification, AIA chain
 * completion, revocation, sticky revocation, extra checks), then optionally probe each TLS
 * version (`probeProtocols`) — all under one deadline (`checkTarget`). src/scan/ runs many
 * targets through it; the verified HTTPS clients assess their own connections with it.
 */

import type { Finding } from '../findings/catalogue.js';
import type { ChainEntry } from '../model/chainEntry.js';
import { statusOf, type TargetResult } from '../model/result.js';
import { startDeadline } from '../probe/deadline.js';
import type { Observation } from '../probe/observation.js';
import type { ClientIdentity, LookupFn, ProbeOptions, ProbeTimeouts } from '../probe/probe.js';
import { DEFAULT_TIMEOUTS, probe } from '../probe/probe.js';
import type { AiaFetcher } from '../revocation/aia.js';
import { checkRevocation, mustStapleMissing, type RevocationContext } from '../revocation/checkRevocation.js';
import type { TargetSpec } from '../scan/target.js';
import type { Certificate } from '../x509/certificate.js';
import { type CheckPolicy, type Evaluation, evaluateObservation } from './checkObservation.js';

/** One endpoint to check, with everything that may differ per target. */
export interface ScanTarget {
  readonly spec: TargetSpec;
  readonly servername?: string | null;
  /** Dial this address (from --resolve or the config). */
  readonly address?: string | null;
  readonly expectName?: string | null;
  readonly policy: CheckPolicy;
  /** Anchors as PEM for Node's cross-check (undefined: Node's default roots). */
  readonly caPem?: readonly string[];
  readonly client?: ClientIdentity;
  readonly timeouts?: Partial<ProbeTimeouts>;
  /** Completes chains the server sent incompletely from AIA caIssuers URLs (absent: off). */
  readonly aia?: AiaFetcher;
  /** Revocation checking (OCSP, CRL over the network); absent or mode 'off' skips it. */
  readonly revocation?: Omit<RevocationContext, 'nowSec'>;
  /** Also try TLS 1.0, 1.1, 1.2 and 1.3 one by one and report which the server accepts. */
  readonly probeProtocols?: boolean;
  /** Checks run after verification and revocation (pins, expectations, a policy hook). */
  readonly extraChecks?: readonly ExtraCheck[];
}

const VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;

export interface ScanOptions {
  /** Targets checked at once (default 32; capped by the open-file limit, see `effectiveConcurrency`). */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  readonly lookup?: LookupFn;
  /** Retries of transient network failures (connect-failed, timeout) per target (default 0). */
  readonly retries?: number;
  /** Verification time (default: now, per target). */
  readonly at?: Date;
  /** Called as each target completes (completion order). */
  readonly onResult?: (result: TargetResult, index: number) => void;
  /** Runs the probes (default: `probe()` in this thread; a ProbePool spreads them over workers). */
  readonly prober?: Prober;
}

/** Something that runs a probe: `probe()` itself, or a pool of threads (src/probe/probePool.ts). */
export type Prober = (o: ProbeOptions) => Promise<Observation>;

/**
 * Checks one target: probe (I/O), then the pure verification and checks, then AIA and
 * revocation fetches. One deadline (`timeouts.totalMs`, the CLI's --timeout) covers all of it:
 * the probe, AIA, OCSP and CRL fetches share one AbortSignal (the deadline combined with
 * `o.signal`), and `durationMs` is the wall time of the whole check. A retry (`o.retries`) of a
 * transient connection failure gets a fresh deadline.
 */
export async function checkTarget(
  t: ScanTarget,
  o: Omit<ScanOptions, 'concurrency' | 'onResult'> = {},
): Promise<TargetResult> {
  const started = performance.now();
  const totalMs = t.timeouts?.totalMs ?? DEFAULT_TIMEOUTS.totalMs;
  let attempt = 0;
  for (;;) {
    const deadline = startDeadline(totalMs, `the check of ${t.spec.raw}`, o.signal);
    let result: TargetResult | 'retry';
    try {
      result = await attemptTarget(t, o, deadline.signal, attempt);
    } finally {
      deadline.dispose();
    }
    if (result === 'retry') {
      attempt++;
      await new Promise((r) => setTimeout(r, 200 * attempt));
      continue;
    }
    return { ...result, durationMs: Math.round(performance.now() - started) };
  }
}

/** What every probe of a target is told: where, how (STARTTLS, a login's user, the protocol over TLS), trusting what, as whom, how long. */
function targetProbeOptions(t: ScanTarget) {
  return {
    host: t.spec.host,
    port: t.spec.port,
    servername: t.servername,
    starttls: t.spec.starttls,
    ...(t.spec.user ? { user: t.spec.user } : {}),
    ...(t.expectName ? { identityName: t.expectName } : {}),
    ...(t.spec.protocolOverTls ? { protocolOverTls: t.spec.protocolOverTls } : {}),
    ...(t.caPem ? { ca: t.caPem } : {}),
    ...(t.client ? { client: t.client } : {}),
    ...(t.timeouts ? { timeouts: t.timeouts } : {}),
  } satisfies ProbeOptions;
}

/** Connects to a target as it is configured and records what it sends (no trust decision). */
export function probeTarget(
  t: ScanTarget,
  signal: AbortSignal,
  lookup?: LookupFn,
  extra: { readonly postHandshakeWaitMs?: number } = {},
  prober: Prober = probe,
): Promise<Observation> {
  return prober({
    ...targetProbeOptions(t),
    address: t.address ?? null,
    ...(t.spec.scheme === 'https' ? { alpn: ['h2', 'http/1.1'] } : {}),
    ...(lookup ? { lookup } : {}),
    ...extra,
    signal,
  });
}

async function attemptTarget(
  t: ScanTarget,
  o: Omit<ScanOptions, 'concurrency' | 'onResult'>,
  signal: AbortSignal,
  attempt: number,
): Promise<TargetResult | 'retry'> {
  const obs = await probeTarget(t, signal, o.lookup, {}, o.prober);
  const transient =
    obs.error &&
    (obs.error.code === 'connect-failed' || obs.error.code === 'timeout') &&
    obs.certificates.length === 0;
  if (transient && attempt < (o.retries ?? 0) && !o.signal?.aborted) return 'retry';
  const now = o.at ?? new Date();
  const result = await assessObservation(t, obs, now, signal);
  if (!t.probeProtocols || obs.error || !obs.address) return result;
  return { ...result, ...(await probeProtocols(t, obs.address, result, signal, o.prober ?? probe)) };
}

/** What an extra check (pins, expectations, a user's policy) sees of one checked connection. */
export interface ExtraCheckContext {
  readonly target: string;
  /** The validated path (leaf first), or the best candidate when none validates. */
  readonly path: readonly Certificate[];
  /** The path ends at a trust anchor. */
  readonly anchored: boolean;
  /** The result so far (findings, chain, tls). */
  readonly result: TargetResult;
  readonly observation: Observation;
  /** The target's deadline (and the caller's cancellation). */
  readonly signal: AbortSignal;
}

/** Findings to add to a result (e.g. pin-mismatch, custom:…); may be asynchronous. */
export type ExtraCheck = (ctx: ExtraCheckContext) => readonly Finding[] | Promise<readonly Finding[]>;

/**
 * From what a connection showed to a result: verification (pure), AIA chain completion,
 * revocation, then the target's extra checks — everything after the probe, under `signal`.
 * Also used by the verified HTTPS clients, which observe their own connections.
 */
export async function assessObservation(
  t: ScanTarget,
  obs: Observation,
  now: Date,
  signal: AbortSignal,
): Promise<TargetResult> {
  let ev = evaluateObservation(
    { target: t.spec.raw, host: t.spec.host, port: t.spec.port, expectName: t.expectName ?? null },
    obs,
    t.policy,
    now,
  );
  let result = ev.result;
  if (!ev.anchored && t.aia && ev.path.length) {
    const aia = await completeViaAia(t, obs, ev, now, signal);
    if ('ev' in aia) ({ ev, result } = aia);
    else if (aia.problems.length) result = withAiaProblems(result, aia.problems);
  }
  if (t.revocation && t.revocation.mode !== 'off' && ev.anchored && ev.path.length > 1) {
    const rv = await checkRevocation(ev.path, obs.ocspStaple, {
      ...t.revocation,
      ...(t.policy.crls?.length && t.policy.crlUnknownsByRevocation ? { supplied: t.policy.crls } : {}),
      nowSec: Math.floor(now.getTime() / 1000),
      signal,
    });
    const findings = [...result.findings, ...rv.findings];
    const chain = result.chain.map((e, i) => (rv.perCert[i] ? { ...e, revocation: rv.perCert[i]! } : e));
    result = { ...result, findings, chain, status: statusOf(findings) };
  } else if (ev.path[0]) {
    // Revocation not checked (off, or no trusted path): a broken stapling promise still shows.
    const missingStaple = mustStapleMissing(ev.path, obs.ocspStaple, Math.floor(now.getTime() / 1000));
    if (missingStaple) {
      const findings = [...result.findings, missingStaple];
      result = { ...result, findings, status: statusOf(findings) };
    }
  }
  result = stickyRevocation(result, now);
  if (t.extraChecks && ev.path.length) {
    const extra: Finding[] = [];
    for (const check of t.extraChecks)
      extra.push(
        ...(await check({
          target: t.spec.raw,
          path: ev.path,
          anchored: ev.anchored,
          result,
          observation: obs,
          signal,
        })),
      );
    if (extra.length) {
      const findings = [...result.findings, ...extra];
      result = { ...result, findings, status: statusOf(findings) };
    }
  }
  return result;
}

/**
 * Revoked is sticky across sources: a certificate that a supplied CRL (verification) revoked
 * shows as revoked on its chain entry, whatever a network source said about it.
 */
function stickyRevocation(result: TargetResult, now: Date): TargetResult {
  let chain: ChainEntry[] | null = null;
  for (const f of result.findings) {
    if (f.code !== 'revoked' || f.certIndex === undefined) continue;
    const entry = (chain ?? result.chain)[f.certIndex];
    if (!entry || entry.revocation?.status === 'revoked') continue;
    chain ??= [...result.chain];
    const said =
      entry.revocation?.status === 'good' ? ` (revoked is final: ${entry.revocation.detail} said good)` : '';
    chain[f.certIndex] = {
      ...entry,
      revocation: {
        status: 'revoked',
        source: 'crl',
        checkedAt: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        nextUpdate: null,
        reason: null,
        detail: `${f.message}${said}`,
      },
    };
  }
  return chain ? { ...result, chain } : result;
}

/**
 * AIA chain completion: fetch the issuers named by the top certificate of the best partial
 * path (at most three levels), then evaluate again with them.
 */
async function completeViaAia(
  t: ScanTarget,
  obs: Observation,
  ev: Evaluation,
  now: Date,
  signal: AbortSignal,
): Promise<{ ev: Evaluation; result: TargetResult } | { problems: string[] }> {
  const fetched: Certificate[] = [];
  // Why each caIssuers URL tried gave no issuer, for the untrusted finding when none helps.
  const problems: string[] = [];
  let top = ev.path[ev.path.length - 1]!;
  for (let depth = 0; depth < 3; depth++) {
    const urls = top.ext.authorityInfoAccess?.caIssuers ?? [];
    const settled = await Promise.allSettled(t.aia!.issuersOf(top, signal));
    const got: Certificate[] = [];
    settled.forEach((r, i) => {
      if (r.status === 'rejected') problems.push(`${urls[i]}: ${(r.reason as Error).message}`);
      else {
        got.push(...r.value);
        if (!r.value.some((c) => c.subject.key === top.issuer.key))
          problems.push(`${urls[i]}: no certificate for the issuer ${top.issuer.text}`);
      }
    });
    const issuer = got.find((c) => c.subject.key === top.issuer.key);
    if (!issuer) break;
    fetched.push(...got);
    if (t.policy.anchors.some((a) => a.subject.key === issuer.issuer.key) || issuer.selfIssued) break;
    top = issuer;
  }
  if (!fetched.length) return { problems };
  const again = evaluateObservation(
    { target: t.spec.raw, host: t.spec.host, port: t.spec.port, expectName: t.expectName ?? null },
    obs,
    { ...t.policy, aiaIntermediates: fetched },
    now,
  );
  if (again.anchored) return { ev: again, result: again.result };
  problems.push('the certificates fetched still lead to no trust anchor');
  return { problems };
}

/** The untrusted finding says what fetching the missing issuer through AIA ran into. */
function withAiaProblems(result: TargetResult, problems: readonly string[]): TargetResult {
  const said =
    problems.slice(0, 4).join('; ') + (problems.length > 4 ? `; and ${problems.length - 4} more` : '');
  return {
    ...result,
    findings: result.findings.map((f) =>
      f.code === 'untrusted'
        ? {
            ...f,
            message: `${f.message} (fetching the missing issuer through AIA caIssuers failed: ${said})`,
          }
        : f,
    ),
  };
}

/** One handshake per protocol version (OpenSSL needs @SECLEVEL=0 for 1.0/1.1, which the probe sets). */
async function probeProtocols(
  t: ScanTarget,
  address: string,
  result: TargetResult,
  signal: AbortSignal,
  prober: Prober,
): Promise<Pick<TargetResult, 'findings' | 'status' | 'tls'>> {
  // Versions not tried before the deadline are left out (neither accepted nor refused).
  const accepted: Partial<Record<(typeof VERSIONS)[number], boolean>> = {};
  for (const v of VERSIONS) {
    if (signal.aborted) break;
    const r = await prober({
      ...targetProbeOptions(t),
      address,
      minVersion: v,
      maxVersion: v,
      postHandshakeWaitMs: 0,
      signal,
    });
    if (signal.aborted && r.error) break;
    accepted[v] = r.protocol === v && (r.error === null || r.certificates.length > 0);
  }
  const findings = [...result.findings];
  const old = VERSIONS.filter((v) => (v === 'TLSv1' || v === 'TLSv1.1') && accepted[v]);
  if (old.length && !findings.some((f) => f.code === 'protocol-deprecated'))
    findings.push({
      code: 'protocol-deprecated',
      severity: 'warning',
      message: `the server accepts ${old.join(' and ')} (deprecated by RFC 8996) when a client offers only that`,
    });
  return {
    findings,
    status: statusOf(findings),
    ...(result.tls ? { tls: { ...result.tls, protocols: accepted } } : {}),
  };
}
