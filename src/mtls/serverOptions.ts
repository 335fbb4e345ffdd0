import { checkObject, checkOneOf, checkPositiveInt, checkType } from './check.js';

/** How a gated server treats rejected clients. */
export interface MtlsGateOptions {
  /**
   * Put the findings (codes and sentences: serials, revocation dates, CA subjects) in 401/403
   * bodies. Default false: a short generic message. The verifier's 'rejected' event always has
   * them.
   */
  readonly exposeFindings?: boolean;
  /**
   * A rejected client: 'respond' answers every request with 401 (no certificate) or 403 and
   * closes — HTTP/1.1 or HTTP/2 by ALPN, from a private responder, not the application's server;
   * 'close' closes the connection at once. Default: 'respond' for the HTTPS and HTTP/2 servers,
   * 'close' for plain TLS.
   */
  readonly rejection?: 'respond' | 'close';
  /** How long a rejected connection may stay open to be answered (default 10 000 ms). */
  readonly rejectTimeoutMs?: number;
}

/** Options of `createRequestGuard` and `clientCertMiddleware`. */
export interface MtlsGuardOptions {
  /** As for the servers: findings in 401/403 bodies only when true (default false). */
  readonly exposeFindings?: boolean;
}

const GATE_KEYS = Object.keys({
  exposeFindings: true,
  rejection: true,
  rejectTimeoutMs: true,
} satisfies Record<keyof MtlsGateOptions, true>);

export function checkGateOptions(o: unknown): MtlsGateOptions {
  if (o === undefined) return {};
  const r = checkObject(o, 'options', GATE_KEYS);
  checkType(r.exposeFindings, 'exposeFindings', 'boolean');
  checkOneOf(r.rejection, 'rejection', ['respond', 'close'] as const);
  checkPositiveInt(r.rejectTimeoutMs, 'rejectTimeoutMs');
  return r as MtlsGateOptions;
}

export function checkGuardOptions(o: unknown): MtlsGuardOptions {
  if (o === undefined) return {};
  const r = checkObject(o, 'options', ['exposeFindings']);
  checkType(r.exposeFindings, 'exposeFindings', 'boolean');
  return r as MtlsGuardOptions;
}
