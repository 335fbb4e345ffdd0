import { tidyErrorMessage } from '../util/errorText.js';
import type { ProbeErrorCode } from './observation.js';

/** A failure of one probe step, already worded for the report; it becomes the Observation's `error`. */
export class ProbeError extends Error {
  constructor(
    readonly code: ProbeErrorCode,
    message: string,
  ) {
    // Whole milliseconds, no OpenSSL source paths or error-queue prefixes.
    super(tidyErrorMessage(message));
  }
}

/** TLS alerts by which a server refuses (or demands) a client certificate. */
const CLIENT_CERT_REJECTED_ALERTS = new Set([40, 42, 43, 44, 45, 46, 48, 49, 116]);

/** Whether the error carries one of the TLS alerts that mean "client certificate refused or missing". */
export function isClientCertAlert(e: NodeJS.ErrnoException | null): boolean {
  const m = e ? /SSL alert number (\d+)/.exec(e.message) : null;
  return m !== null && CLIENT_CERT_REJECTED_ALERTS.has(Number(m[1]));
}

export function describeNetError(e: NodeJS.ErrnoException, where: string): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return `connection to ${where} refused`;
    case 'ECONNRESET':
      return `connection to ${where} reset by the peer`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${where} is unreachable (${e.code})`;
    case 'EADDRNOTAVAIL':
      return `cannot connect to ${where} (${e.code})`;
    default:
      return `cannot connect to ${where}: ${e.message}`;
  }
}

/** A failed TLS handshake in words, naming the endpoint (`where`, e.g. `10.0.0.5:636`) when given. */
export function describeTlsError(e: NodeJS.ErrnoException, where?: string): string {
  const msg = e.message;
  const server = where ? `the server at ${where}` : 'the server';
  if (/wrong version number|packet length too long|unknown protocol|record layer failure/i.test(msg))
    return `${server} did not answer with TLS (plain text on a TLS port?)`;
  if (e.code === 'ECONNRESET')
    return `the connection${where ? ` to ${where}` : ''} was reset during the TLS handshake`;
  if (/socket disconnected before secure TLS connection/i.test(msg))
    return `${server} closed the connection during the TLS handshake`;
  if (/unsupported protocol|no protocols available|tlsv1 alert protocol version/i.test(msg))
    return `no TLS protocol version in common with ${server}`;
  // tidyErrorMessage turns each OpenSSL error-queue entry into "reason (data)": "sslv3 alert
  // handshake failure (SSL alert number 40)".
  return `the TLS handshake${where ? ` with ${where}` : ''} failed: ${tidyErrorMessage(msg)}`;
}
