import type { Finding } from '../findings/catalogue.js';
import type { ChainEntry } from '../model/chainEntry.js';

/** A library option that cannot be used (unknown key, wrong type, unreadable CA text). */
export class CertvetOptionError extends TypeError {
  override readonly name = 'CertvetOptionError';
  readonly code = 'CERTVET_INVALID_OPTION';
  constructor(
    /** The option, e.g. `timeout` or `targets[3].ca`. */
    readonly option: string,
    message: string,
  ) {
    super(`certvet option ${option}: ${message}`);
  }
}

/**
 * A connection whose certificate certvet refused, raised before any request byte was sent.
 * `findings` are the problems (codes from the catalogue), `chain` the validated path or what
 * the server sent, `target` the endpoint.
 */
export class CertificateVerificationError extends Error {
  override readonly name = 'CertificateVerificationError';
  readonly code = 'CERTVET_VERIFICATION_FAILED';
  constructor(
    readonly target: string,
    readonly findings: readonly Finding[],
    readonly chain: readonly ChainEntry[],
  ) {
    const worst = findings.filter((f) => f.severity === 'critical' || f.severity === 'error');
    const shown = (worst.length ? worst : findings).slice(0, 3).map((f) => `${f.code}: ${f.message}`);
    super(`certificate verification failed for ${target}: ${shown.join('; ') || 'no finding'}`);
  }
}
