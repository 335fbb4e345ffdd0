/*
 * How a probe leaves a STARTTLS session once it has read the certificate: with the protocol's
 * own goodbye, as any client does, rather than by dropping the connection. Servers log a dropped
 * session as an anomaly, once per check — Postfix "lost connection after STARTTLS", vsftpd and
 * slapd "connection lost" — which buries real problems in a monitored server's log and feeds log
 * watchers; after QUIT, LOGOUT or an LDAP unbind they log an orderly end. MySQL (a failed login)
 * and PostgreSQL (close_notify) have their own reasons, in their modules.
 *
 * The goodbye is written once TLS is up and what the probe came for is read (after the
 * after-TLS question of afterTls.ts, if one was asked: the server answers in order; over TLS
 * from the first byte, after the server's greeting). certvet then
 * waits for the server's answer, or its close, and ends TLS with close_notify. The caller
 * (src/probe/handshake.ts `leaveSession`) bounds the whole in time and destroys the connection
 * afterwards whatever happens; nothing here changes what the probe observed.
 */
import type { TLSSocket } from 'node:tls';
import type { Leave } from './index.js';

/** What is kept of the server's last words while looking for the goodbye's answer. */
const HEARD_MAX = 4096;

/** When a goodbye is over: its answer (a pattern), the server's close, or once it is sent. */
export type FarewellEnd = RegExp | 'server-close' | 'sent';

/**
 * Says `goodbye`, then ends TLS: once what the server said since matches `until` (its answer
 * to the goodbye), or once the server closes (`'server-close'`: the answer cannot be told from an
 * earlier one), or at once (`'sent'`: the protocol has no answer). With `greeting`, the goodbye
 * waits until what the server said matches it: over TLS from the first byte the server speaks
 * first, and a client that talks before the greeting is what Postfix's postscreen and
 * `reject_unauth_pipelining` take for a spam bot.
 */
export function farewell(goodbye: string | Uint8Array, until: FarewellEnd, greeting?: RegExp): Leave {
  return (tls, alreadyHeard) =>
    new Promise<void>((resolve) => {
      let heard = alreadyHeard.slice(-HEARD_MAX);
      let greeted = !greeting;
      const end = () => {
        tls.off('data', onData);
        tls.end();
      };
      const sayGoodbye = () => {
        greeted = true;
        heard = '';
        tls.write(goodbye);
        if (until === 'sent') end();
      };
      // Read (and discard) whatever comes, so that the server's close is seen.
      const onData = (d: Buffer) => {
        if (greeted && !(until instanceof RegExp)) return;
        heard = (heard + d.toString('latin1')).slice(-HEARD_MAX);
        if (!greeted) {
          if (greeting!.test(heard)) sayGoodbye();
        } else if ((until as RegExp).test(heard)) end();
      };
      tls.once('close', () => resolve());
      tls.on('data', onData);
      tls.resume();
      // The greeting may have come while the probe listened for a client-certificate verdict.
      if (greeted || greeting!.test(heard)) sayGoodbye();
    });
}

/**
 * Ends TLS with close_notify and lets the server close, for protocols with no goodbye that can
 * be said at this point: PostgreSQL logs a connection dropped without it ("could not receive data
 * from client: Connection reset by peer") and nothing for a clean TLS close (a StartupMessage
 * would log a failed login); XMPP would need a new stream opened after TLS before it could be
 * closed with `</stream:stream>`.
 */
export function closeNotify(tls: TLSSocket): Promise<void> {
  return new Promise<void>((resolve) => {
    tls.once('close', () => resolve());
    tls.resume();
    tls.end();
  });
}

/** The LDAP UnbindRequest (RFC 4511 §4.3): SEQUENCE { messageID, [APPLICATION 2] NULL }. */
export function ldapUnbind(messageId: number): Uint8Array {
  return Uint8Array.of(0x30, 0x05, 0x02, 0x01, messageId, 0x42, 0x00);
}
