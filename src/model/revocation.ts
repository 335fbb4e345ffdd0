/** Per-certificate revocation outcome, as JSON carries it on each chain entry (DESIGN.md §5). */
export interface RevocationInfo {
  readonly status: 'good' | 'revoked' | 'unknown' | 'not-checked';
  /** Where the status came from (null when nothing answered). */
  readonly source: 'ocsp-stapled' | 'ocsp' | 'crl' | null;
  /** ISO 8601, when the status was established. */
  readonly checkedAt: string;
  /** ISO 8601, when the source promises fresher information, or null. */
  readonly nextUpdate: string | null;
  /** The revocation reason (RFC 5280 §5.3.1), when revoked and given. */
  readonly reason: string | null;
  /** Why the status is unknown, or where it came from. */
  readonly detail: string | null;
}
