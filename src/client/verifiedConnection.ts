/**
 * The one verified TLS connection every client uses (HTTPS agent, fetch dispatcher,
 * connectVerified): handshake with OpenSSL's verification off, collect what the server
 * presented (chain, staple, protocol), have the checker assess it (verification, AIA,
 * revocation, pins, expectations, policy), and hand the socket on only when the verdict allows
 * — before any application byte is written. Resumed sessions are verified again with the chain
 * their session was established with (see sessionCache.ts).
 */

import { isIP, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type ConnectionOptions,
  createSecureContext,
  type SecureContext,
  type TLSSocket,
  connect as tlsConnect,
} from 'node:tls';
import {
  assessConnection,
  type CheckerInternals,
  checkerInternals,
  type TargetObject,
} from '../check/checker.js';
import { CertificateVerificationError, CertvetOptionError } from '../check/errors.js';
import type { TargetResult } from '../model/result.js';
import { type Deadline, startDeadline, withDeadline } from '../probe/deadline.js';
import type { Observation } from '../probe/observation.js';
import { peerChain } from '../probe/peerChain.js';
import type { ClientIdentity } from '../probe/probe.js';
import { clientIdentityOptions } from '../probe/secureContext.js';
import { defaultServername } from '../probe/sni.js';
import { STARTTLS } from '../probe/starttls/index.js';
import type { StartTlsProtocol } from '../scan/target.js';
import { type ClientBasis, refuses } from './options.js';
import { SessionCache } from './sessionCache.js';

/** One connection to make. */
export interface ConnectRequest {
  /** Host name or IP literal (IPv6 without brackets), as the caller named the server. */
  readonly host: string;
  readonly port: number;
  /** SNI; undefined: the host when it is a name; null or '': none. */
  readonly servername?: string | null;
  /** An already connected transport to run TLS over (after STARTTLS, or a proxy tunnel). */
  readonly socket?: Duplex;
  /** The address `socket` is connected to, or to dial instead of resolving `host`. */
  readonly address?: string | null;
  readonly localAddress?: string;
  readonly alpn?: readonly string[];
  readonly starttls?: StartTlsProtocol | null;
  readonly signal?: AbortSignal;
}

export interface VerifiedConnection {
  readonly socket: TLSSocket;
  readonly result: TargetResult;
}

const results = new WeakMap<object, TargetResult>();

/** The certvet result of a socket made by a verified client (undefined for any other socket). */
export function verificationOf(socket: object): TargetResult | undefined {
  return results.get(socket);
}

/** A plain TCP connection, bounded by the connect timeout and the deadline. */
async function plainConnect(
  address: string,
  port: number,
  localAddress: string | undefined,
  connectMs: number,
  deadline: Deadline,
): Promise<Socket> {
  const sock = new Socket();
  const where = hostPort(address, port);
  const connected = waitFor(sock, 'connect', () =>
    Object.assign(new Error(`connection to ${where} closed`), { code: 'ECONNRESET' }),
  );
  sock.connect({ host: address, port, ...(localAddress ? { localAddress } : {}) });
  try {
    await withDeadline(
      connected.done,
      Math.max(1, Math.min(connectMs, deadline.remainingMs())),
      `connecting to ${where}`,
      deadline.signal,
      () => sock.destroy(),
    );
  } catch (e) {
    sock.destroy();
    throw e;
  } finally {
    connected.detach();
  }
  return sock;
}

/** Resolves on `event`, rejects on 'error' or 'close'; `detach` removes exactly these listeners. */
function waitFor(
  emitter: Socket | TLSSocket,
  event: string,
  closed: () => Error,
): { done: Promise<void>; detach(): void } {
  let onEvent = () => {};
  let onError = (_e: Error) => {};
  let onClose = () => {};
  const done = new Promise<void>((resolve, reject) => {
    onEvent = () => resolve();
    onError = (e) => reject(e);
    onClose = () => reject(closed());
  });
  emitter.once(event, onEvent);
  emitter.on('error', onError);
  emitter.once('close', onClose);
  return {
    done,
    detach() {
      emitter.off(event, onEvent);
      emitter.off('error', onError);
      emitter.off('close', onClose);
    },
  };
}

/** `host:port` in the target grammar (IPv6 in brackets). */
export function hostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

export interface ConnectorOptions {
  /** Sessions kept for resumption (0: every connection does a full handshake). */
  readonly maxCachedSessions: number;
  /** Called with every assessed connection, accepted or not, before the verdict is applied. */
  readonly onVerified?: (result: TargetResult, socket: TLSSocket) => void;
}

