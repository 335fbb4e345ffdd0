import type { Socket } from 'node:net';
import { ftp } from './ftp.js';
import { imap } from './imap.js';
import { ldap } from './ldap.js';
import { mysql } from './mysql.js';
import { pop3 } from './pop3.js';
import { postgres } from './postgres.js';
import type { StartTlsProtocol } from './protocols.js';
import { smtp } from './smtp.js';
import { xmpp } from './xmpp.js';

export interface StartTlsContext {
  readonly socket: Socket;
  /** The service name: the SNI name when set, else the host (XMPP's stream `to`). */
  readonly host: string;
}

/** Each protocol's plaintext negotiation up to the point where TLS starts on the same socket. */
export const STARTTLS: Readonly<Record<StartTlsProtocol, (ctx: StartTlsContext) => Promise<void>>> = {
  smtp,
  imap,
  pop3,
  ftp,
  ldap,
  xmpp,
  postgres,
  mysql,
};

export { StartTlsError } from './conversation.js';
