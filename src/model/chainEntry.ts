import type { KeyType } from '../x509/publicKey.js';
import type { RevocationInfo } from './revocation.js';

/** Where a certificate of a reported chain came from. */
export type CertificateSource = 'peer' | 'trust-store' | 'aia';

/** The subjectAltName entries of a certificate, by kind (IP addresses as text). */
export interface SubjectAltNames {
  readonly dns: string[];
  readonly ip: string[];
  readonly email: string[];
  readonly uri: string[];
}

/** The subject public key of a chain entry. */
export interface ChainPublicKey {
  readonly type: KeyType;
  readonly bits: number | null;
  /** The named curve of an EC key (e.g. `P-256`), else null. */
  readonly curve: string | null;
  /** SHA-256 of the DER SubjectPublicKeyInfo, hex: equal for the same key in two certificates. */
  readonly spkiSha256: string;
}

/** One certificate of a result's `chain` (DESIGN.md §4). */
export interface ChainEntry {
  /** RFC 4514 string. */
  readonly subject: string;
  readonly issuer: string;
  /** Hex, as encoded. */
  readonly serialNumber: string;
  /** ISO 8601. */
  readonly notBefore: string;
  readonly notAfter: string;
  /** Whole days until notAfter (negative once expired). */
  readonly daysRemaining: number;
  /** SHA-256 of the DER certificate, hex. */
  readonly sha256: string;
  readonly subjectAltNames: SubjectAltNames;
  readonly publicKey: ChainPublicKey;
  readonly signatureAlgorithm: string;
  readonly isCA: boolean;
  readonly selfSigned: boolean;
  readonly source: CertificateSource;
  /** Revocation status when it was checked (DESIGN.md §5 revoked / revocation-unknown). */
  readonly revocation?: RevocationInfo;
}