/** Makes verified TLS connections for one client, with one checker and one session cache. */
export class VerifiedConnector {
  readonly #basis: ClientBasis;
  readonly #internals: CheckerInternals;
  readonly #sessions: SessionCache;
  readonly #onVerified: ConnectorOptions['onVerified'];
  #context: { client: ClientIdentity | undefined; ctx: SecureContext } | null = null;
  /** Connections being made and verified, for stopAll(). */
  readonly #connecting = new Set<AbortController>();

  constructor(basis: ClientBasis, o: ConnectorOptions) {
    this.#basis = basis;
    this.#internals = checkerInternals(basis.checker);
    this.#sessions = new SessionCache(o.maxCachedSessions);
    this.#onVerified = o.onVerified;
  }

  get checker() {
    return this.#basis.checker;
  }

  /**
   * The handshake's secure context: the client identity, and an empty trust store. Node's
   * peer-chain walk appends the issuer of the last certificate sent when its store has it, which
   * would make a root look sent; with no store the chain is what the server sent. (Hence no
   * OpenSSL cross-check here: certvet's verdict is the only one.) Built once per client identity.
   */
  #secureContext(client: ClientIdentity | undefined): SecureContext {
    const c = this.#context;
    if (c && c.client === client) return c.ctx;
    let ctx: SecureContext;
    try {
      ctx = createSecureContext({
        ca: [],
        ...clientIdentityOptions(client),
      });
    } catch (e) {
      throw new CertvetOptionError('client', `cannot use the client certificate: ${(e as Error).message}`);
    }
    this.#context = { client, ctx };
    return ctx;
  }

  /**
   * Connects and verifies. Resolves with the socket (nothing written to it yet) and the result;
   * rejects with CertificateVerificationError when the verdict refuses the connection, or with
   * the connection's own error (ECONNREFUSED, a TLS alert, a DeadlineError) when there was none.
   */
  async connect(req: ConnectRequest): Promise<VerifiedConnection> {
    const started = performance.now();
    const sni = req.servername === undefined ? defaultServername(req.host) : req.servername || null;
    const input: TargetObject = {
      target: hostPort(req.host, req.port),
      ...(sni ? { servername: sni } : {}),
      ...(req.starttls ? { starttls: req.starttls } : {}),
    };
    const t = this.#internals.prepare(input);
    const totalMs = t.timeouts?.totalMs ?? 10_000;
    // Stopped by the caller's signal or by stopAll(); a stopped connection fails with the reason.
    const stop = new AbortController();
    const onCallerAbort = () => stop.abort(abortReasonOf(req.signal!));
    if (req.signal?.aborted) onCallerAbort();
    else req.signal?.addEventListener('abort', onCallerAbort, { once: true });
    this.#connecting.add(stop);
    // One deadline for the whole connection: resolve, connect, STARTTLS, handshake, AIA, OCSP, CRL.
    const deadline = startDeadline(totalMs, `the verified connection to ${input.target}`, stop.signal);
    try {
      return await this.#connect(req, input, sni, t, deadline, started);
    } catch (e) {
      throw stop.signal.aborted ? abortReasonOf(stop.signal) : e;
    } finally {
      deadline.dispose();
      this.#connecting.delete(stop);
      req.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  /** Stops every connection still being made and verified (an agent or dispatcher destroyed). */
  stopAll(reason: Error): void {
    for (const c of this.#connecting) c.abort(reason);
  }

  async #connect(
    req: ConnectRequest,
    input: TargetObject,
    sni: string | null,
    t: ReturnType<CheckerInternals['prepare']>,
    deadline: Deadline,
    started: number,
  ): Promise<VerifiedConnection> {
    const timings = { dnsMs: 0, connectMs: 0, starttlsMs: 0, handshakeMs: 0, totalMs: 0 };
    const connectMs = t.timeouts?.connectMs ?? 5000;
    let address = req.address ?? (isIP(req.host) ? req.host : null);
    if (!address && !req.socket) {
      const t0 = performance.now();
      const addrs = await withDeadline(
        this.#internals.lookup(req.host),
        Math.min(connectMs, deadline.remainingMs()),
        `resolving ${req.host}`,
        deadline.signal,
      );
      if (!addrs.length)
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${req.host}`), {
          code: 'ENOTFOUND',
          hostname: req.host,
        });
      address = addrs[0]!;
      timings.dnsMs = Math.round(performance.now() - t0);
    }
    let transport = req.socket;
    if (req.starttls && !transport) {
      // STARTTLS: a plain connection, the protocol's own negotiation, then TLS on the same socket.
      const t0 = performance.now();
      transport = await plainConnect(address!, req.port, req.localAddress, connectMs, deadline);
      timings.connectMs = Math.round(performance.now() - t0);
      const t2 = performance.now();
      try {
        await withDeadline(
          STARTTLS[req.starttls]({ socket: transport as Socket, host: sni ?? req.host }),
          Math.max(1, deadline.remainingMs()),
          `the ${req.starttls} STARTTLS exchange with ${input.target}`,
          deadline.signal,
        );
      } catch (e) {
        transport.destroy();
        throw e;
      }
      timings.starttlsMs = Math.round(performance.now() - t2);
    }
    const key = `${req.host}|${req.port}|${sni ?? ''}|${req.starttls ?? ''}`;
    const offered = this.#sessions.get(key);
    const opts: ConnectionOptions & { requestOCSP: boolean } = {
      ...(transport ? { socket: transport, host: req.host } : { host: address!, port: req.port }),
      ...(req.localAddress && !transport ? { localAddress: req.localAddress } : {}),
      ...(sni ? { servername: sni } : {}),
      // certvet decides, after the handshake; OpenSSL does not judge the chain.
      rejectUnauthorized: false,
      requestOCSP: true,
      secureContext: this.#secureContext(t.client),
      ...(req.alpn?.length ? { ALPNProtocols: [...req.alpn] } : {}),
      ...(offered ? { session: offered.session } : {}),
    };
    const t1 = performance.now();
    const ts = tlsConnect(opts);
    let staple: Uint8Array | null = null;
    ts.on('OCSPResponse', (r: Buffer) => {
      if (r?.length) staple = new Uint8Array(r);
    });
    // Sessions are kept only once this connection is accepted, with the chain it was verified with.
    let accepted: { certificates: readonly Uint8Array[]; ocspStaple: Uint8Array | null } | null = null;
    let pendingSession: Buffer | null = null;
    ts.on('session', (session: Buffer) => {
      if (accepted) this.#sessions.set(key, { session, ...accepted });
      else pendingSession = session;
    });
    if (!transport)
      ts.once('connect', () => {
        timings.connectMs = Math.round(performance.now() - t1);
      });
    let lateError: Error | null = null;
    const noteError = (e: Error) => {
      lateError ??= e;
    };
    const handshake = waitFor(ts, 'secureConnect', () =>
      Object.assign(new Error('socket disconnected before secure TLS connection was established'), {
        code: 'ECONNRESET',
      }),
    );
    try {
      await withDeadline(
        handshake.done,
        Math.max(1, deadline.remainingMs()),
        `the TLS handshake with ${input.target}`,
        deadline.signal,
        () => ts.destroy(),
      );
    } catch (e) {
      ts.destroy();
      throw e;
    } finally {
      // Until the socket is handed on, an error must not go unheard (it would crash the process).
      ts.on('error', noteError);
      handshake.detach();
    }
    timings.handshakeMs = Math.round(performance.now() - t1) - (transport ? 0 : timings.connectMs);
    const reused = ts.isSessionReused();
    let certificates: readonly Uint8Array[] = reused ? [] : peerChain(ts);
    if (reused && offered) {
      // Nothing was presented on resumption: the session stands for the chain it was made with.
      certificates = offered.certificates;
      staple ??= offered.ocspStaple;
    }
    const cipher = ts.getCipher();
    const observation: Observation = {
      address: address ?? ts.remoteAddress ?? null,
      port: req.port,
      servername: sni,
      certificates,
      protocol: ts.getProtocol() ?? null,
      cipher: cipher?.standardName ?? cipher?.name ?? null,
      alpn: ts.alpnProtocol || null,
      ocspStaple: staple,
      crossCheck: null,
      clientCert: 'unknown',
      timings: { ...timings, totalMs: Math.round(performance.now() - started) },
      error: certificates.length
        ? null
        : {
            code: 'handshake-failed',
            message: reused
              ? 'the TLS session was resumed but the certificates it was established with are not known'
              : 'the server presented no certificate',
          },
    };
    let result: TargetResult;
    try {
      result = await assessConnection(this.#basis.checker, input, observation, deadline.signal);
    } catch (e) {
      ts.destroy();
      throw e;
    }
    results.set(ts, result);
    this.#onVerified?.(result, ts);
    if (refuses(result, this.#basis.failOn)) {
      this.#sessions.delete(key);
      ts.destroy();
      throw new CertificateVerificationError(result.target, result.findings, result.chain);
    }
    if (lateError || ts.destroyed) {
      this.#sessions.delete(key);
      ts.destroy();
      throw lateError ?? Object.assign(new Error('the server closed the connection'), { code: 'ECONNRESET' });
    }
    accepted = { certificates, ocspStaple: staple };
    if (pendingSession) this.#sessions.set(key, { session: pendingSession, ...accepted });
    ts.off('error', noteError);
    return { socket: ts, result };
  }
}

/** A signal's abort reason as an Error (a reason that is not one is wrapped). */
function abortReasonOf(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(`aborted: ${String(r)}`);
}
