import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer, type ServerHttp2Stream } from 'node:http2';
import { type RejectHandler, recorded } from './gate.js';
import { rejectionOf } from './rejection.js';
import type { ClientVerdict } from './verifier.js';

export interface ResponderOptions {
  readonly exposeFindings: boolean;
  /** The longest a rejected connection stays open to be answered. */
  readonly timeoutMs: number;
}

const UNKNOWN: ClientVerdict = { ok: false, identity: null, findings: [] };

/**
 * Answers rejected HTTP clients with 401/403 and closes, without application code: the socket
 * goes to a private HTTP/1.1 server (or, when ALPN chose h2, a private HTTP/2 server) that never
 * listens and whose only handler writes the rejection. The application's server, its listeners
 * and its parser never see the connection.
 */
export function httpRejector(opts: ResponderOptions): RejectHandler {
  let h1: ReturnType<typeof createHttpServer> | null = null;
  let h2: ReturnType<typeof createSecureServer> | null = null;
  const h1Server = () => {
    h1 ??= createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      const r = rejectionOf(recorded(req.socket) ?? UNKNOWN, opts.exposeFindings);
      res.writeHead(r.status, { ...r.headers, connection: 'close' });
      res.end(r.body);
    });
    return h1;
  };
  const h2Server = () => {
    if (!h2) {
      h2 = createSecureServer({});
      h2.on('sessionError', () => {});
      h2.on('stream', (stream: ServerHttp2Stream) => {
        stream.on('error', () => {});
        const r = rejectionOf(recorded(stream.session?.socket) ?? UNKNOWN, opts.exposeFindings);
        stream.respond({ ':status': r.status, ...r.headers });
        stream.end(r.body);
        stream.session?.close();
      });
    }
    return h2;
  };
  return (socket) => {
    const timer = setTimeout(() => socket.destroy(), opts.timeoutMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.on('error', () => socket.destroy());
    if (socket.alpnProtocol === 'h2') h2Server().emit('secureConnection', socket);
    else h1Server().emit('connection', socket);
  };
}
