/**
 * TLS sessions of verified connections, with the certificates they were established with.
 *
 * A resumed TLS session carries no Certificate message, and Node reports no peer certificate
 * for it (and skips checkServerIdentity), so resumption would otherwise bypass verification.
 * We only offer sessions that came from a connection certvet accepted, and keep that
 * connection's chain and staple with them: a resumed connection is verified again (time,
 * revocation, pins, policy) with the chain its session was authenticated by. A session whose
 * chain is unknown is never offered.
 */

export interface VerifiedSession {
  /** The serialized TLS session (as `tls.connect({ session })` takes it). */
  readonly session: Buffer;
  /** DER certificates the server sent in the full handshake that established the session, leaf first. */
  readonly certificates: readonly Uint8Array[];
  readonly ocspStaple: Uint8Array | null;
}

/** A bounded, least-recently-used map from a connection key (host, port, SNI) to its latest verified session. */
export class SessionCache {
  readonly #entries = new Map<string, VerifiedSession>();

  constructor(readonly max: number) {}

  get(key: string): VerifiedSession | undefined {
    const e = this.#entries.get(key);
    if (e) {
      this.#entries.delete(key);
      this.#entries.set(key, e);
    }
    return e;
  }

  set(key: string, entry: VerifiedSession): void {
    if (this.max <= 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
