/**
 * A mistake in the configuration of the mTLS verifier or of a server adapter: an unknown
 * option or allow-rule key, a value of the wrong type, an unusable CA bundle. Thrown at
 * construction (or `update()`), never at request time, so a typo cannot become a rule that
 * silently matches nothing.
 */
export class MtlsConfigError extends Error {
  readonly code = 'CERTVET_MTLS_CONFIG' as const;
  /** Where the problem is, as a path into the options (`allow[2].fingerprnt`, `revocation`). */
  readonly option: string;

  constructor(option: string, message: string) {
    super(`${option}: ${message}`);
    this.name = 'MtlsConfigError';
    this.option = option;
  }
}
