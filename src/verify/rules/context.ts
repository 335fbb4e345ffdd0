import type { Certificate } from '../../x509/certificate.js';
import type { FindingSink } from '../findingSink.js';
import type { Purpose } from '../options.js';

/** Where a certificate sits in the candidate path. */
export interface CertContext {
  readonly cert: Certificate;
  /** Position in the path, leaf = 0. */
  readonly index: number;
  readonly isLeaf: boolean;
  /** The top of the path is a trusted certificate. */
  readonly isAnchor: boolean;
  /** The certificate issues another certificate in this path. */
  readonly isIssuer: boolean;
  readonly purpose: Purpose;
  readonly sink: FindingSink;
  /** Short label for messages: "leaf", "intermediate #1", "trust anchor". */
  readonly label: string;
}
