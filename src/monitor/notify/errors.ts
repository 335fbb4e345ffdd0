/*
 * The notifier's failures, one class per way a delivery can fail, each with a stable `code`
 * (the service records it with the event and shows it; programs match on it). Messages name
 * the channel and, for HTTP, only the URL's origin: a Slack webhook URL's path is its
 * credential, and no message ever carries a password, a key or a header value.
 */

export type NotifyErrorCode =
  | 'CERTVET_NOTIFY_CONFIG'
  | 'CERTVET_NOTIFY_TIMEOUT'
  | 'CERTVET_NOTIFY_NETWORK'
  | 'CERTVET_NOTIFY_HTTP_STATUS'
  | 'CERTVET_NOTIFY_REDIRECT'
  | 'CERTVET_NOTIFY_SMTP'
  | 'CERTVET_NOTIFY_QUEUE_FULL'
  | 'CERTVET_NOTIFY_ABANDONED';

export abstract class NotifyError extends Error {
  abstract readonly code: NotifyErrorCode;
  /** Whether another attempt may succeed (network errors, timeouts, 5xx, 429, SMTP 4xx). */
  readonly retryable: boolean = false;
  constructor(
    /** The channel's name. */
    readonly channel: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`notify channel ${channel}: ${message}`, options);
  }
}

/** A channel that cannot be built: an unset environment variable, an unreadable file. */
export class NotifyConfigError extends NotifyError {
  override readonly name = 'NotifyConfigError';
  readonly code = 'CERTVET_NOTIFY_CONFIG';
}

/** An attempt that did not finish within the channel's timeout. */
export class NotifyTimeoutError extends NotifyError {
  override readonly name = 'NotifyTimeoutError';
  readonly code = 'CERTVET_NOTIFY_TIMEOUT';
  override readonly retryable = true;
  constructor(channel: string, where: string, timeoutMs: number) {
    super(channel, `${where} did not answer within ${timeoutMs} ms`);
  }
}

/** The connection failed (refused, reset, DNS, TLS). */
export class NotifyNetworkError extends NotifyError {
  override readonly name = 'NotifyNetworkError';
  readonly code = 'CERTVET_NOTIFY_NETWORK';
  override readonly retryable = true;
}

/** The receiver answered with a status other than 2xx. 5xx and 429 are retried, other 4xx not. */
export class NotifyHttpStatusError extends NotifyError {
  override readonly name = 'NotifyHttpStatusError';
  readonly code = 'CERTVET_NOTIFY_HTTP_STATUS';
  override readonly retryable: boolean;
  constructor(
    channel: string,
    where: string,
    readonly status: number,
    /** Milliseconds the receiver asked us to wait (Retry-After), when it did. */
    readonly retryAfterMs: number | null,
    detail: string,
  ) {
    super(channel, `${where} answered HTTP ${status}${detail ? `: ${detail}` : ''}`);
    this.retryable = status >= 500 || status === 429;
  }
}

/** The receiver answered with a redirect, which is never followed (the URL is the operator's). */
export class NotifyRedirectError extends NotifyError {
  override readonly name = 'NotifyRedirectError';
  readonly code = 'CERTVET_NOTIFY_REDIRECT';
  constructor(
    channel: string,
    where: string,
    readonly status: number,
  ) {
    super(channel, `${where} answered HTTP ${status} (a redirect; not followed: fix the URL)`);
  }
}

/** The SMTP server refused or the session failed. SMTP 4xx replies and connection errors are retried. */
export class NotifySmtpError extends NotifyError {
  override readonly name = 'NotifySmtpError';
  readonly code = 'CERTVET_NOTIFY_SMTP';
  override readonly retryable: boolean;
  constructor(
    channel: string,
    message: string,
    /** The SMTP reply code, when the server gave one. */
    readonly responseCode: number | null,
    retryable: boolean,
  ) {
    super(channel, message);
    this.retryable = retryable;
  }
}

/** The channel's queue was full: the oldest waiting event was dropped to make room. */
export class NotifyQueueFullError extends NotifyError {
  override readonly name = 'NotifyQueueFullError';
  readonly code = 'CERTVET_NOTIFY_QUEUE_FULL';
  constructor(channel: string, size: number) {
    super(channel, `queue full (${size} events waiting): dropped the oldest`);
  }
}

/** Given up on without (another) attempt: the notifier was closed or flush's deadline passed. */
export class NotifyAbandonedError extends NotifyError {
  override readonly name = 'NotifyAbandonedError';
  readonly code = 'CERTVET_NOTIFY_ABANDONED';
  constructor(
    channel: string,
    why: string,
    /** The failure of the last attempt, if there was one. */
    readonly lastError: NotifyError | null,
  ) {
    super(channel, `given up: ${why}${lastError ? ` (last attempt: ${lastError.message})` : ''}`);
  }
}
