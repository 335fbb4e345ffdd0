/*
 * What to say once TLS is up, to learn at once whether a server that asked for a client
 * certificate went on with us. After STARTTLS the client speaks next, so a server that accepted
 * says nothing until asked — certvet would wait out its decision window (up to a second) — and
 * some refuse only at the protocol level: Postfix with smtpd_tls_req_ccert completes the
 * handshake and answers the next command with "421 4.7.1 … No client certificate presented".
 * Each protocol here sends the command a client sends next anyway (RFC 3207 §4.2: EHLO again;
 * IMAP CAPABILITY, which every server must support) and reads the first reply: a refusal means
 * refused, any other reply means the server went on. For POP3 (CAPA) and FTP (FEAT) the
 * commands are optional, so an error reply proves nothing either way: any reply means the
 * server went on (a refusal is still a close), which only ends the wait sooner. Protocols not
 * listed are only listened to.
 */
import type { StartTlsProtocol } from './protocols.js';

export interface AfterTlsQuestion {
  /** Sent once the handshake is complete. */
  readonly ask: string;
  /** The reply so far → refused / went on, or null while its first line is incomplete. */
  judge(reply: string): 'refused' | 'went-on' | null;
}

/** The first complete line of `text`, or null. */
export function firstLine(text: string): string | null {
  const nl = text.indexOf('\n');
  return nl < 0 ? null : text.slice(0, nl).replace(/\r$/, '');
}

export const AFTER_TLS: Readonly<Partial<Record<StartTlsProtocol, AfterTlsQuestion>>> = {
  smtp: {
    ask: 'EHLO certvet.invalid\r\n',
    // 421 (closing) and 5xx refuse; 250 goes on. A 4xx other than 421 is a temporary
    // condition of the session, not a refusal of the connection.
    judge: (t) => {
      const l = firstLine(t);
      if (l === null) return null;
      return /^(?:421|5\d\d)/.test(l) ? 'refused' : 'went-on';
    },
  },
  imap: {
    ask: 'c2 CAPABILITY\r\n',
    // An untagged BYE, or the command refused (NO/BAD), is a refusal; CAPABILITY data or OK go on.
    judge: (t) => {
      const l = firstLine(t);
      if (l === null) return null;
      return /^(?:\* BYE\b|c2 (?:NO|BAD)\b)/i.test(l) ? 'refused' : 'went-on';
    },
  }, // Optional commands (RFC 2449, RFC 2389): any answer means the server is talking to us.
  pop3: { ask: 'CAPA\r\n', judge: (t) => (firstLine(t) === null ? null : 'went-on') },
  ftp: { ask: 'FEAT\r\n', judge: (t) => (firstLine(t) === null ? null : 'went-on') },
};
