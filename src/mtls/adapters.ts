import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, TLSSocket, TlsOptions } from 'node:tls';
import type { ClientIdentity } from './identity.js';
import type { ClientCertVerifier, ClientVerdict } from './verifier.js';

const verdicts = new WeakMap<TLSSocket, Promise<ClientVerdict>>();

/** The verdict on a connection's client certificate, computed once per connection. */
export function verdictFor(verifier: ClientCertVerifier, socket: TLSSocket): Promise<ClientVerdict> {
  let v = verdicts.get(socket);
  if (!v) {
    v = verifier.verifySocket(socket);
    verdicts.set(socket, v);
  }
  return v;
}

/**
 * Options for `tls.createServer` / `https.createServer`: ask for a client certificate
 * (naming the verifier's CAs), let the handshake complete whatever Node thinks of it, and leave
 * the decision to certvet (`requireClientCert` or the request guard). Node's own
 * `rejectUnauthorized` checks chain and dates only: no revocation, no allow-list, no EKU
 * policy, and an opaque error.
 */
export function mtlsServerOptions<T extends TlsOptions>(
  verifier: ClientCertVerifier,
  base: T,
): T & { requestCert: true; rejectUnauthorized: false } {
  return { ...base, ca: verifier.caPem(), requestCert: true, rejectUnauthorized: false };
}

/**
 * For plain TLS servers: verify every connection as it is established and close the ones
 * whose client certificate is not accepted. `onVerdict` receives each verdict (for logging).
 */
export function requireClientCert(
  server: Server,
  verifier: ClientCertVerifier,
  onVerdict?: (v: ClientVerdict, s: TLSSocket) => void,
): void {
  server.on('secureConnection', (socket: TLSSocket) => {
    socket.pause();
    verdictFor(verifier, socket).then(
      (v) => {
        onVerdict?.(v, socket);
        if (v.ok) socket.resume();
        else socket.destroy();
      },
      () => socket.destroy(),
    );
  });
}

function reject(res: ServerResponse, v: ClientVerdict): void {
  const missing = v.findings.some((f) => f.code === 'client-cert-missing');
  const body = JSON.stringify({
    error: missing ? 'client certificate required' : 'client certificate rejected',
    findings: v.findings
      .filter((f) => f.severity === 'critical' || f.severity === 'error')
      .map((f) => ({ code: f.code, message: f.message })),
  });
  res.writeHead(missing ? 401 : 403, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * A guard for node:http-style handlers: resolves to the client's identity, or answers 401
 * (no certificate) / 403 (rejected) with a JSON reason and resolves to null.
 */
export function createRequestGuard(
  verifier: ClientCertVerifier,
): (req: IncomingMessage, res: ServerResponse) => Promise<ClientIdentity | null> {
  return async (req, res) => {
    const v = await verdictFor(verifier, req.socket as TLSSocket);
    if (v.ok) return v.identity;
    reject(res, v);
    return null;
  };
}

/** Express/Connect/Fastify-middie compatible middleware: sets `req.clientIdentity` or answers 401/403. */
export function clientCertMiddleware(
  verifier: ClientCertVerifier,
): (
  req: IncomingMessage & { clientIdentity?: ClientIdentity },
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void {
  return (req, res, next) => {
    verdictFor(verifier, req.socket as TLSSocket).then((v) => {
      if (!v.ok) return reject(res, v);
      req.clientIdentity = v.identity!;
      next();
    }, next);
  };
}
