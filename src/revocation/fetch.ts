import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { abortReason, DeadlineError, withDeadline } from '../probe/deadline.js';
import { fdBudget } from '../util/fdBudget.js';
import { Slots } from '../util/slots.js';
import { DEFAULT_FETCH_POLICY, type FetchPolicy } from './fetchPolicy.js';

export interface FetchOptions {
  readonly maxBytes: number;
  /** Deadline for the whole exchange (all hops), in ms; the signal may end it sooner. */
  readonly timeoutMs: number;
  readonly maxRedirects?: number;
  readonly method?: 'GET' | 'POST';
  readonly body?: Uint8Array;
  readonly contentType?: string;
  /** Which addresses may be fetched from (default: link-local and unspecified denied). */
  readonly policy?: FetchPolicy;
  /** Resolves host names (injectable: tests never use real DNS). */
  readonly lookup?: (host: string) => Promise<string>;
  /** Ends the fetch (e.g. the per-target deadline, Ctrl-C): it rejects with a FetchError `CERTVET_FETCH_ABORTED`. */
  readonly signal?: AbortSignal;
}

export interface FetchResult {
  readonly body: Uint8Array;
  readonly contentType: string | null;
  /** max-age from Cache-Control, in seconds, if any. */
  readonly maxAgeSec: number | null;
  readonly finalUrl: string;
}

export type FetchErrorCode =
  | 'CERTVET_FETCH_REFUSED_URL'
  | 'CERTVET_FETCH_DENIED'
  | 'CERTVET_FETCH_DNS'
  | 'CERTVET_FETCH_TIMEOUT'
  | 'CERTVET_FETCH_ABORTED'
  | 'CERTVET_FETCH_TOO_LARGE'
  | 'CERTVET_FETCH_HTTP_STATUS'
  | 'CERTVET_FETCH_FAILED';

export class FetchError extends Error {
  override readonly name = 'FetchError';
  constructor(
    message: string,
    readonly code: FetchErrorCode = 'CERTVET_FETCH_FAILED',
  ) {
    super(message);
  }
}

const defaultLookup = async (host: string) => (await dnsLookup(host)).address;

/** At most this many requests to one host at a time. */
const PER_HOST = 4;
const perHost = new Map<string, Slots>();
/** Across all hosts, within the process's open-file budget. */
const allHosts = new Slots(() => fdBudget().fetches);

function aborted(where: string, signal: AbortSignal): FetchError {
  return new FetchError(`${where}: ${abortReason(signal).message}`, 'CERTVET_FETCH_ABORTED');
}

async function acquire(host: string, signal: AbortSignal | undefined): Promise<() => void> {
  let slots = perHost.get(host);
  if (!slots) {
    slots = new Slots(() => PER_HOST);
    perHost.set(host, slots);
  }
  const releaseHost = await slots.acquire(signal, (s) => aborted(host, s));
  let releaseAll: () => void;
  try {
    releaseAll = await allHosts.acquire(signal, (s) => aborted(host, s));
  } catch (e) {
    releaseHost();
    throw e;
  }
  return () => {
    releaseAll();
    releaseHost();
    if (slots.inUse === 0 && perHost.get(host) === slots) perHost.delete(host);
  };
}

/**
 * A bounded HTTP(S) fetch for URLs that certificates name: only http and https, a size cap,
 * a deadline for the whole exchange, at most a few redirects (again only http/https), the
 * fetch policy checked on every hop against the address actually dialled, per-host and
 * process-wide concurrency limits, and an abort signal that ends it at once.
 */
