import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
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
  /** The account a protocol that leaves by logging in names (MySQL), when the target gave one. */
  readonly user?: string | null;
}

/**
 * How a probe leaves a session once it has read the certificate, where dropping the connection
 * would cost the server (or its operator) something: a MySQL host block, a PostgreSQL log line.
 * The caller bounds it in time and destroys the connection afterwards whatever happens.
 */
export type Leave = (tls: TLSSocket) => Promise<void>;

/**
 * Each protocol's plaintext negotiation up to the point where TLS starts on the same socket,
 * and, for some, how to leave the session afterwards.
 */
type Negotiation = (ctx: StartTlsContext) => Promise<Leave | undefined>;

/** A protocol whose session needs nothing more than the connection's end. */
const leavingPlainly =
  (negotiate: (ctx: StartTlsContext) => Promise<void>): Negotiation =>
  async (ctx) => {
    await negotiate(ctx);
    return undefined;
  };

export const STARTTLS: Readonly<Record<StartTlsProtocol, Negotiation>> = {
  smtp: leavingPlainly(smtp),
  imap: leavingPlainly(imap),
  pop3: leavingPlainly(pop3),
  ftp: leavingPlainly(ftp),
  ldap: leavingPlainly(ldap),
  xmpp: leavingPlainly(xmpp),
  postgres,
  mysql,
};

export { StartTlsError } from './conversation.js';
