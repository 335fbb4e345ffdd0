import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { closeNotify, type FarewellEnd, farewell, ldapUnbind } from './farewell.js';
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

/** The last line of a reply of numbered lines ("220-…" lines, then "220 …"), greeting or answer. */
const LAST_REPLY_LINE = /(?:^|\n)\d{3}(?:[ \r][^\n]*)?\n/;

/**
 * Each protocol's goodbye (farewell.ts): what is said, what answers it, and the greeting it
 * waits for over TLS from the first byte (after STARTTLS the client speaks next).
 */
const GOODBYES: Readonly<
  Record<ImplicitTlsProtocol, { say: string | Uint8Array; until: FarewellEnd; greeting?: RegExp }>
> = {
  // RFC 5321 §4.1.1.10: QUIT → 221 (a line "221 …", or the last of a multi-line reply).
  smtp: { say: 'QUIT\r\n', until: REPLY_221, greeting: LAST_REPLY_LINE },
  // RFC 9051 §6.1.3: LOGOUT → untagged BYE, then the tagged OK; the greeting is "* OK …".
  imap: { say: 'c9 LOGOUT\r\n', until: /(?:^|\n)c9 (?:OK|NO|BAD)\b/i, greeting: /^\*[^\n]*\n/ },
  // RFC 1939 §6: QUIT → "+OK" and the server closes (an earlier CAPA's +OK looks the same, so
  // the close is what is waited for).
  pop3: { say: 'QUIT\r\n', until: 'server-close', greeting: /^[+-][^\n]*\n/ },
  // RFC 959: QUIT → 221.
  ftp: { say: 'QUIT\r\n', until: REPLY_221, greeting: LAST_REPLY_LINE },
  // RFC 4511 §4.3: an UnbindRequest (message 2: a StartTLS request may have been 1), no
  // response, both close; LDAP servers send no greeting.
  ldap: { say: ldapUnbind(2), until: 'sent' },
};

/** A protocol whose session ends with its goodbye once its certificate is read. */
const leavingWith =
  (negotiate: (ctx: StartTlsContext) => Promise<void>, leave: Leave): Negotiation =>
  async (ctx) => {
    await negotiate(ctx);
    return leave;
  };

/** The goodbye after STARTTLS: said at once. */
const afterStartTls = (p: ImplicitTlsProtocol): Leave => farewell(GOODBYES[p].say, GOODBYES[p].until);

export const STARTTLS: Readonly<Record<StartTlsProtocol, Negotiation>> = {
  smtp: leavingWith(smtp, afterStartTls('smtp')),
  imap: leavingWith(imap, afterStartTls('imap')),
  pop3: leavingWith(pop3, afterStartTls('pop3')),
  ftp: leavingWith(ftp, afterStartTls('ftp')),
  ldap: leavingWith(ldap, afterStartTls('ldap')),
  xmpp: leavingWith(xmpp, closeNotify),
  postgres,
  mysql,
};

/** How sessions over TLS from the first byte (smtps://, imaps://, …) end: the same goodbye, after the greeting. */
const overTls = (p: ImplicitTlsProtocol): Leave =>
  farewell(GOODBYES[p].say, GOODBYES[p].until, GOODBYES[p].greeting);

export const IMPLICIT_TLS_LEAVES: Readonly<Record<ImplicitTlsProtocol, Leave>> = {
  smtp: overTls('smtp'),
  imap: overTls('imap'),
  pop3: overTls('pop3'),
  ftp: overTls('ftp'),
  ldap: overTls('ldap'),
};

export { StartTlsError } from './conversation.js';
