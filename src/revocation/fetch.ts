import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { FetchPolicy } from './fetchPolicy.js';

export interface FetchOptions {
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly maxRedirects?: number;
  readonly method?: 'GET' | 'POST';
  readonly body?: Uint8Array;
  readonly contentType?: string;
  readonly policy?: FetchPolicy;
  /** Resolves host names (injectable: tests never use real DNS). */
  readonly lookup?: (host: string) => Promise<string>;
  readonly signal?: AbortSignal;
}

export interface FetchResult {
  readonly body: Uint8Array;
  readonly contentType: string | null;
  /** max-age from Cache-Control, in seconds, if any. */
  readonly maxAgeSec: number | null;
  readonly finalUrl: string;
}

export class FetchError extends Error {
  override readonly name = 'FetchError';
}

const defaultLookup = async (host: string) => (await dnsLookup(host)).address;

/** Per-host concurrency: at most this many requests to one host at a time. */
const PER_HOST = 4;
const active = new Map<string, number>();
const waiting = new Map<string, (() => void)[]>();

async function acquire(host: string): Promise<() => void> {
  while ((active.get(host) ?? 0) >= PER_HOST)
    await new Promise<void>((r) => waiting.set(host, [...(waiting.get(host) ?? []), r]));
  active.set(host, (active.get(host) ?? 0) + 1);
  return () => {
    active.set(host, (active.get(host) ?? 1) - 1);
    const q = waiting.get(host);
    const next = q?.shift();
    if (next) next();
  };
}

/**
 * A bounded HTTP(S) fetch for URLs that certificates name: only http and https, a size cap,
 * a deadline for the whole exchange, at most a few redirects (again only http/https), the
 * fetch policy checked on every hop's resolved address, and a per-host concurrency limit.
 */
export async function boundedFetch(url: string, o: FetchOptions): Promise<FetchResult> {
  const deadline = Date.now() + o.timeoutMs;
  let current = url;
  for (let hop = 0; hop <= (o.maxRedirects ?? 3); hop++) {
    let u: URL;
    try {
      u = new URL(current);
    } catch {
      throw new FetchError(`"${current.slice(0, 200)}" is not a valid URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new FetchError(
        `refusing ${u.protocol.replace(':', '')} URL ${current.slice(0, 200)} (only http and https are fetched)`,
      );
    const host = u.hostname.replace(/^\[|\]$/g, '');
    let address: string;
    try {
      address = isIP(host) ? host : await (o.lookup ?? defaultLookup)(host);
    } catch (e) {
      throw new FetchError(
        `cannot resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    const denied = o.policy?.check(host, address);
    if (denied) throw new FetchError(denied);
    const release = await acquire(host);
    let res: IncomingMessage;
    let body: Buffer;
    try {
      ({ res, body } = await once(u, address, o, Math.max(1, deadline - Date.now())));
    } finally {
      release();
    }
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      current = new URL(res.headers.location, u).toString();
      continue;
    }
    if (status !== 200) throw new FetchError(`${u.host} answered HTTP ${status}`);
    const cc = /max-age=(\d+)/i.exec(String(res.headers['cache-control'] ?? ''));
    return {
      body: new Uint8Array(body),
      contentType: res.headers['content-type'] ?? null,
      maxAgeSec: cc ? Number(cc[1]) : null,
      finalUrl: u.toString(),
    };
  }
  throw new FetchError(`more than ${o.maxRedirects ?? 3} redirects from ${url.slice(0, 200)}`);
}

function once(
  u: URL,
  address: string,
  o: FetchOptions,
  timeoutMs: number,
): Promise<{ res: IncomingMessage; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      {
        host: address,
        port: u.port || (u.protocol === 'https:' ? 443 : 80),
        path: `${u.pathname}${u.search}`,
        method: o.method ?? 'GET',
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
          ? { servername: isIP(u.hostname) ? undefined : u.hostname, rejectUnauthorized: false }
          : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      },
      (res) => {
        const declared = Number(res.headers['content-length'] ?? '0');
        if (declared > o.maxBytes) {
          req.destroy();
          reject(new FetchError(`${u.host} announced ${declared} bytes, over the ${o.maxBytes}-byte limit`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (d: Buffer) => {
          size += d.length;
          if (size > o.maxBytes) {
            req.destroy();
            reject(new FetchError(`${u.host} sent more than the ${o.maxBytes}-byte limit`));
            return;
          }
          chunks.push(d);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ res, body: Buffer.concat(chunks) });
        });
        res.on('error', (e) => reject(new FetchError(`${u.host}: ${e.message}`)));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new FetchError(`${u.host} did not answer within ${Math.round(timeoutMs)} ms`));
    }, timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(
        e instanceof FetchError
          ? e
          : new FetchError(`${u.host}: ${(e as NodeJS.ErrnoException).code ?? e.message}`),
      );
    });
    if (o.body) req.end(Buffer.from(o.body));
    else req.end();
  });
}
