/**
 * `connectVerified({ host, port, ...options })`: a raw TLS socket (implicit TLS, or STARTTLS
 * with `starttls`) that certvet verified before anything was written to it. Rejects with
 * CertificateVerificationError when the verdict refuses the connection.
 */
import type { TLSSocket } from 'node:tls';
import { CertvetOptionError } from '../check/errors.js';
import { STARTTLS_PROTOCOLS, type StartTlsProtocol } from '../scan/target.js';
import { clientBasis, type VerifiedClientOptions } from './options.js';
import { VerifiedConnector } from './verifiedConnection.js';

const CONNECT_KEYS = ['host', 'port', 'servername', 'starttls', 'address', 'alpn', 'signal'] as const;

export interface ConnectVerifiedOptions extends VerifiedClientOptions {
  /** Host name or IP literal (IPv6 with or without brackets). */
  readonly host: string;
  /** Default 443, or the STARTTLS protocol's port (25, 143, 110, 21, 389, 5222, 5432, 3306). */
  readonly port?: number;
  /** SNI and the name to verify (default: the host when it is a name). */
  readonly servername?: string;
  /** Negotiate TLS inside this plaintext protocol first (src/probe/starttls/). */
  readonly starttls?: StartTlsProtocol;
  /** Dial this address instead of resolving the host (curl's --resolve). */
  readonly address?: string;
  /** ALPN protocols to offer. */
  readonly alpn?: readonly string[];
  readonly signal?: AbortSignal;
}

const DEFAULT_PORTS: Readonly<Record<StartTlsProtocol, number>> = {
  smtp: 25,
  imap: 143,
  pop3: 110,
  ftp: 21,
  ldap: 389,
  xmpp: 5222,
  postgres: 5432,
  mysql: 3306,
};

/** Connects with TLS and resolves with the socket once certvet accepted the server's certificate. */
export async function connectVerified(options: ConnectVerifiedOptions): Promise<TLSSocket> {
  const { basis, own } = clientBasis(options, CONNECT_KEYS, 'connectVerified');
  const host = own.host;
  if (typeof host !== 'string' || !host)
    throw new CertvetOptionError('host', 'must be a host name or IP address');
  const starttls = own.starttls as StartTlsProtocol | undefined;
  if (starttls !== undefined && !(STARTTLS_PROTOCOLS as readonly string[]).includes(starttls))
    throw new CertvetOptionError('starttls', `must be one of ${STARTTLS_PROTOCOLS.join(', ')}`);
  const port = own.port ?? (starttls ? DEFAULT_PORTS[starttls] : 443);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new CertvetOptionError('port', 'must be an integer from 1 to 65535');
  for (const k of ['servername', 'address'] as const)
    if (own[k] !== undefined && typeof own[k] !== 'string')
      throw new CertvetOptionError(k, 'must be a string');
  const alpn = own.alpn as readonly string[] | undefined;
  if (alpn !== undefined && !(Array.isArray(alpn) && alpn.every((a) => typeof a === 'string')))
    throw new CertvetOptionError('alpn', 'must be an array of strings');
  const signal = own.signal as AbortSignal | undefined;
  const connector = new VerifiedConnector(basis, { maxCachedSessions: 0 });
  const { socket } = await connector.connect({
    host: host.replace(/^\[(.*)\]$/, '$1'),
    port,
    ...(own.servername !== undefined ? { servername: own.servername as string } : {}),
    ...(own.address ? { address: own.address as string } : {}),
    ...(starttls ? { starttls } : {}),
    ...(alpn ? { alpn } : {}),
    ...(signal ? { signal } : {}),
  });
  return socket;
}
