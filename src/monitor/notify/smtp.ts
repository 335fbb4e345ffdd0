/*
 * The e-mail channel over SMTP, by nodemailer (the well-kept mail library: MIME, STARTTLS,
 * AUTH, header encoding). certvet's part is the policy around it: TLS required unless the
 * operator says otherwise (and never in clear with a password), the server's certificate
 * verified against the system or the configured anchors, every phase bounded by the channel's
 * timeout and the notifier's abort signal, no library logging, and a failure turned into a
 * NotifySmtpError whose text has the password (and its AUTH encodings) removed.
 */
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { SmtpChannelConfig } from './config.js';
import { NotifyAbandonedError, NotifySmtpError, NotifyTimeoutError } from './errors.js';
import type { MailMessage } from './format.js';
import { readEnvSecret, readFileSecret, readFileText, redact, type SecretSource } from './secrets.js';

export interface SmtpSender {
  send(message: MailMessage, timeoutMs: number, signal: AbortSignal): Promise<void>;
  close(): void;
}

/** Builds the transport once per channel; secrets and anchors are read here (start-up errors). */
export function createSmtpSender(c: SmtpChannelConfig, timeoutMs: number, src: SecretSource): SmtpSender {
  const secure = c.secure ?? c.port === 465;
  const password = c.auth
    ? c.auth.passwordEnv !== undefined
      ? readEnvSecret(c.name, 'auth.passwordEnv', c.auth.passwordEnv, src)
      : readFileSecret(c.name, 'auth.passwordFile', c.auth.passwordFile ?? '', src)
    : null;
  const ca = c.ca?.map((p) => readFileText(c.name, 'ca', p, src));
  const options: SMTPTransport.Options = {
    host: c.host,
    port: c.port,
    secure,
    requireTLS: !secure && c.starttls !== false,
    ignoreTLS: !secure && c.starttls === false,
    tls: {
      ...(ca ? { ca } : {}),
      ...(c.servername ? { servername: c.servername } : {}),
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    ...(c.auth && password !== null ? { auth: { user: c.auth.user, pass: password } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
    logger: false,
    debug: false,
  };
  const transport = nodemailer.createTransport(options);
  const secrets = password === null ? [] : [password];
  const scrub = (s: string) => redact(s, secrets, c.auth?.user);

  return {
    async send(message, attemptTimeoutMs, signal) {
      const ac = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ac.abort();
      }, attemptTimeoutMs);
      const onOuter = () => ac.abort();
      if (signal.aborted) ac.abort();
      else signal.addEventListener('abort', onOuter, { once: true });
      try {
        // nodemailer ≥ 10.5 honours `signal` per message (its types do not list it yet).
        const mail = { from: c.from, to: [...c.to], subject: message.subject, text: message.text };
        await transport.sendMail({ ...mail, signal: ac.signal } as typeof mail);
      } catch (e) {
        if (timedOut) throw new NotifyTimeoutError(c.name, `SMTP ${c.host}:${c.port}`, attemptTimeoutMs);
        if (signal.aborted)
          throw new NotifyAbandonedError(c.name, 'the notifier stopped during the attempt', null);
        throw toSmtpError(c, e, scrub);
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', onOuter);
      }
    },
    close() {
      transport.close();
    },
  };
}

interface MailerError {
  code?: string;
  /** Node's own code under nodemailer's (e.g. UNABLE_TO_GET_ISSUER_CERT_LOCALLY under ESOCKET). */
  originalCode?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

/**
 * Permanent: 5xx replies, authentication and configuration refusals, and a server certificate
 * that does not verify (retrying will not make it trusted). Retryable: 4xx replies, connection
 * and socket errors.
 */
function toSmtpError(c: SmtpChannelConfig, e: unknown, scrub: (s: string) => string): NotifySmtpError {
  const m = (typeof e === 'object' && e !== null ? e : {}) as MailerError;
  const responseCode = typeof m.responseCode === 'number' ? m.responseCode : null;
  const permanentCodes = new Set([
    'EAUTH',
    'ENOAUTH',
    'ETLS',
    'EENVELOPE',
    'EMESSAGE',
    'ECONFIG',
    'EPROTOCOL',
  ]);
  const certRefused = /CERT|ALTNAME|SELF_SIGNED|ISSUER|VERIFY/.test(m.originalCode ?? '');
  const retryable =
    responseCode !== null
      ? responseCode >= 400 && responseCode < 500
      : !certRefused && !permanentCodes.has(m.code ?? '');
  const text = (m.response ?? m.message ?? String(e)).replace(/[^\x20-\x7e]+/g, ' ').slice(0, 300);
  return new NotifySmtpError(
    c.name,
    scrub(
      `SMTP ${c.host}:${c.port}${m.code ? ` ${m.code}` : ''}${m.originalCode ? ` (${m.originalCode})` : ''}: ${text}`,
    ),
    responseCode,
    retryable,
  );
}
