/*
 * A server that answers a ClientHello with something other than TLS is usually another
 * service, or the right one without TLS on that port: plain HTTP, a mail or FTP greeting (the
 * port wants STARTTLS), SSH, a database. OpenSSL only says "wrong version number"; the bytes
 * the server sent say what it is, and often what to check instead.
 */
import { quote } from './starttls/conversation.js';
import type { StartTlsProtocol } from './starttls/protocols.js';

/** How many of the server's first bytes are looked at (and at most quoted). */
export const PLAIN_TEXT_QUOTED = 200;

/** TLS record content types (change_cipher_spec … heartbeat): a TLS answer begins with one. */
const isTlsRecordType = (b: number) => b >= 0x14 && b <= 0x18;

/** What a plain-text answer looks like it comes from, with the target to try where there is one. */
function recognise(first: Uint8Array, line: string, starttls: StartTlsProtocol | null): string | null {
  // A MySQL/MariaDB greeting: a 3-byte length, sequence 0, protocol version 10.
  if (first.length > 5 && first[3] === 0 && first[4] === 10)
    return 'a MySQL/MariaDB greeting: check mysql://';
  // PostgreSQL answers a ClientHello (an unknown startup packet) with an ErrorResponse.
  if (first[0] === 0x45 && line.includes('SFATAL')) return 'a PostgreSQL error: check postgres://';
  if (/^HTTP\/\d/.test(line)) return 'plain HTTP';
  if (/^SSH-\d/.test(line)) return 'an SSH server';
  // After STARTTLS a greeting means the server did not switch to TLS as it had agreed.
  if (starttls) return null;
  if (/^220[ -]/.test(line))
    return 'an SMTP or FTP greeting: for STARTTLS, check smtp://, submission:// or ftp://';
  if (/^\* (?:OK|PREAUTH)\b/i.test(line)) return 'an IMAP greeting: for STARTTLS, check imap://';
  if (/^\+OK\b/.test(line)) return 'a POP3 greeting: for STARTTLS, check pop3://';
  if (/^<\?xml|^<stream:/.test(line)) return 'XMPP: check xmpp://';
  return null;
}

/**
 * The failure of a handshake the server answered in plain text, quoting the start of what it
 * said; null when it sent nothing, or what it sent begins like TLS (then OpenSSL's reason is
 * the better one).
 */
export function describePlainTextAnswer(
  first: Uint8Array,
  where: string,
  starttls: StartTlsProtocol | null,
): string | null {
  if (first.length === 0 || isTlsRecordType(first[0]!)) return null;
  const text = Buffer.from(first).toString('latin1');
  const line = text.split(/\r?\n/, 1)[0]!;
  const what = recognise(first, line, starttls);
  return `the server at ${where} answered in plain text, not TLS: ${quote(line || text)}${what ? ` (${what})` : ''}`;
}
