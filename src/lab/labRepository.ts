import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { ocspRequestOf, ocspRespond } from './ocspResponder.js';
import type { IssuedCert } from './pki.js';

/**
 * What the lab's HTTP server publishes. The server starts before the PKI exists (the
 * certificates carry its URLs), so these are filled in afterwards and read on each request.
 */
export interface LabPublications {
  /** Served at /lab.crl. */
  crlDer: Uint8Array;
  /** Served at /aia-ca.der. */
  aiaDer: Uint8Array;
  /** Serials (hex) the OCSP responder at /ocsp calls revoked; all others are good. */
  readonly ocspRevoked: Set<string>;
  /** Signs the OCSP answers; until set, /ocsp answers 404. */
  ocspSigner: IssuedCert | null;
}

export function emptyPublications(): LabPublications {
  return {
    crlDer: new Uint8Array(),
    aiaDer: new Uint8Array(),
    ocspRevoked: new Set<string>(),
    ocspSigner: null,
  };
}

/** The lab's CRL distribution point, OCSP responder and AIA repository, on one HTTP port. */
export interface LabRepository {
  readonly server: HttpServer;
  /** `http://address:port`, the prefix of the URLs put in certificates. */
  readonly base: string;
}

/** Starts the HTTP CRL/OCSP/AIA server on `port` (0: a free one) of `address`. */
export async function startRepositoryServer(
  published: LabPublications,
  port: number,
  address: string,
): Promise<LabRepository> {
  const http: HttpServer = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const url = req.url ?? '';
      if (url === '/lab.crl')
        res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(Buffer.from(published.crlDer));
      else if (url === '/aia-ca.der')
        res.writeHead(200, { 'content-type': 'application/pkix-cert' }).end(Buffer.from(published.aiaDer));
      else if (url.startsWith('/ocsp') && published.ocspSigner) {
        ocspRespond(ocspRequestOf(req.method, url, Buffer.concat(chunks)), {
          signer: published.ocspSigner,
          statusOf: (serial) => (published.ocspRevoked.has(serial) ? 'revoked' : 'good'),
        }).then(
          (r) => res.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(Buffer.from(r)),
          () => res.writeHead(400).end(),
        );
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, address, () => resolve());
  });
  const base = `http://${address.includes(':') ? `[${address}]` : address}:${(http.address() as { port: number }).port}`;
  return { server: http, base };
}
