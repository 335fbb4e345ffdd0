/**
 * The result model (DESIGN.md §4): what `check`, `verify` and the library return, and what
 * every renderer and `schema/result.schema.json` describe. Types only, plus the few pure
 * functions that derive a status, a report and an exit status from them.
 */
import type { Finding } from '../findings/catalogue.js';
import type { Conformance, Profile } from '../verify/options.js';
import type { ChainEntry } from './chainEntry.js';

export type { Finding, Severity } from '../findings/catalogue.js';
export type { CertificateSource, ChainEntry, ChainPublicKey, SubjectAltNames } from './chainEntry.js';
export type { RevocationInfo } from './revocation.js';

export type Status = 'ok' | 'warning' | 'critical' | 'error';

/** The protocol versions `--probe-protocols` tries one at a time. */
export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** What was negotiated on the connection that was checked. */
export interface TlsInfo {
  /** e.g. `TLSv1.3`; null when the handshake did not get that far. */
  readonly protocol: string | null;
  /** The cipher suite's standard (IANA) name. */
  readonly cipher: string | null;
  /** The ALPN protocol the server selected, or null. */
  readonly alpn: string | null;
  /** The server stapled an OCSP response. */
  readonly ocspStapled: boolean;
  /**
   * Client certificates: the server did not ask (`not-requested`), asked and went on without
   * one (`optional`) or with ours (`accepted`), refused for want of one (`required-missing`) or
   * refused ours (`rejected`). Absent when the handshake ended before that was known.
   */
  readonly clientCertificate?: 'not-requested' | 'optional' | 'accepted' | 'required-missing' | 'rejected';
  /**
   * `--probe-protocols`: whether the server accepts each version when a client offers only
   * that one (versions not tried before the deadline are absent).
   */
  readonly protocols?: Readonly<Partial<Record<TlsVersion, boolean>>>;
}

/** Milliseconds spent in each phase of the probe. */
export interface Timings {
  readonly dnsMs: number;
  readonly connectMs: number;
  readonly starttlsMs: number;
  readonly handshakeMs: number;
  readonly totalMs: number;
}

/** Node/OpenSSL's own verdict on the same chain and anchors, beside certvet's. */
export interface CrossCheck {
  /** Node's `TLSSocket.authorized`. */
  readonly authorized: boolean;
  /** Node's `authorizationError`, or null. */
  readonly error: string | null;
  /** certvet found a valid path. */
  readonly certvetValid: boolean;
  /** Both said the same (a disagreement is worth a look). */
  readonly agrees: boolean;
}

/** The settings and outcome of an offline `certvet verify`. */
export interface VerificationInfo {
  readonly valid: boolean;
  /** The best path ends at a trust anchor (it may still be invalid). */
  readonly anchored: boolean;
  readonly profile: Profile;
  readonly conformance: Conformance;
  /** ISO 8601: the verification time. */
  readonly at: string;
}

/** One checked target (`check`, the library's `checkTarget`/`scan`) or file (`verify`). */
export interface TargetResult {
  /** The target as given (a file path for `verify`). */
  readonly target: string;
  readonly host: string | null;
  readonly port: number | null;
  /** The IP address dialled. */
  readonly address: string | null;
  /** The SNI sent, or null. */
  readonly servername: string | null;
  readonly status: Status;
  readonly findings: readonly Finding[];
  /** The validated path, leaf first (or, when none validates, what the server sent). */
  readonly chain: readonly ChainEntry[];
  /** Wall time of the whole check. */
  readonly durationMs: number;
  /** Endpoint checks only. */
  readonly tls?: TlsInfo;
  /** Endpoint checks only; null when no handshake completed. */
  readonly crossCheck?: CrossCheck | null;
  /** Endpoint checks only. */
  readonly timings?: Timings;
  /** `certvet verify` only. */
  readonly verification?: VerificationInfo;
}

export interface Summary {
  readonly total: number;
  readonly ok: number;
  readonly warning: number;
  readonly critical: number;
  readonly error: number;
}

/** `--format json`: the whole run. */
export interface Report {
  readonly version: 1;
  /** ISO 8601. */
  readonly generatedAt: string;
  readonly summary: Summary;
  readonly results: readonly TargetResult[];
}

/** A target's status: the worst severity among its findings (`error` findings mean it could not be checked). */
export function statusOf(findings: readonly Finding[]): Status {
  let s: Status = 'ok';
  for (const f of findings) {
    if (f.severity === 'error') return 'error';
    if (f.severity === 'critical') s = 'critical';
    else if (f.severity === 'warning' && s === 'ok') s = 'warning';
  }
  return s;
}

export function buildReport(results: readonly TargetResult[], now: Date = new Date()): Report {
  const summary = { total: results.length, ok: 0, warning: 0, critical: 0, error: 0 };
  for (const r of results) summary[r.status]++;
  return { version: 1, generatedAt: now.toISOString(), summary, results };
}

/** DESIGN.md §3 exit status: 2 any critical, 3 errors but no critical, 1 warnings, 0 all ok. */
export function exitCodeOf(report: Pick<Report, 'summary'>): number {
  const s = report.summary;
  if (s.critical) return 2;
  if (s.error) return 3;
  if (s.warning) return 1;
  return 0;
}
