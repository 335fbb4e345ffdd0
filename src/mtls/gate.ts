import type { Server, TLSSocket } from 'node:tls';
import type { ClientIdentity } from './identity.js';
import type { AcceptedClient, ClientCertVerifier, ClientVerdict } from './verifier.js';

/**
 * The gate: no 'secureConnection' listener of a server — the application's, and Node's own
 * HTTP/1.1 and HTTP/2 connection handling, which `https.Server` and `http2.createSecureServer`
 * attach as 'secureConnection' listeners — sees a socket before certvet has accepted its client
 * certificate.
 *
 * Node's TLS server announces a completed handshake with `server.emit('secureConnection',
 * socket)`. The gate replaces that one `emit` on the server instance: it holds the socket (no
 * listener is attached, so whatever the client sends stays buffered, unread and unparsed),
 * verifies the client chain, and only for an accepted client emits 'verified' and then the
 * original 'secureConnection' to every listener, whenever they were added. A rejected socket
 * goes to `reject` (closed, or answered 401/403 by a private responder), never to a listener.
 * Adding a 'secureConnection' listener later — or before — changes nothing: all go through it.
 */

const VERDICT = Symbol.for('certvet.mtls.verdict');
const VERIFIER = Symbol.for('certvet.mtls.verifier');
/** Per verifier, so that two gates (or a gate and a guard) with different verifiers never share one. */
const verdicts = new WeakMap<ClientCertVerifier, WeakMap<TLSSocket, Promise<ClientVerdict>>>();

/** What the gate does with a rejected connection. */
export type RejectHandler = (socket: TLSSocket, verdict: ClientVerdict) => void;

/** A connection's settled verdict, as the gate recorded it (readable through HTTP/2's socket proxies). */
export function recorded(x: unknown): ClientVerdict | undefined {
  return mark(x, VERDICT) as ClientVerdict | undefined;
}

function mark(x: unknown, key: symbol): unknown {
  if (typeof x !== 'object' || x === null) return undefined;
  try {
    return Reflect.get(x, key);
  } catch {
    return undefined; // an HTTP/2 socket proxy whose session is gone
  }
}

function record(socket: TLSSocket, v: ClientVerdict, by: ClientCertVerifier): void {
  Object.defineProperty(socket, VERDICT, { value: v, configurable: true, enumerable: false });
  Object.defineProperty(socket, VERIFIER, { value: by, configurable: true, enumerable: false });
}

/** The verdict on a connection's client certificate, computed once per connection. */
export function verdictFor(verifier: ClientCertVerifier, socket: TLSSocket): Promise<ClientVerdict> {
  const settled = recorded(socket);
  if (settled && mark(socket, VERIFIER) === verifier) return Promise.resolve(settled);
  let mine = verdicts.get(verifier);
  if (!mine) {
    mine = new WeakMap();
    verdicts.set(verifier, mine);
  }
  let v = mine.get(socket);
  if (!v) {
    v = verifier.verifySocket(socket);
    mine.set(socket, v);
  }
  return v;
}

/** Anything that leads to the TLS socket: the socket, a request (HTTP/1.1 or HTTP/2), an HTTP/2 stream. */
export type ConnectionLike =
  | TLSSocket
  | { readonly socket: unknown }
  | { readonly session?: { readonly socket: unknown } | undefined };

/**
 * The accepted verdict of a gated connection — from its socket, an `IncomingMessage`, an
 * `Http2ServerRequest` or a `ServerHttp2Stream` — or null when the connection was not accepted
 * by a gate (never: rejected connections do not reach the application).
 */
export function acceptedVerdict(from: ConnectionLike): AcceptedClient | null {
  const candidates: unknown[] = [from];
  if (typeof from === 'object' && from !== null) {
    candidates.push(Reflect.get(from, 'socket'));
    const session: unknown = Reflect.get(from, 'session');
    if (typeof session === 'object' && session !== null) candidates.push(Reflect.get(session, 'socket'));
  }
  for (const c of candidates) {
    const v = recorded(c);
    if (v) return v.ok ? v : null;
  }
  return null;
}

/** The client identity of a gated, accepted connection (see `acceptedVerdict`). */
export function clientIdentityOf(from: ConnectionLike): ClientIdentity | null {
  return acceptedVerdict(from)?.identity ?? null;
}

/** Where a refused client connected from (its socket is closed or answered, not handed over). */
export interface RefusedPeer {
  readonly address: string | null;
  readonly port: number | null;
}

function peerOf(socket: TLSSocket): RefusedPeer {
  return { address: socket.remoteAddress ?? null, port: socket.remotePort ?? null };
}

/**
 * Puts `server`'s 'secureConnection' behind `verifier`. Events on the server: 'verified'
 * (socket, verdict) just before the application gets an accepted socket, and 'rejected'
 * (verdict, { address, port }) — the peer's address, not its socket — for a refused one.
 */
export function gateSecureConnections(
  server: Server,
  verifier: ClientCertVerifier,
  reject: RejectHandler,
): void {
  type Emit = (this: Server, event: string | symbol, ...args: unknown[]) => boolean;
  const emit = server.emit as Emit;
  const hold = (socket: TLSSocket): void => {
    // A reset while the verdict is pending must not become an uncaught 'error'.
    const swallow = (): void => {};
    socket.on('error', swallow);
    // The verdict is on the certificate of the handshake; a TLS 1.2 renegotiation must not swap it.
    if (typeof socket.disableRenegotiation === 'function') socket.disableRenegotiation();
    const settle = (v: ClientVerdict): void => {
      record(socket, v, verifier);
      socket.off('error', swallow);
      if (socket.destroyed) return;
      if (v.ok) {
        emit.call(server, 'verified', socket, v);
        emit.call(server, 'secureConnection', socket);
      } else {
        emit.call(server, 'rejected', v, peerOf(socket));
        reject(socket, v);
      }
    };
    verdictFor(verifier, socket).then(
      // Outside the promise chain, so that an exception in a listener is an uncaught
      // exception, as it would be without the gate, not an unhandled rejection.
      (v) => process.nextTick(settle, v),
      () => socket.destroy(),
    );
  };
  const gatedEmit: Emit = function (this: Server, event, ...args) {
    if (event !== 'secureConnection') return emit.apply(this, [event, ...args]);
    hold(args[0] as TLSSocket);
    return true;
  };
  server.emit = gatedEmit as Server['emit'];
}
