/** CRLReason names (RFC 5280 §5.3.1), by code; shared by CRL entries and OCSP RevokedInfo. */
export const CRL_REASONS: readonly string[] = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'unused(7)',
  'removeFromCRL',
  'privilegeWithdrawn',
  'aACompromise',
];
