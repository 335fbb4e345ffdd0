import type { ClientVerdict } from './verifier.js';

/** What a refused HTTP client is told. */
export interface Rejection {
  readonly status: 401 | 403;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * 401 when no certificate was presented, 403 otherwise, with a short generic JSON message. The
 * findings (codes and sentences, which name serials, revocation dates and CA subjects) are
 * added only when the operator opts in with `exposeFindings`: they tell a prober which CA,
 * serial or rule to aim at. The verifier's 'rejected' event always carries them.
 */
export function rejectionOf(v: ClientVerdict, exposeFindings = false): Rejection {
  const missing = v.findings.some((f) => f.code === 'client-cert-missing');
  const body = JSON.stringify({
    error: missing ? 'client certificate required' : 'client certificate rejected',
    ...(exposeFindings
      ? {
          findings: v.findings
            .filter((f) => f.severity === 'critical' || f.severity === 'error')
            .map((f) => ({ code: f.code, message: f.message })),
        }
      : {}),
  });
  return {
    status: missing ? 401 : 403,
    body,
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
  };
}
