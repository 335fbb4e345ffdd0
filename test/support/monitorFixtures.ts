/*
 * TargetResults for the monitor's store and event tests, made the way the check pipeline makes
 * them: real certificates from src/lab/pki.ts, judged by evaluateObservation (so chain entries,
 * hashes, SPKI digests and expires-soon findings are the library's own), plus a revocation step
 * shaped like src/revocation/checkRevocation.ts's output. No network: the observation is built
 * as the probe would have recorded it.
 */
import { evaluateObservation } from '../../src/check/checkObservation.js';
import type { IssuedCert } from '../../src/lab/pki.js';
import { statusOf, type TargetResult } from '../../src/model/result.js';
import type { MonitoredTarget } from '../../src/monitor/model.js';
import type { Observation } from '../../src/probe/observation.js';

export const DAY = 86400_000;

export function monitored(name: string, o: Partial<MonitoredTarget> = {}): MonitoredTarget {
  return {
    id: `web/${name}`,
    group: 'web',
    target: name,
    intervalSec: 60,
    labels: {},
    warnDays: 30,
    critDays: 7,
    ...o,
  };
}

function observation(sent: readonly IssuedCert[], error: Observation['error'] = null): Observation {
  return {
    address: '127.0.0.1',
    port: 443,
    servername: 'localhost',
    certificates: sent.map((c) => c.der),
    protocol: sent.length ? 'TLSv1.3' : null,
    cipher: sent.length ? 'TLS_AES_128_GCM_SHA256' : null,
    alpn: null,
    ocspStaple: null,
    crossCheck: null,
    clientCert: 'not-requested',
    timings: { dnsMs: 0, connectMs: 1, starttlsMs: 0, handshakeMs: 2, totalMs: 3 },
    error,
  };
}

export interface ResultSpec {
  /** What the server sends, leaf first. */
  readonly sent: readonly IssuedCert[];
  readonly anchors: readonly IssuedCert[];
  /** The check time (ms). */
  readonly at: number;
  /** Indexes of the path marked revoked (by CRL), as the revocation step would. */
  readonly revoked?: readonly number[];
  readonly warnDays?: number;
  readonly critDays?: number;
}

export function resultOf(target: MonitoredTarget, s: ResultSpec): TargetResult {
  const { result } = evaluateObservation(
    { target: target.target, host: 'localhost', port: 443 },
    observation(s.sent),
    {
      anchors: s.anchors.map((c) => c.parsed),
      profile: 'rfc5280',
      conformance: 'enforce',
      warnDays: s.warnDays ?? target.warnDays,
      critDays: s.critDays ?? target.critDays,
      warnPercent: 0,
    },
    new Date(s.at),
  );
  if (!s.revoked?.length) return result;
  const checkedAt = new Date(s.at).toISOString();
  const chain = result.chain.map((c, i) =>
    s.revoked?.includes(i)
      ? {
          ...c,
          revocation: {
            status: 'revoked' as const,
            source: 'crl' as const,
            checkedAt,
            nextUpdate: null,
            reason: 'keyCompromise',
            detail: 'the CRL of the test CA',
          },
        }
      : c,
  );
  const findings = [
    ...result.findings,
    ...s.revoked.map((i) => ({
      code: 'revoked' as const,
      severity: 'critical' as const,
      message: `certificate #${i} (serial ${chain[i]?.serialNumber}) is revoked according to the CRL of the test CA (reason keyCompromise)`,
      certIndex: i,
    })),
  ];
  return { ...result, chain, findings, status: statusOf(findings) };
}

/** A check that received nothing: connection refused. */
export function unreachable(target: MonitoredTarget, at: number): TargetResult {
  return evaluateObservation(
    { target: target.target, host: 'localhost', port: 443 },
    observation([], { code: 'connect-failed', message: 'connect ECONNREFUSED 127.0.0.1:443' }),
    { anchors: [], profile: 'rfc5280', conformance: 'enforce', warnDays: 30, critDays: 7, warnPercent: 0 },
    new Date(at),
  ).result;
}
