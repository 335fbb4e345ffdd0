/**
 * `createHttpsAgent(options)`: an `https.Agent` whose every connection, resumed sessions
 * included, is verified by certvet before the HTTP machinery gets the socket — so no request
 * byte is written to a server certvet refused. A refusal fails the request with
 * CertificateVerificationError; every assessed connection is announced on `verified`.
 */
import type { ClientRequest } from 'node:http';
import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Checker } from '../check/checker.js';
import { CertvetOptionError } from '../check/errors.js';
import type { TargetResult } from '../model/result.js';
import { clientBasis, rejectPerConnection, type VerifiedClientOptions } from './options.js';
import { VerifiedConnector } from './verifiedConnection.js';

/** The https.Agent options that make sense for a verified agent (TLS options are certvet's). */
const AGENT_KEYS = [
  'keepAlive',
  'keepAliveMsecs',
  'maxSockets',
  'maxTotalSockets',
  'maxFreeSockets',
  'scheduling',
  'maxCachedSessions',
] as const;

export interface HttpsAgentOptions
  extends VerifiedClientOptions,
    Pick<AgentOptions, Exclude<(typeof AGENT_KEYS)[number], 'maxCachedSessions'>> {
  /** TLS sessions kept for resumption (default 100; 0: a full handshake every time). Resumed connections are verified too. */
  readonly maxCachedSessions?: number;
}

/** The agent's own event, typed: 'verified' carries each assessed connection's result. */
export interface VerifiedHttpsAgent {
  on(event: 'verified', listener: (result: TargetResult, socket: TLSSocket) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own signature, for every other event
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'verified', listener: (result: TargetResult, socket: TLSSocket) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own signature, for every other event
  once(event: string | symbol, listener: (...args: any[]) => void): this;
  off(event: 'verified', listener: (result: TargetResult, socket: TLSSocket) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own signature, for every other event
  off(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** An https.Agent that verifies every connection with certvet before it carries a request. */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface above only types the events
export class VerifiedHttpsAgent extends Agent {
  /** The checker this agent verifies with (shareable with createDispatcher({ checker })). */
  readonly checker: Checker;
  readonly #connector: VerifiedConnector;
  /** The request Node is finding a socket for (createSocket calls createConnection synchronously). */
  #request: ClientRequest | null = null;

  constructor(options: HttpsAgentOptions = {}) {
    rejectPerConnection(options, 'createHttpsAgent');
    const { basis, own } = clientBasis(options, AGENT_KEYS, 'createHttpsAgent');
    const maxCachedSessions = own.maxCachedSessions ?? 100;
    if (typeof maxCachedSessions !== 'number' || !(maxCachedSessions >= 0))
      throw new CertvetOptionError('maxCachedSessions', 'must be a non-negative number');
    // Node's own session cache stays off: sessions are certvet's, with the chains they stand for.
    super({ ...(own as AgentOptions), maxCachedSessions: 0 });
    this.checker = basis.checker;
    this.#connector = new VerifiedConnector(basis, {
      maxCachedSessions,
      onVerified: (result, socket) => this.emit('verified', result, socket),
    });
  }

  /**
   * Listens to `verified`: every connection certvet assessed, accepted or refused (a refused
   * socket is destroyed right after), with its result. Returns the unsubscribe function.
   */
  onVerified(listener: (result: TargetResult, socket: TLSSocket) => void): () => void {
    this.on('verified', listener);
    return () => this.off('verified', listener);
  }

  /**
   * Node's Agent finds a request its socket here (an internal method proxy agents override
   * too); the request is remembered for the createConnection call it makes synchronously.
   */
  createSocket(
    req: ClientRequest,
    options: RequestOptions,
    cb: (err: Error | null, s?: Duplex) => void,
  ): void {
    this.#request = req;
    try {
      (Agent.prototype as unknown as { createSocket: VerifiedHttpsAgent['createSocket'] }).createSocket.call(
        this,
        req,
        options,
        cb,
      );
    } finally {
      this.#request = null;
    }
  }

  /** Destroys the agent's sockets and stops the connections still being made and verified. */
  override destroy(): void {
    this.#connector.stopAll(new Error('the verified HTTPS agent was destroyed'));
    super.destroy();
  }

  override createConnection(
    options: RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const cb = callback ?? (() => {});
    if (options.socketPath) {
      queueMicrotask(() =>
        cb(
          new CertvetOptionError('socketPath', 'a verified HTTPS agent connects to host and port only'),
          null!,
        ),
      );
      return undefined;
    }
    const o = options as RequestOptions & { servername?: string };
    const host = (o.host ?? o.hostname ?? 'localhost').replace(/^\[(.*)\]$/, '$1');
    const port = Number(o.port ?? 443);
    // Until the socket is handed over, Node has nothing to destroy when the request is aborted
    // (its signal, req.destroy(), a timeout): the connection being verified is stopped here.
    const stop = new AbortController();
    const req = this.#request;
    const releaseRequest = req ? stopWithRequest(req, stop) : () => {};
    this.#connector
      .connect({
        host,
        port,
        // Node derives SNI from the Host header or host ('' for IP literals).
        ...(o.servername !== undefined ? { servername: o.servername } : {}),
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
        alpn: ['http/1.1'],
        // (Node keeps the request's own signal from the agent: its abort arrives as req.destroy().)
        signal: stop.signal,
      })
      .then(
        ({ socket }) => {
          releaseRequest();
          cb(null, socket);
        },
        (e: Error) => {
          releaseRequest();
          cb(e, null!);
        },
      );
    // The socket arrives through the callback, once verified.
    return undefined;
  }
}

/**
 * Makes `req.destroy()` (also what its abort signal and timeout call) stop `stop` while its
 * socket is still being made; returns the function that undoes it.
 */
function stopWithRequest(req: ClientRequest, stop: AbortController): () => void {
  // What Node reports for a request destroyed without a reason before it had a socket.
  const hangUp = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  if (req.destroyed) {
    stop.abort(hangUp());
    return () => {};
  }
  const own = req as ClientRequest & { destroy: ClientRequest['destroy'] };
  const destroy = own.destroy;
  own.destroy = function (this: ClientRequest, err?: Error) {
    stop.abort(err ?? hangUp());
    return destroy.call(this, err);
  } as ClientRequest['destroy'];
  return () => {
    if (Object.hasOwn(own, 'destroy')) delete (own as Partial<typeof own>).destroy;
  };
}

/** An https.Agent whose connections certvet verifies (same options as createChecker, plus failOn). */
export function createHttpsAgent(options: HttpsAgentOptions = {}): VerifiedHttpsAgent {
  return new VerifiedHttpsAgent(options);
}
