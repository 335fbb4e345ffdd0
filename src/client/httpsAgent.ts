/**
 * `createHttpsAgent(options)`: an `https.Agent` whose every connection, resumed sessions
 * included, is verified by certvet before the HTTP machinery gets the socket — so no request
 * byte is written to a server certvet refused. A refusal fails the request with
 * CertificateVerificationError; every assessed connection is announced on `verified`.
 */
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

/** An https.Agent that verifies every connection with certvet before it carries a request. */
export class VerifiedHttpsAgent extends Agent {
  /** The checker this agent verifies with (shareable with createDispatcher({ checker })). */
  readonly checker: Checker;
  readonly #connector: VerifiedConnector;

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
    this.#connector
      .connect({
        host,
        port,
        // Node derives SNI from the Host header or host ('' for IP literals).
        ...(o.servername !== undefined ? { servername: o.servername } : {}),
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
        alpn: ['http/1.1'],
        ...(o.signal ? { signal: o.signal } : {}),
      })
      .then(
        ({ socket }) => cb(null, socket),
        (e: Error) => cb(e, null!),
      );
    // The socket arrives through the callback, once verified.
    return undefined;
  }
}

/** An https.Agent whose connections certvet verifies (same options as createChecker, plus failOn). */
export function createHttpsAgent(options: HttpsAgentOptions = {}): VerifiedHttpsAgent {
  return new VerifiedHttpsAgent(options);
}
