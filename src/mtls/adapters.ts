import { constants } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, TLSSocket, TlsOptions } from 'node:tls';
import { gateSecureConnections, verdictFor } from './gate.js';
import type { ClientIdentity } from './identity.js';
import { rejectionOf } from './rejection.js';
import { checkGuardOptions, type MtlsGuardOptions } from './serverOptions.js';
import type { ClientCertVerifier, ClientVerdict } from './verifier.js';

export { verdictFor };

/**
 * Options for `tls.createServer` / `https.createServer` / `http2.createSecureServer`: ask for a
 * client certificate (naming the verifier's CAs), let the handshake complete whatever Node
 * thinks of it, and leave the decision to certvet's gate (`createMtlsHttpsServer` and
 * siblings, `gateServer`, `requireClientCert`). Node's own `rejectUnauthorized` checks chain
 * and dates only: no revocation, no allow-list, no EKU policy, and an opaque error.
 *
 * Session tickets are turned off (`SSL_OP_NO_TICKET`): on a resumed session OpenSSL gives the
 * server the client's leaf but not the intermediates it sent, so every resumed connection of a
 * client whose CA is an intermediate would be refused. Without tickets each connection is a
 * full handshake, and every connection's chain is verified as presented.
 */
export function mtlsServerOptions<T extends TlsOptions>(
  verifier: ClientCertVerifier,
  base: T,
): T & { requestCert: true; rejectUnauthorized: false; secureOptions: number } {
  return {
    ...base,
    ca: verifier.caPem(),
    requestCert: true,
    rejectUnauthorized: false,
    secureOptions: (base.secureOptions ?? 0) | constants.SSL_OP_NO_TICKET,
  };
}

/**
 * Gates a TLS or HTTPS server (see `gateServer`): every 'secureConnection' listener — the
 * application's, added before or after, and `https.Server`'s HTTP parser — runs only for
 * connections whose client certificate is accepted; the others are closed. `onVerdict`
 * receives each verdict (for logging); for a rejected connection, after it is closed.
 */
export function requireClientCert(
  server: Server,
  verifier: ClientCertVerifier,
  onVerdict?: (v: ClientVerdict, s: TLSSocket) => void,
): void {
  if (onVerdict) server.on('verified', (s: TLSSocket, v: ClientVerdict) => onVerdict(v, s));
  gateSecureConnections(server, verifier, (socket, v) => {
    socket.destroy();
    onVerdict?.(v, socket);
  });
}

function reject(res: ServerResponse, v: ClientVerdict, exposeFindings: boolean): void {
  const r = rejectionOf(v, exposeFindings);
  res.writeHead(r.status, r.headers);
  res.end(r.body);
}

/**
 * A per-request check for node:http-style handlers: resolves to the client's identity, or
 * answers 401 (no certificate) / 403 (rejected) with a generic JSON message (the findings too
 * with `exposeFindings`) and resolves to null. The handler has already been called with the
 * request when it runs, so on its own this is defence in depth: gate the server.
 */
export function createRequestGuard(
  verifier: ClientCertVerifier,
  options?: MtlsGuardOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<ClientIdentity | null> {
  const expose = checkGuardOptions(options).exposeFindings ?? false;
  return async (req, res) => {
    const v = await verdictFor(verifier, req.socket as TLSSocket);
    if (v.ok) return v.identity;
    reject(res, v, expose);
    return null;
  };
}

/**
 * Express/Connect/Fastify-middie compatible middleware: sets `req.clientIdentity` or answers
 * 401/403 as `createRequestGuard` does.
 */
export function clientCertMiddleware(
  verifier: ClientCertVerifier,
  options?: MtlsGuardOptions,
): (
  req: IncomingMessage & { clientIdentity?: ClientIdentity },
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void {
  const expose = checkGuardOptions(options).exposeFindings ?? false;
  return (req, res, next) => {
    verdictFor(verifier, req.socket as TLSSocket).then((v) => {
      if (!v.ok) return reject(res, v, expose);
      req.clientIdentity = v.identity!;
      next();
    }, next);
  };
}
