import type { Finding } from '../findings/catalogue.js';
import type { ChainEntry } from './chainEntry.js';

export type Status = 'ok' | 'warning' | 'critical' | 'error';

/** One checked target or file (DESIGN.md §4). */
export interface TargetResult {
  readonly target: string;
  readonly host: string | null;
  readonly port: number | null;
  readonly address: string | null;
  readonly servername: string | null;
  readonly status: Status;
  readonly findings: readonly Finding[];
  readonly chain: readonly ChainEntry[];
  readonly durationMs: number;
  /** Extra, command-specific detail (e.g. the verification settings); additive to §4. */
  readonly [extra: string]: unknown;
}

export interface Report {
  readonly version: 1;
  readonly generatedAt: string;
  readonly summary: {
    readonly total: number;
    readonly ok: number;
    readonly warning: number;
    readonly critical: number;
    readonly error: number;
  };
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
export function exitCodeOf(report: Report): number {
  const s = report.summary;
  if (s.critical) return 2;
  if (s.error) return 3;
  if (s.warning) return 1;
  return 0;
}
