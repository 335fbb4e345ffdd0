import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { closeNotify, farewell, ldapUnbind } from './farewell.js';
import { ftp } from './ftp.js';
import { imap } from './imap.js';
import { ldap } from './ldap.js';
import { mysql } from './mysql.js';
import { pop3 } from './pop3.js';
import { postgres } from './postgres.js';
import type { ImplicitTlsProtocol, StartTlsProtocol } from './protocols.js';
import { smtp } from './smtp.js';
import { xmpp } from './xmpp.js';

export interface StartTlsContext {
  readonly socket: Socket;
  /** The service name: the SNI name when set, else the host (XMPP's stream `to`). */
  readonly host: string;
  /** The account a protocol that leaves by logging in names (MySQL), when the target gave one. */
  readonly user?: string | null;
}

/**
 * How a probe leaves a session once it has read the certificate, where dropping the connection
 * would cost the server (or its operator) something: a MySQL host block, a log line per check
 * (src/probe/starttls/farewell.ts).
 * `heard` is what the server already sent after the handshake (latin1; read while the probe
 * listened for its verdict on a client certificate); the socket may be paused, and the leave
 * resumes it. The caller bounds it in time and destroys the connection afterwards whatever happens.
 */
export type Leave = (tls: TLSSocket, heard: string) => Promise<void>;

/**
 * Each protocol's plaintext negotiation up to the point where TLS starts on the same socket,
 * and, for some, how to leave the session afterwards.
 */
type Negotiation = (ctx: StartTlsContext) => Promise<Leave | undefined>;

/** The last line of a 221 reply: "221 text", or a bare "221" (RFC 5321 §4.2.1 allows it). */
const REPLY_221 = /(?:^|\n)221(?: |\r?\n)/;

/** A protocol whose session ends with `leave` once its certificate is read (farewell.ts). */
const leavingWith =
  (negotiate: (ctx: StartTlsContext) => Promise<void>, leave: Leave): Negotiation =>
  async (ctx) => {
    await negotiate(ctx);
    return leave;
  };

export const STARTTLS: Readonly<Record<StartTlsProtocol, Negotiation>> = {
  // RFC 5321 §4.1.1.10: QUIT → 221 (a line "221 …", or the last of a multi-line reply).
  smtp: leavingWith(smtp, farewell('QUIT\r\n', REPLY_221)),
  // RFC 9051 §6.1.3: LOGOUT → untagged BYE, then the tagged OK.
  imap: leavingWith(imap, farewell('c9 LOGOUT\r\n', /(?:^|\n)c9 (?:OK|NO|BAD)\b/i)),
  // RFC 1939 §6: QUIT → "+OK" and the server closes (an earlier CAPA's +OK looks the same, so
  // the close is what is waited for).
  pop3: leavingWith(pop3, farewell('QUIT\r\n', 'server-close')),
  // RFC 959: QUIT → 221.
  ftp: leavingWith(ftp, farewell('QUIT\r\n', REPLY_221)),
  // RFC 4511 §4.3: UnbindRequest (the StartTLS request was message 1); no response, both close.
  ldap: leavingWith(ldap, farewell(ldapUnbind(2), 'sent')),
  xmpp: leavingWith(xmpp, closeNotify),
  postgres,
  mysql,
};

/** The last line of a reply of numbered lines ("220-…" lines, then "220 …"), greeting or answer. */
const LAST_REPLY_LINE = /(?:^|\n)\d{3}(?:[ \r][^\n]*)?\n/;

/**
 * How sessions over TLS from the first byte (smtps://, imaps://, …) end: after the server's
 * greeting, the same goodbye as after STARTTLS (an LDAP unbind is message 1 there).
 */
export const IMPLICIT_TLS_LEAVES: Readonly<Record<ImplicitTlsProtocol, Leave>> = {
  smtp: farewell('QUIT\r\n', REPLY_221, LAST_REPLY_LINE),
  imap: farewell('c9 LOGOUT\r\n', /(?:^|\n)c9 (?:OK|NO|BAD)\b/i, /^\*[^\n]*\n/),
  pop3: farewell('QUIT\r\n', 'server-close', /^[+-][^\n]*\n/),
  ftp: farewell('QUIT\r\n', REPLY_221, LAST_REPLY_LINE),
  ldap: farewell(ldapUnbind(1), 'sent'),
};

export { StartTlsError } from './conversation.js';
