/** What one connection to an endpoint showed, before any trust decision (DESIGN.md §1). */
export interface Observation {
  /** The IP address dialled, or null when it never got that far. */
  readonly address: string | null;
  readonly port: number;
  readonly servername: string | null;
  /** DER certificates as the peer presented them, leaf first. */
  readonly certificates: readonly Uint8Array[];
  readonly protocol: string | null;
  readonly cipher: string | null;
  readonly alpn: string | null;
  /** The stapled OCSP response, if the server sent one. */
  readonly ocspStaple: Uint8Array | null;
  /** What Node/OpenSSL's own verification with the same anchors said (handshake with verification reporting only). */
  readonly crossCheck: { readonly authorized: boolean; readonly error: string | null } | null;
  /** What happened about client certificates: requested optionally, required and missing, refused, accepted. */
  readonly clientCert:
    | 'not-requested'
    | 'optional'
    | 'required-missing'
    | 'rejected'
    | 'accepted'
    | 'unknown';
  /**
   * When the server refused at the protocol level after TLS (asked what a client asks next:
   * src/probe/starttls/afterTls.ts), the first line of its answer, e.g. "421 4.7.1 … No client
   * certificate presented".
   */
  readonly clientCertReply?: string;
  readonly timings: {
    readonly dnsMs: number;
    readonly connectMs: number;
    readonly starttlsMs: number;
    readonly handshakeMs: number;
    readonly totalMs: number;
  };
  /** Why the endpoint could not be checked, or null. */
  readonly error: ProbeFailure | null;
}

export type ProbeErrorCode =
  | 'connect-failed'
  | 'dns-failed'
  | 'timeout'
  | 'handshake-failed'
  | 'starttls-failed';

export interface ProbeFailure {
  readonly code: ProbeErrorCode;
  readonly message: string;
}
