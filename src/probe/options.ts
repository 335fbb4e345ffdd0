import { lookup as dnsLookup } from 'node:dns/promises';
import type { SecureVersion } from 'node:tls';
import type { ImplicitTlsProtocol, StartTlsProtocol } from './starttls/protocols.js';

/** Resolves a host name to IP addresses; injectable so tests never touch real DNS. */
export type LookupFn = (host: string) => Promise<string[]>;

export const systemLookup: LookupFn = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** A client certificate to present (PEM cert + key, or PKCS#12), with its passphrase if any. */
export interface ClientIdentity {
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly pfx?: Buffer;
  readonly passphrase?: string;
}

export interface ProbeTimeouts {
  readonly connectMs: number;
  readonly handshakeMs: number;
  readonly totalMs: number;
}

export const DEFAULT_TIMEOUTS: ProbeTimeouts = { connectMs: 5000, handshakeMs: 10000, totalMs: 10000 };

export interface ProbeOptions {
  readonly host: string;
  readonly port: number;
  /** SNI; defaults to the host when it is a name, none for IP literals. */
  readonly servername?: string | null;
  /** Dial this address instead of resolving (curl's --resolve). */
  readonly address?: string | null;
  readonly lookup?: LookupFn;
  readonly starttls?: StartTlsProtocol | null;
  /**
   * STARTTLS 'mysql': the account named by the failed login with which certvet leaves the
   * session (default `certvet_probe`; see docs/check.md). An account of that name with no
   * password and no privileges makes the visits silent. No other protocol logs in.
   */
  readonly user?: string | null;
  /**
   * The name Node's own identity check (the cross-check beside certvet's verdict) is made for:
   * the name certvet checks, when it is not the one dialled or indicated (`--expect-name`, an
   * IP target with a servername). Default: Node's choice, the servername or else the host.
   */
  readonly identityName?: string | null;
  /**
   * The protocol a service speaks over TLS from the first byte (smtps://, imaps://, pop3s://,
   * ftps://, ldaps://): once the certificate is read, the probe waits for the server's greeting
   * and leaves with the protocol's goodbye (src/probe/starttls/farewell.ts) instead of dropping
   * the session. Not used with `starttls`, which names the protocol itself.
   */
  readonly protocolOverTls?: ImplicitTlsProtocol | null;
  /** Anchors for the cross-check by Node/OpenSSL (PEM). Undefined: Node's default roots. */
  readonly ca?: readonly string[];
  readonly client?: ClientIdentity;
  readonly timeouts?: Partial<ProbeTimeouts>;
  readonly signal?: AbortSignal;
  readonly minVersion?: SecureVersion;
  readonly maxVersion?: SecureVersion;
  /** ALPN protocols to offer (e.g. h2, http/1.1 for https:// targets); none by default. */
  readonly alpn?: readonly string[];
  /**
   * How long to listen after a TLS 1.3 handshake for the server's verdict on our client
   * certificate. Default: up to 1 s for a server that asked for one to decide, then a settle time
   * from the connect RTT; 0 skips the wait.
   */
  readonly postHandshakeWaitMs?: number;
}
