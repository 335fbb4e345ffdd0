import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, Socket } from 'node:net';
import {
  type ConnectionOptions,
  createSecureContext,
  type DetailedPeerCertificate,
  type SecureContext,
  type SecureVersion,
  type TLSSocket,
  connect as tlsConnect,
} from 'node:tls';
import { tidyErrorMessage } from '../util/errorText.js';
import { CapturingStream } from './capture.js';
import { DeadlineError, withDeadline } from './deadline.js';
import { parseServerHandshake } from './handshakeParser.js';
import type { Observation, ProbeErrorCode } from './observation.js';
import { STARTTLS } from './starttls/index.js';
import type { StartTlsProtocol } from './starttls/protocols.js';

/** Resolves a host name to IP addresses; injectable so tests never touch real DNS. */
export type LookupFn = (host: string) => Promise<string[]>;

export const systemLookup: LookupFn = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** A client certificate to present (PEM cert + key, or PKCS#12), with its passphrase if any. */
export interface ClientIdentity {
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly pfx?: Buffer;
  readonly passphrase?: string;
}

export interface ProbeTimeouts {
  readonly connectMs: number;
  readonly handshakeMs: number;
  readonly totalMs: number;
}

export const DEFAULT_TIMEOUTS: ProbeTimeouts = { connectMs: 5000, handshakeMs: 10000, totalMs: 10000 };

export interface ProbeOptions {
  readonly host: string;
  readonly port: number;
  /** SNI; defaults to the host when it is a name, none for IP literals. */
  readonly servername?: string | null;
  /** Dial this address instead of resolving (curl's --resolve). */
  readonly address?: string | null;
  readonly lookup?: LookupFn;
  readonly starttls?: StartTlsProtocol | null;
  /** Anchors for the cross-check by Node/OpenSSL (PEM). Undefined: Node's default roots. */
  readonly ca?: readonly string[];
  readonly client?: ClientIdentity;
  readonly timeouts?: Partial<ProbeTimeouts>;
  readonly signal?: AbortSignal;
  readonly minVersion?: SecureVersion;
  readonly maxVersion?: SecureVersion;
  /** ALPN protocols to offer (e.g. h2, http/1.1 for https:// targets); none by default. */
  readonly alpn?: readonly string[];
  /** How long to wait after a TLS 1.3 handshake for a client-certificate alert (default: from connect RTT). */
  readonly postHandshakeWaitMs?: number;
}

/**
 * Secure contexts are expensive to build (the CA bundle is parsed each time); targets share
 * them when they share anchors, client identity and protocol bounds.
 */
const contexts = new WeakMap<object, Map<string, SecureContext>>();
const NO_CA = {};
const NO_CLIENT = {};

function secureContextFor(o: ProbeOptions): SecureContext {
  const caKey = (o.ca ?? NO_CA) as object;
  const clientKey = (o.client ?? NO_CLIENT) as object;
  let byCa = contexts.get(caKey);
  if (!byCa) {
    byCa = new Map();
    contexts.set(caKey, byCa);
  }
  const k = `${o.minVersion ?? 'TLSv1'}|${o.maxVersion ?? ''}|${clientIds.get(clientKey) ?? nextClientId(clientKey)}`;
  let ctx = byCa.get(k);
  if (!ctx) {
    ctx = createSecureContext({
      minVersion: o.minVersion ?? 'TLSv1',
      ...(o.maxVersion ? { maxVersion: o.maxVersion } : {}),
      // The probe must complete handshakes with weak or legacy servers so their certificates are still verified.
      ciphers: 'DEFAULT:@SECLEVEL=0',
      ...(o.ca ? { ca: [...o.ca] } : {}),
      ...(o.client?.pfx ? { pfx: o.client.pfx } : {}),
      ...(o.client?.cert ? { cert: o.client.cert } : {}),
      ...(o.client?.key ? { key: o.client.key } : {}),
      ...(o.client?.passphrase !== undefined ? { passphrase: o.client.passphrase } : {}),
    });
    byCa.set(k, ctx);
  }
  return ctx;
}

const clientIds = new WeakMap<object, number>();
let clientCounter = 0;
function nextClientId(o: object): number {
  clientIds.set(o, ++clientCounter);
  return clientCounter;
}

class ProbeError extends Error {
  constructor(
    readonly code: ProbeErrorCode,
    message: string,
  ) {
    // Whole milliseconds, no OpenSSL source paths or error-queue prefixes.
    super(tidyErrorMessage(message));
  }
}

const CLIENT_CERT_REJECTED_ALERTS = new Set([40, 42, 43, 44, 45, 46, 48, 49, 116]);

function alertOf(e: NodeJS.ErrnoException): number | null {
  const m = /SSL alert number (\d+)/.exec(e.message);
  return m ? Number(m[1]) : null;
}

function describeNetError(e: NodeJS.ErrnoException, where: string): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return `connection to ${where} refused`;
    case 'ECONNRESET':
      return `connection to ${where} reset by the peer`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${where} is unreachable (${e.code})`;
    case 'EADDRNOTAVAIL':
      return `cannot connect to ${where} (${e.code})`;
    default:
      return `cannot connect to ${where}: ${e.message}`;
  }
}

function describeTlsError(e: NodeJS.ErrnoException): string {
  const msg = e.message;
  if (/wrong version number|packet length too long|unknown protocol|record layer failure/i.test(msg))
    return 'the server did not answer with TLS (plain text on a TLS port?)';
  if (e.code === 'ECONNRESET') return 'the connection was reset during the TLS handshake';
  if (/socket disconnected before secure TLS connection/i.test(msg))
    return 'the server closed the connection during the TLS handshake';
  if (/unsupported protocol|no protocols available|tlsv1 alert protocol version/i.test(msg))
    return 'no TLS protocol version in common with the server';
  if (/handshake failure|no shared cipher|sslv3 alert/i.test(msg))
    return `the TLS handshake failed: ${msg.replace(/^.*?:error:[0-9A-F]+:/, '').replace(/:\.\.\/deps.*$/, '')}`;
  return `the TLS handshake failed: ${msg}`;
}

/** The certificates the peer presented, leaf first, as DER. */
function peerChain(sock: TLSSocket): Uint8Array[] {
  let cert: DetailedPeerCertificate | undefined;
  try {
    cert = sock.getPeerCertificate(true);
  } catch {
    return [];
  }
  const out: Uint8Array[] = [];
  const seen = new Set<string>();
  while (cert?.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    out.push(new Uint8Array(cert.raw));
    cert = cert.issuerCertificate;
  }
  return out;
}

/**
 * Connects to one endpoint and records what it presents. Never decides trust (verification
 * is off during the handshake; Node's own verdict is kept as `crossCheck`), never throws:
 * failures become `error`. Every step is bounded by its timeout and the total deadline.
 */
export async function probe(o: ProbeOptions): Promise<Observation> {
  const t = { ...DEFAULT_TIMEOUTS, ...o.timeouts };
  const started = performance.now();
  const remaining = () => Math.max(1, t.totalMs - (performance.now() - started));
  const timings = { dnsMs: 0, connectMs: 0, starttlsMs: 0, handshakeMs: 0, totalMs: 0 };
  const servername = o.servername !== undefined ? o.servername : isIP(o.host) ? null : o.host;
  let address: string | null = o.address ?? (isIP(o.host) ? o.host : null);
  let certificates: Uint8Array[] = [];
  let protocol: string | null = null;
  let cipher: string | null = null;
  let alpn: string | null = null;
  let ocspStaple: Uint8Array | null = null;
  let crossCheck: Observation['crossCheck'] = null;
  let clientCert: Observation['clientCert'] = 'unknown';
  let socket: Socket | null = null;
  let tlsSock: TLSSocket | null = null;
  const where = () => `${address && isIP(address) === 6 ? `[${address}]` : address}:${o.port}`;
  const finish = (failure: Observation['error']): Observation => {
    const error: Observation['error'] =
      failure && o.signal?.aborted
        ? {
            code: 'timeout',
            message:
              o.signal.reason instanceof DeadlineError
                ? tidyErrorMessage(o.signal.reason.message)
                : 'interrupted before the check completed',
          }
        : failure;
    tlsSock?.destroy();
    socket?.destroy();
    timings.totalMs = Math.round(performance.now() - started);
    return {
      address,
      port: o.port,
      servername,
      certificates,
      protocol,
      cipher,
      alpn,
      ocspStaple,
      crossCheck,
      clientCert,
      timings,
      error,
    };
  };
  try {
    if (!address) {
      const t0 = performance.now();
      let addrs: string[];
      try {
        addrs = await withDeadline(
          (o.lookup ?? systemLookup)(o.host),
          Math.min(t.connectMs, remaining()),
          `resolving ${o.host}`,
          o.signal,
        );
      } catch (e) {
        if (e instanceof DeadlineError) throw new ProbeError('timeout', e.message);
        throw new ProbeError(
          'dns-failed',
          `cannot resolve ${o.host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
      timings.dnsMs = Math.round(performance.now() - t0);
      if (!addrs.length) throw new ProbeError('dns-failed', `${o.host} has no addresses`);
      address = addrs[0]!;
    }
    const t1 = performance.now();
    const sock = new Socket();
    socket = sock;
    try {
      await withDeadline(
        new Promise<void>((resolve, reject) => {
          sock.once('connect', resolve);
          sock.once('error', reject);
          sock.connect({ host: address!, port: o.port });
        }),
        Math.min(t.connectMs, remaining()),
        `connecting to ${where()}`,
        o.signal,
        () => sock.destroy(),
      );
    } catch (e) {
      if (e instanceof DeadlineError) throw new ProbeError('timeout', e.message);
      throw new ProbeError('connect-failed', describeNetError(e as NodeJS.ErrnoException, where()));
    }
    sock.removeAllListeners('error');
    sock.on('error', () => {});
    timings.connectMs = Math.round(performance.now() - t1);
    if (o.starttls) {
      const t2 = performance.now();
      try {
        await withDeadline(
          STARTTLS[o.starttls]({ socket: sock, host: servername ?? o.host }),
          Math.min(t.handshakeMs, remaining()),
          `the ${o.starttls} STARTTLS exchange`,
          o.signal,
        );
      } catch (e) {
        if (e instanceof DeadlineError) throw new ProbeError('timeout', e.message);
        throw new ProbeError(
          'starttls-failed',
          `${o.starttls} STARTTLS with ${where()} failed: ${(e as Error).message}`,
        );
      }
      timings.starttlsMs = Math.round(performance.now() - t2);
    }
    const t3 = performance.now();
    const capture = new CapturingStream(sock);
    let secureContext: SecureContext;
    try {
      secureContext = secureContextFor(o);
    } catch (e) {
      throw new ProbeError(
        'handshake-failed',
        `cannot use the client certificate or CA bundle: ${(e as Error).message}`,
      );
    }
    const opts: ConnectionOptions & { requestOCSP: boolean } = {
      socket: capture,
      // Only for Node's identity check in the cross-check (the connection is already made).
      host: o.host,
      rejectUnauthorized: false,
      requestOCSP: true,
      secureContext,
      ...(servername ? { servername } : {}),
      ...(o.alpn?.length ? { ALPNProtocols: [...o.alpn] } : {}),
    };
    const ts = tlsConnect(opts);
    tlsSock = ts;
    let serverSecret: Buffer | null = null;
    ts.on('keylog', (line: Buffer) => {
      const m = /^SERVER_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]+ ([0-9a-f]+)/i.exec(line.toString('latin1'));
      if (m) serverSecret = Buffer.from(m[1]!, 'hex');
    });
    // The chain exactly as sent (order, extras) from the wire; Node's rebuilt chain as a fallback.
    let certificateRequested = false;
    const sentChain = () => {
      try {
        const hs = parseServerHandshake(capture.captured(), serverSecret);
        certificateRequested = hs.certificateRequested;
        if (hs.certificates?.length) return hs.certificates;
      } catch {
        /* fall back below */
      }
      return peerChain(ts);
    };
    ts.on('OCSPResponse', (r: Buffer) => {
      if (r?.length) ocspStaple = new Uint8Array(r);
    });
    const haveClientCert = Boolean(o.client?.pfx || o.client?.cert);
    let lateError: NodeJS.ErrnoException | null = null;
    try {
      await withDeadline(
        new Promise<void>((resolve, reject) => {
          ts.once('secureConnect', resolve);
          ts.once('error', reject);
          ts.once('close', () =>
            reject(
              Object.assign(new Error('socket disconnected before secure TLS connection was established'), {
                code: 'ECONNRESET',
              }),
            ),
          );
        }),
        Math.min(t.handshakeMs, remaining()),
        `the TLS handshake with ${where()}`,
        o.signal,
      );
    } catch (e) {
      certificates = sentChain();
      if (e instanceof DeadlineError) throw new ProbeError('timeout', e.message);
      const err = e as NodeJS.ErrnoException;
      const alert = alertOf(err);
      if (certificates.length && alert !== null && CLIENT_CERT_REJECTED_ALERTS.has(alert)) {
        clientCert = haveClientCert ? 'rejected' : 'required-missing';
        protocol = ts.getProtocol() ?? null;
        return finish(null);
      }
      throw new ProbeError('handshake-failed', describeTlsError(err));
    }
    timings.handshakeMs = Math.round(performance.now() - t3);
    certificates = sentChain();
    protocol = ts.getProtocol() ?? null;
    cipher = ts.getCipher()?.standardName ?? ts.getCipher()?.name ?? null;
    alpn = ts.alpnProtocol || null;
    crossCheck = {
      authorized: ts.authorized,
      error: ts.authorizationError ? String(ts.authorizationError) : null,
    };
    if (protocol === 'TLSv1.3') {
      // TLS 1.3: a client-certificate refusal arrives after the handshake; wait briefly for it
      // (ends early when the server sends its session tickets, i.e. it accepted us).
      const wait = o.postHandshakeWaitMs ?? Math.min(1000, Math.max(50, timings.connectMs * 4 + 30));
      // Knowing whether the server asked for a certificate decides how long to listen.
      certificates = sentChain();
      const asked = certificateRequested;
      let closed = false;
      let gotData = false;
      lateError = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
        // Read (and discard) so that OpenSSL processes whatever the server sends next.
        ts.on('data', () => {
          gotData = true;
        });
        ts.resume();
        const timer = setTimeout(() => resolve(null), Math.min(wait, remaining()));
        const done = (e: NodeJS.ErrnoException | null) => {
          clearTimeout(timer);
          resolve(e);
        };
        // A session ticket means the handshake was accepted, unless the server asked for a
        // client certificate: servers that verify it asynchronously close after the ticket.
        ts.once('session', () => {
          if (!asked) done(null);
        });
        ts.once('error', (e) => done(e as NodeJS.ErrnoException));
        ts.once('end', () => {
          closed = true;
          done(null);
        });
      });
      certificates = sentChain();
      const alert = lateError ? alertOf(lateError) : null;
      if (alert !== null && CLIENT_CERT_REJECTED_ALERTS.has(alert))
        clientCert = haveClientCert ? 'rejected' : 'required-missing';
      else if (closed && !gotData && certificateRequested)
        clientCert = haveClientCert ? 'rejected' : 'required-missing';
      else if (!lateError)
        clientCert = certificateRequested ? (haveClientCert ? 'accepted' : 'optional') : 'not-requested';
    } else {
      clientCert = certificateRequested ? (haveClientCert ? 'accepted' : 'optional') : 'not-requested';
    }
    return finish(null);
  } catch (e) {
    if (e instanceof ProbeError) return finish({ code: e.code, message: e.message });
    if (o.signal?.aborted)
      return finish({ code: 'timeout', message: `aborted: ${tidyErrorMessage((e as Error).message)}` });
    return finish({ code: 'handshake-failed', message: tidyErrorMessage((e as Error).message) });
  }
}
