import type { Certificate } from '../x509/certificate.js';
import type { KeyUsageBit } from '../x509/extensions.js';
import type { Crl } from './crl.js';

/**
 * Which rule set to validate against: RFC 5280 alone, or with the CA/Browser Forum's Baseline
 * Requirements for TLS server certificates (`webpki`) or for S/MIME certificates (`smime`).
 */
export type Profile = 'rfc5280' | 'webpki' | 'smime';

/** The profiles that judge TLS certificates (endpoint checks, the mTLS verifier). */
export type TlsProfile = Exclude<Profile, 'smime'>;

/**
 * What to do with profile rules (RFC 5280 or CA/B Forum "MUST"s that do not by themselves
 * break trust, such as a missing AKI or a serial number of 21 octets): `enforce` makes them
 * critical (strict validators, x509-limbo), `warn` reports them as warnings (internal CAs).
 */
export type Conformance = 'enforce' | 'warn';

export type Purpose = 'serverAuth' | 'clientAuth' | 'any';

export interface ExpectedName {
  readonly kind: 'dns' | 'ip' | 'email' | 'uri';
  readonly value: string;
}

/**
 * How revocation status that the supplied CRLs cannot establish is reported (RFC 5280 §6.3).
 * A serial listed on a validly signed CRL is always `revoked` (critical), whatever this says.
 */
export interface CrlPolicy {
  /**
   * `soft`: `revocation-unknown` is a warning; `hard`: critical. This is the revocation mode,
   * never the profile conformance mode.
   */
  readonly mode: 'soft' | 'hard';
  /**
   * Every certificate below the anchor must be covered by a supplied CRL, as OpenSSL's
   * X509_V_FLAG_CRL_CHECK_ALL (which Node sets when a server is given a CRL) requires — with no
   * CRL supplied at all, every such certificate's status is unknown. Default false: only
   * certificates whose issuer has a supplied CRL are judged by one.
   */
  readonly requireCoverage?: boolean;
  /**
   * Report what the supplied CRLs cannot establish (`revocation-unknown`) here, in the
   * validator (default true). `certvet check` turns it off while revocation is on: its
   * revocation step weighs the supplied CRLs with the network sources, so that one good answer
   * from any source makes a certificate good and an unknown is reported once. A serial a
   * supplied CRL lists is `revoked` here whatever this says.
   */
  readonly reportUnknown?: boolean;
}

export interface VerifyBudget {
  /** Signature verifications across all candidate paths (default 256). */
  readonly signatureChecks: number;
  /** Path-building steps (candidate issuer visits, default 4096). */
  readonly buildSteps: number;
  /**
   * Name-constraint comparisons (names × subtrees) across all candidate paths (default
   * 250,000, as rustls-webpki): past it the chain is rejected with `budget-exceeded`.
   */
  readonly nameConstraintChecks: number;
}

export interface VerifyOptions {
  readonly leaf: Certificate;
  readonly intermediates?: readonly Certificate[];
  readonly anchors: readonly Certificate[];
  /** Validation time (ms since epoch or Date). Compared at one-second granularity, floored. */
  readonly time: number | Date;
  readonly profile?: Profile;
  readonly conformance?: Conformance;
  /**
   * Default serverAuth; with the `smime` profile (and no `requiredEku`), email protection: the
   * leaf and any CA's extKeyUsage must allow id-kp-emailProtection.
   */
  readonly purpose?: Purpose;
  /** EKU OIDs the leaf must allow; overrides the purpose's EKU when given. */
  readonly requiredEku?: readonly string[];
  /** keyUsage bits the leaf must have when it has a keyUsage extension. */
  readonly requiredKeyUsage?: readonly KeyUsageBit[];
  /**
   * Why they are required, added to the message when one is missing (e.g. "a TLS 1.3 server
   * signs the handshake with this key (RFC 8446 §4.4.2.2)").
   */
  readonly requiredKeyUsageReason?: string;
  /** The names the peer must be valid for; the leaf must match at least one. */
  readonly expectedNames?: readonly ExpectedName[];
  /** Maximum number of intermediates (self-issued ones not counted); null = unbounded. */
  readonly maxDepth?: number | null;
  /** CRLs to honour (RFC 5280 §6.3), e.g. given on the command line. */
  readonly crls?: readonly Crl[];
  /**
   * Also judge the trust anchor by the profile's encoding and issuance rules (serial number,
   * AKI/SKI, criticality, CA/B root rules), as pyca/cryptography and x509-limbo do. Default
   * false: an anchor is trusted out of band for its name, key and constraints (its validity,
   * basicConstraints, keyUsage, key strength and name constraints are still enforced), as
   * rustls-webpki, Go and Chrome do; real Mozilla roots have serial 0 or lack an AKI.
   */
  readonly strictAnchors?: boolean;
  /** How unusable or missing CRLs are reported (default soft, coverage not required). */
  readonly crlPolicy?: CrlPolicy;
  readonly budget?: Partial<VerifyBudget>;
  /**
   * Share signature results across calls (default true): they depend only on the two
   * certificates' bytes. Off for benchmarks that must pay for every signature.
   */
  readonly shareSignatureResults?: boolean;
}

export const DEFAULT_BUDGET: VerifyBudget = {
  signatureChecks: 256,
  buildSteps: 4096,
  nameConstraintChecks: 250_000,
};

/** Hard cap on path length, whatever the inputs: a guard against pathological graphs. */
export const MAX_PATH_CERTIFICATES = 16;