export async function boundedFetch(url: string, o: FetchOptions): Promise<FetchResult> {
  const started = performance.now();
  const remaining = () => Math.max(1, o.timeoutMs - (performance.now() - started));
  const policy = o.policy ?? DEFAULT_FETCH_POLICY;
  const maxRedirects = o.maxRedirects ?? 3;
  let current = url;
  for (let hop = 0; hop <= maxRedirects; hop++) {
    let u: URL;
    try {
      u = new URL(current);
    } catch {
      throw new FetchError(`"${current.slice(0, 200)}" is not a valid URL`, 'CERTVET_FETCH_REFUSED_URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new FetchError(
        `refusing ${u.protocol.replace(':', '')} URL ${current.slice(0, 200)} (only http and https are fetched)`,
        'CERTVET_FETCH_REFUSED_URL',
      );
    if (o.signal?.aborted) throw aborted(u.host, o.signal);
    // The WHATWG parser has already normalised IP literals (2130706433, 0x7f.1 -> 127.0.0.1).
    const host = u.hostname.replace(/^\[|\]$/g, '');
    let address: string;
    try {
      address = isIP(host)
        ? host
        : await withDeadline((o.lookup ?? defaultLookup)(host), remaining(), `resolving ${host}`, o.signal);
    } catch (e) {
      if (o.signal?.aborted) throw aborted(u.host, o.signal);
      if (e instanceof DeadlineError) throw new FetchError(e.message, 'CERTVET_FETCH_TIMEOUT');
      throw new FetchError(
        `cannot resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        'CERTVET_FETCH_DNS',
      );
    }
    // Checked against the address that will be dialled, on every hop (redirects included).
    const denied = policy.check(host, address);
    if (denied) throw new FetchError(denied, 'CERTVET_FETCH_DENIED');
    const release = await acquire(host, o.signal);
    let res: IncomingMessage;
    let body: Buffer;
    try {
      ({ res, body } = await once(u, host, address, o, remaining()));
    } finally {
      release();
    }
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      current = new URL(res.headers.location, u).toString();
      continue;
    }
    if (status !== 200)
      throw new FetchError(`${u.host} answered HTTP ${status}`, 'CERTVET_FETCH_HTTP_STATUS');
    const cc = /max-age=(\d+)/i.exec(String(res.headers['cache-control'] ?? ''));
    return {
      body: new Uint8Array(body),
      contentType: res.headers['content-type'] ?? null,
      maxAgeSec: cc ? Number(cc[1]) : null,
      finalUrl: u.toString(),
    };
  }
  throw new FetchError(
    `more than ${maxRedirects} redirects from ${url.slice(0, 200)}`,
    'CERTVET_FETCH_REFUSED_URL',
  );
}

function once(
  u: URL,
  host: string,
  address: string,
  o: FetchOptions,
  timeoutMs: number,
): Promise<{ res: IncomingMessage; body: Buffer }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    // The response has begun (status and headers came): a timeout now is a slow body.
    let answering = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const fail = (e: FetchError) =>
      settle(() => {
        req.destroy();
        reject(e);
      });
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      {
        host: address,
        port: u.port || (u.protocol === 'https:' ? 443 : 80),
        path: `${u.pathname}${u.search}`,
        method: o.method ?? 'GET',
        // A fresh connection, closed afterwards: no pooled socket outlives the fetch.
        agent: false,
        headers: {
          host: u.host,
          'user-agent': 'certvet',
          ...(o.body
            ? {
                'content-type': o.contentType ?? 'application/octet-stream',
                'content-length': String(o.body.length),
              }
            : {}),
        },
        // The fetched objects are signed and verified by certvet; the transport is not trusted.
        ...(u.protocol === 'https:'
          ? { servername: isIP(host) ? undefined : host, rejectUnauthorized: false }
          : {}),
      },
      (res) => {
        answering = true;
        const declared = Number(res.headers['content-length'] ?? '0');
        if (declared > o.maxBytes) {
          fail(
            new FetchError(
              `${u.host} announced ${declared} bytes, over the ${o.maxBytes}-byte limit`,
              'CERTVET_FETCH_TOO_LARGE',
            ),
          );
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (d: Buffer) => {
          size += d.length;
          if (size > o.maxBytes) {
            fail(
              new FetchError(
                `${u.host} sent more than the ${o.maxBytes}-byte limit`,
                'CERTVET_FETCH_TOO_LARGE',
              ),
            );
            return;
          }
          chunks.push(d);
        });
        res.on('end', () => settle(() => resolve({ res, body: Buffer.concat(chunks) })));
        res.on('error', (e) => fail(new FetchError(`${u.host}: ${e.message}`)));
      },
    );
    const timer = setTimeout(
      () =>
        fail(
          new FetchError(
            // The fetch's own limit, not what was left of it for this request (4999 ms).
            `${u.host} did not ${answering ? 'finish its answer' : 'answer'} within the ${o.timeoutMs} ms fetch timeout`,
            'CERTVET_FETCH_TIMEOUT',
          ),
        ),
      timeoutMs,
    );
    const onAbort = () => fail(aborted(u.host, o.signal!));
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e) =>
      fail(new FetchError(`${u.host}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)),
    );
    if (o.body) req.end(Buffer.from(o.body));
    else req.end();
  });
}
