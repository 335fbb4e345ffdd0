import type { RequestListener } from 'node:http';
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type SecureServerOptions,
} from 'node:http2';
import {
  createServer as createHttpsServer,
  type Server as HttpsServer,
  type ServerOptions,
} from 'node:https';
import { createServer as createTlsServer, type Server, type TLSSocket, type TlsOptions } from 'node:tls';
import { mtlsServerOptions } from './adapters.js';
import { MtlsConfigError } from './errors.js';
import { gateSecureConnections, type RefusedPeer } from './gate.js';
import { httpRejector } from './responder.js';
import { checkGateOptions, type MtlsGateOptions } from './serverOptions.js';
import type { AcceptedClient, ClientCertVerifier, RefusedClient } from './verifier.js';

type VerifiedListener = (socket: TLSSocket, verdict: AcceptedClient) => void;
type RejectedListener = (verdict: RefusedClient, peer: RefusedPeer) => void;

/**
 * The events a gated server emits besides its own: 'verified' (socket, verdict) just before
 * an accepted socket is handed over, and 'rejected' (verdict, peer) for a refused one.
 */
export interface MtlsServerEvents {
  on(event: 'verified', listener: VerifiedListener): this;
  on(event: 'rejected', listener: RejectedListener): this;
  once(event: 'verified', listener: VerifiedListener): this;
  once(event: 'rejected', listener: RejectedListener): this;
  addListener(event: 'verified', listener: VerifiedListener): this;
  addListener(event: 'rejected', listener: RejectedListener): this;
  prependListener(event: 'verified', listener: VerifiedListener): this;
  prependListener(event: 'rejected', listener: RejectedListener): this;
  prependOnceListener(event: 'verified', listener: VerifiedListener): this;
  prependOnceListener(event: 'rejected', listener: RejectedListener): this;
  off(event: 'verified', listener: VerifiedListener): this;
  off(event: 'rejected', listener: RejectedListener): this;
  removeListener(event: 'verified', listener: VerifiedListener): this;
  removeListener(event: 'rejected', listener: RejectedListener): this;
}

/**
 * A Node TLS, HTTPS or HTTP/2 server behind certvet's gate: the server itself, with its
 * 'verified' and 'rejected' listeners typed (its other events keep Node's signatures).
 */
export type MtlsServer<S extends Server> = MtlsServerEvents & S;
export type { RefusedPeer };

function checkVerifier(v: unknown): asserts v is ClientCertVerifier {
  const has = (k: string) => typeof v === 'object' && v !== null && typeof Reflect.get(v, k) === 'function';
  if (!has('verifySocket') || !has('caPem'))
    throw new MtlsConfigError('verifier', 'expected a ClientCertVerifier (from createClientCertVerifier)');
}

/**
 * Gates an existing TLS server — `tls.Server`, `https.Server` or `http2.createSecureServer`'s
 * — behind `verifier`: no 'secureConnection' listener (the application's, or Node's own HTTP
 * and HTTP/2 handling) runs for a connection whose client certificate is not accepted, whether
 * it was added before or after this call. The server must ask for a certificate
 * (`mtlsServerOptions`). Rejected connections are closed (default) or answered 401/403.
 */
export function gateServer<S extends Server>(
  server: S,
  verifier: ClientCertVerifier,
  options?: MtlsGateOptions,
): MtlsServer<S> {
  checkVerifier(verifier);
  const o = checkGateOptions(options);
  const reject =
    o.rejection === 'respond'
      ? httpRejector({ exposeFindings: o.exposeFindings ?? false, timeoutMs: o.rejectTimeoutMs ?? 10_000 })
      : (socket: TLSSocket) => socket.destroy();
  gateSecureConnections(server, verifier, reject);
  return server as MtlsServer<S>;
}

/**
 * `tls.createServer` whose 'secureConnection' listeners (and `listener`) only get sockets whose
 * client certificate certvet accepted; 'verified' (socket, verdict) comes just before.
 */
export function createMtlsServer(
  verifier: ClientCertVerifier,
  tlsOptions: TlsOptions,
  listener?: (socket: TLSSocket) => void,
  options?: MtlsGateOptions,
): MtlsServer<Server> {
  checkVerifier(verifier);
  const o = checkGateOptions(options);
  const server = createTlsServer(mtlsServerOptions(verifier, tlsOptions), listener);
  return gateServer(server, verifier, { ...o, rejection: o.rejection ?? 'close' });
}

/**
 * `https.createServer` that parses HTTP only on accepted connections: Node's HTTP connection
 * handling is itself a 'secureConnection' listener, so the gate holds the socket before the
 * parser sees a byte. Keep-alive and pipelined requests share the connection's verdict.
 * Rejected clients get 401/403 with a generic message (`exposeFindings` for the reasons).
 */
export function createMtlsHttpsServer(
  verifier: ClientCertVerifier,
  httpsOptions: ServerOptions,
  requestListener?: RequestListener,
  options?: MtlsGateOptions,
): MtlsServer<HttpsServer> {
  checkVerifier(verifier);
  const o = checkGateOptions(options);
  const server = createHttpsServer(mtlsServerOptions(verifier, httpsOptions), requestListener);
  return gateServer(server, verifier, { ...o, rejection: o.rejection ?? 'respond' });
}

/**
 * `http2.createSecureServer` whose sessions, streams and requests (and HTTP/1.1 ones with
 * `allowHTTP1`) exist only on accepted connections: the HTTP/2 session is created by a
 * 'secureConnection' listener, behind the gate. Rejected clients get 401/403 on their stream.
 */
export function createMtlsHttp2Server(
  verifier: ClientCertVerifier,
  http2Options: SecureServerOptions,
  requestListener?: (req: Http2ServerRequest, res: Http2ServerResponse) => void,
  options?: MtlsGateOptions,
): MtlsServer<Http2SecureServer> {
  checkVerifier(verifier);
  const o = checkGateOptions(options);
  const server = createSecureServer(mtlsServerOptions(verifier, http2Options), requestListener);
  return gateServer(server, verifier, { ...o, rejection: o.rejection ?? 'respond' });
}
