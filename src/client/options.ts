/**
 * Options shared by the verified clients (HTTPS agent, fetch dispatcher, connectVerified): the
 * checker's options, or a checker to share, plus `failOn`. One checker per client, so every
 * connection it makes shares the parse, CRL, OCSP and AIA caches.
 */
import { type Checker, type CheckerOptions, checkerInternals, createChecker } from '../check/checker.js';
import { CertvetOptionError } from '../check/errors.js';
import type { TargetResult } from '../model/result.js';

/** The worst status a connection may have and still be used: `critical` (default) refuses critical and error only; `warning` refuses warnings too. */
export type FailOn = 'critical' | 'warning';

export interface VerifiedClientOptions extends CheckerOptions {
  /** Refuse connections whose result is at least this bad (default `critical`; `error` always refuses). */
  readonly failOn?: FailOn;
  /**
   * A checker made by `createChecker` to use (and share, with its caches) instead of building
   * one from the options here; give either this or checker options, not both.
   */
  readonly checker?: Checker;
}

/** The checker and verdict rule of one client. */
export interface ClientBasis {
  readonly checker: Checker;
  readonly failOn: FailOn;
}

/** Splits `options` into the client's own keys (`own`) and the rest; validates failOn and checker. */
export function clientBasis<K extends string>(
  options: VerifiedClientOptions & Partial<Record<K, unknown>>,
  own: readonly K[],
  where: string,
): { basis: ClientBasis; own: Partial<Record<K, unknown>> } {
  if (options === null || typeof options !== 'object')
    throw new CertvetOptionError('options', 'must be an object');
  const { failOn, checker, ...rest } = options as VerifiedClientOptions & Record<string, unknown>;
  if (failOn !== undefined && failOn !== 'critical' && failOn !== 'warning')
    throw new CertvetOptionError('failOn', 'must be "critical" or "warning"');
  const ownValues: Partial<Record<K, unknown>> = {};
  const checkerOptions: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if ((own as readonly string[]).includes(k)) ownValues[k as K] = v;
    else checkerOptions[k] = v;
  }
  let c: Checker;
  if (checker !== undefined) {
    checkerInternals(checker); // throws unless made by createChecker
    const extra = Object.keys(checkerOptions);
    if (extra.length)
      throw new CertvetOptionError(
        extra[0]!,
        `${where}: give either \`checker\` or checker options (${extra.join(', ')}), not both`,
      );
    c = checker;
  } else c = createChecker(checkerOptions as CheckerOptions);
  return { basis: { checker: c, failOn: failOn ?? 'critical' }, own: ownValues };
}

/** Per-connection checker options an HTTP client cannot honour (its requests name the server). */
export function rejectPerConnection(options: VerifiedClientOptions, where: string): void {
  if (options && typeof options === 'object')
    for (const k of ['servername', 'starttls'] as const)
      if (options[k] !== undefined)
        throw new CertvetOptionError(
          k,
          `${where}: not an option of an HTTP client (the request's host is the SNI and the name verified; use \`lookup\` to dial another address, \`expectName\` to verify another name)`,
        );
}

/** Whether a connection with this result must not be used. */
export function refuses(result: TargetResult, failOn: FailOn): boolean {
  return (
    result.status === 'critical' ||
    result.status === 'error' ||
    (failOn === 'warning' && result.status === 'warning')
  );
}
