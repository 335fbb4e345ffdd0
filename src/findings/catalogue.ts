/**
 * The finding codes of DESIGN.md §5: stable identifiers with a default severity. Codes are
 * never renamed; new ones may be added.
 */

export type Severity = 'info' | 'warning' | 'critical' | 'error';

export const FINDING_CODES = {
  expired: 'critical',
  'not-yet-valid': 'critical',
  'expires-soon': 'warning',
  'hostname-mismatch': 'critical',
  untrusted: 'critical',
  'self-signed': 'critical',
  'incomplete-chain': 'warning',
  'invalid-signature': 'critical',
  'basic-constraints': 'critical',
  'path-length': 'critical',
  'name-constraints': 'critical',
  'key-usage': 'critical',
  eku: 'critical',
  'critical-extension': 'critical',
  'malformed-certificate': 'critical',
  revoked: 'critical',
  'revocation-unknown': 'warning',
  'must-staple-missing': 'critical',
  'weak-key': 'critical',
  'weak-signature': 'critical',
  'protocol-deprecated': 'warning',
  'client-cert-required': 'warning',
  'client-cert-rejected': 'critical',
  'connect-failed': 'error',
  'dns-failed': 'error',
  timeout: 'error',
  'handshake-failed': 'error',
  'starttls-failed': 'error',
  // Extensions to DESIGN.md §5 (compatible additions):
  /** A rule of the selected profile (RFC 5280 or CA/B Forum) that the certificate breaks. */
  'profile-violation': 'critical',
  /** Policy processing (RFC 5280 §6.1.3 d-f, §6.1.4 g-j) left no acceptable policy. */
  policy: 'critical',
  /** The path is longer than the caller's maximum depth. */
  'path-too-long': 'critical',
  /** mTLS: the client certificate verifies but no allow rule admits it. */
  'client-not-allowed': 'critical',
  /** mTLS: the client presented no certificate. */
  'client-cert-missing': 'critical',
  /** The server's chain works but carries waste or disorder (e.g. it sends the root). */
  'chain-hygiene': 'info',
  /** Path building stopped at its work budget before finding a valid path. */
  'budget-exceeded': 'critical',
  /** No certificate of the validated path has a pinned SPKI hash (`--pin`, library `pins`). */
  'pin-mismatch': 'critical',
  /** The leaf's issuer is not the expected one (`--expect-issuer`, library `expectIssuer`). */
  'issuer-mismatch': 'critical',
  /** The leaf is not the expected certificate (`--expect-fingerprint`, `expectFingerprint`). */
  'fingerprint-mismatch': 'critical',
} as const satisfies Record<string, Severity>;

export type FindingCode = keyof typeof FINDING_CODES;

/** Codes of findings returned by a user's policy hook: `custom:` and the user's own name. */
export type CustomFindingCode = `custom:${string}`;

/** One problem, with the certificate it concerns (0 = leaf, in the reported chain). */
export interface Finding {
  readonly code: FindingCode | CustomFindingCode;
  readonly severity: Severity;
  readonly message: string;
  readonly certIndex?: number;
  /** The rule behind it, e.g. "RFC 5280 §4.2.1.9" or "CA/B BR 7.1.2.7.8". */
  readonly rule?: string;
}

const ORDER: Record<Severity, number> = { info: 0, warning: 1, critical: 2, error: 3 };

export function worstSeverity(findings: readonly Finding[]): Severity | null {
  let worst: Severity | null = null;
  for (const f of findings) if (worst === null || ORDER[f.severity] > ORDER[worst]) worst = f.severity;
  return worst;
}
