/*
 * One bounded HTTP POST for the webhook and Slack channels. The URL is the operator's own
 * (config or secret), so the certificate-URL fetch policy does not apply, but it is still held
 * to http/https, redirects are never followed (a 3xx is reported, not obeyed), each attempt has
 * a deadline covering headers and body, and the failure is classified for the retry loop:
 * network errors, timeouts, 5xx and 429 may be retried (with Retry-After), other statuses not.
 */
import {
  NotifyAbandonedError,
  type NotifyError,
  NotifyHttpStatusError,
  NotifyNetworkError,
  NotifyRedirectError,
  NotifyTimeoutError,
} from './errors.js';
import { urlOrigin } from './secrets.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface PostOptions {
  readonly channel: string;
  readonly url: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Aborts the attempt when the notifier is closed or flush's deadline passes. */
  readonly signal: AbortSignal;
  readonly fetchImpl: FetchLike;
  readonly now: () => number;
}

/** How much of an error response is read to show (Slack says why in its body). */
const DETAIL_BYTES = 200;

export async function postJson(o: PostOptions): Promise<void> {
  const where = urlOrigin(o.url);
  const proto = new URL(o.url).protocol;
  if (proto !== 'http:' && proto !== 'https:')
    throw new NotifyNetworkError(o.channel, `${where}: only http and https URLs are used`);
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, o.timeoutMs);
  const onOuterAbort = () => ac.abort();
  if (o.signal.aborted) ac.abort();
  else o.signal.addEventListener('abort', onOuterAbort, { once: true });
  try {
    let res: Response;
    try {
      res = await o.fetchImpl(o.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'certvet', ...o.headers },
        body: o.body,
        redirect: 'manual',
        signal: ac.signal,
      });
    } catch (e) {
      throw classifyThrown(o, where, e, timedOut);
    }
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel().catch(() => undefined);
      return;
    }
    const detail = await readDetail(res).catch(() => '');
    if (res.status >= 300 && res.status < 400) throw new NotifyRedirectError(o.channel, where, res.status);
    throw new NotifyHttpStatusError(
      o.channel,
      where,
      res.status,
      parseRetryAfter(res.headers.get('retry-after'), o.now()),
      detail,
    );
  } catch (e) {
    if (timedOut && !(e instanceof NotifyTimeoutError) && !isStatusError(e))
      throw new NotifyTimeoutError(o.channel, where, o.timeoutMs);
    throw e;
  } finally {
    clearTimeout(timer);
    o.signal.removeEventListener('abort', onOuterAbort);
  }
}

function isStatusError(e: unknown): boolean {
  return e instanceof NotifyHttpStatusError || e instanceof NotifyRedirectError;
}

function classifyThrown(o: PostOptions, where: string, e: unknown, timedOut: boolean): NotifyError {
  if (timedOut) return new NotifyTimeoutError(o.channel, where, o.timeoutMs);
  if (o.signal.aborted)
    return new NotifyAbandonedError(o.channel, 'the notifier stopped during the attempt', null);
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
  return new NotifyNetworkError(o.channel, `${where}: ${why}`, { cause: e });
}

/** The start of an error response's body, one line of printable text. */
async function readDetail(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  while (n < DETAIL_BYTES) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    n += value.length;
  }
  await reader.cancel().catch(() => undefined);
  const text = Buffer.concat(chunks).subarray(0, DETAIL_BYTES).toString('utf8');
  return text.replace(/[^\x20-\x7e]+/g, ' ').trim();
}

/** Retry-After: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), as milliseconds from now. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}
