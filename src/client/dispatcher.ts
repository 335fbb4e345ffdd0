/**
 * `createDispatcher(options)`: an undici Agent whose connections are certvet-verified before
 * undici writes a request to them, for Node's global `fetch(url, { dispatcher })` and undici's
 * own `request`/`fetch`. A refusal fails the request; with fetch, the TypeError's `.cause` is
 * the CertificateVerificationError. Plain-text origins (http:) are refused: there is nothing to
 * verify. It takes both shapes of dispatch handler, so every supported Node's fetch can drive it
 * (Node 26's fetch passes undici 8's controller handlers: see controllerHandler.ts).
 */
import { EventEmitter } from 'node:events';
import type { TLSSocket } from 'node:tls';
import { Agent, type buildConnector, type Dispatcher } from 'undici';
import type { Checker } from '../check/checker.js';
import { CertvetOptionError } from '../check/errors.js';
import type { TargetResult } from '../model/result.js';
import { type ControllerHandler, isControllerHandler, toCallbackHandler } from './controllerHandler.js';
import { clientBasis, rejectPerConnection, type VerifiedClientOptions } from './options.js';
import { VerifiedConnector } from './verifiedConnection.js';

/** undici Agent options that make sense for a verified dispatcher (connection options are certvet's). */
const DISPATCHER_KEYS = [
  'connections',
  'pipelining',
  'keepAliveTimeout',
  'keepAliveMaxTimeout',
  'headersTimeout',
  'bodyTimeout',
  'maxRedirections',
  'maxCachedSessions',
] as const;

export interface DispatcherOptions
  extends VerifiedClientOptions,
    Pick<Agent.Options, Exclude<(typeof DISPATCHER_KEYS)[number], 'maxCachedSessions'>> {
  /** TLS sessions kept for resumption (default 100; 0: a full handshake every time). Resumed connections are verified too. */
  readonly maxCachedSessions?: number;
}

/** An undici Agent that verifies every connection with certvet; emits `verified` (result, socket). */
export class VerifiedDispatcher extends Agent {
  /** The checker this dispatcher verifies with (shareable with createHttpsAgent({ checker })). */
  readonly checker: Checker;
  readonly #connector: VerifiedConnector;

  constructor(options: DispatcherOptions = {}) {
    rejectPerConnection(options, 'createDispatcher');
    const { basis, own } = clientBasis(options, DISPATCHER_KEYS, 'createDispatcher');
    const maxCachedSessions = own.maxCachedSessions ?? 100;
    if (typeof maxCachedSessions !== 'number' || !(maxCachedSessions >= 0))
      throw new CertvetOptionError('maxCachedSessions', 'must be a non-negative number');
    const { maxCachedSessions: _m, ...agentOptions } = own;
    const self: { ref: VerifiedDispatcher | null } = { ref: null };
    const connector = new VerifiedConnector(basis, {
      maxCachedSessions,
      onVerified: (result, socket) => {
        if (self.ref) EventEmitter.prototype.emit.call(self.ref, 'verified', result, socket);
      },
    });
    const connect: buildConnector.connector = (o, callback) => {
      if (o.protocol !== 'https:') {
        callback(
          new CertvetOptionError(
            'url',
            `${o.protocol}//${o.hostname}: a verified dispatcher speaks https: only`,
          ),
          null,
        );
        return;
      }
      const host = o.hostname.replace(/^\[(.*)\]$/, '$1');
      connector
        .connect({
          host,
          port: Number(o.port || 443),
          ...(o.servername ? { servername: o.servername } : {}),
          ...(o.localAddress ? { localAddress: o.localAddress } : {}),
          ...(o.httpSocket ? { socket: o.httpSocket } : {}),
          alpn: ['http/1.1'],
        })
        .then(
          ({ socket }) => callback(null, socket),
          (e: Error) => callback(e, null),
        );
    };
    super({ ...(agentOptions as Agent.Options), connect });
    self.ref = this;
    this.checker = basis.checker;
    this.#connector = connector;
  }

  /** Destroys the dispatcher and stops the connections still being made and verified. */
  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(...args: unknown[]): Promise<void> | void {
    this.#connector.stopAll(new Error('the verified dispatcher was destroyed'));
    return (Agent.prototype.destroy as (...a: unknown[]) => Promise<void> | void).apply(this, args);
  }

  /** undici 6 drives callback handlers; a controller handler (Node 26's fetch) is adapted to one. */
  override dispatch(
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandlers | ControllerHandler,
  ): boolean {
    return super.dispatch(
      options,
      handler !== null && typeof handler === 'object' && isControllerHandler(handler)
        ? toCallbackHandler(handler)
        : (handler as Dispatcher.DispatchHandlers),
    );
  }

  /** Every connection certvet assessed, accepted or refused (a refused socket is destroyed right after). */
  onVerified(listener: (result: TargetResult, socket: TLSSocket) => void): () => void {
    EventEmitter.prototype.on.call(this, 'verified', listener);
    return () => EventEmitter.prototype.off.call(this, 'verified', listener);
  }
}

/** An undici dispatcher whose connections certvet verifies (same options as createChecker, plus failOn). */
export function createDispatcher(options: DispatcherOptions = {}): VerifiedDispatcher {
  return new VerifiedDispatcher(options);
}
