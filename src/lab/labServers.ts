import { createServer, type Server } from 'node:tls';
import { buildOcspRequest } from '../revocation/ocsp.js';
import { type LabEndpoint, labHost, type ServeSpec } from './labEndpoints.js';
import { ocspRespond } from './ocspResponder.js';
import { type IssuedCert, privateKeyPem } from './pki.js';

/**
 * Starts one TLS server per spec on `address`, ports `portBase`, `portBase + 1`, … (0: free
 * ports). If one fails to start, those already started are closed and the error is thrown.
 */
export async function startTlsEndpoints(
  specs: readonly ServeSpec[],
  portBase: number | undefined,
  address: string,
  ocspSigner: IssuedCert,
): Promise<{ servers: Server[]; endpoints: LabEndpoint[] }> {
  const servers: Server[] = [];
  const endpoints: LabEndpoint[] = [];
  try {
    for (let i = 0; i < specs.length; i++) {
      const s = specs[i]!;
      const server = await startTlsEndpoint(s, portBase ? portBase + i : 0, address, ocspSigner);
      servers.push(server);
      const actual = (server.address() as { port: number }).port;
      endpoints.push({
        name: s.name,
        description: s.description,
        host: s.host ?? labHost(s.name),
        address,
        port: actual,
        expectStatus: s.expectStatus,
        expectCodes: s.expectCodes,
      });
    }
  } catch (e) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    throw e;
  }
  return { servers, endpoints };
}

/** One endpoint: serves the spec's chain (stapling a good OCSP answer if asked) and a tiny HTTP reply. */
async function startTlsEndpoint(
  s: ServeSpec,
  port: number,
  address: string,
  ocspSigner: IssuedCert,
): Promise<Server> {
  const key = await privateKeyPem(s.chain[0]!.key);
  const server = createServer(
    {
      cert: s.chain.map((c) => c.pem).join(''),
      key,
      ciphers: 'DEFAULT:@SECLEVEL=0',
      minVersion: 'TLSv1',
      ...s.tls,
    },
    (sock) => {
      sock.on('error', () => {});
      sock.end('HTTP/1.1 200 OK\r\ncontent-length: 15\r\nconnection: close\r\n\r\ncertvet lab ok\n');
    },
  );
  server.on('tlsClientError', () => {});
  if (s.staple) {
    const req = buildOcspRequest(s.chain[0]!.parsed, s.chain[1]!.parsed);
    server.on('OCSPRequest', (_c: Buffer, _i: Buffer, cb: (e: Error | null, r?: Buffer) => void) => {
      ocspRespond(req, { signer: ocspSigner, statusOf: () => 'good' }).then(
        (r) => cb(null, Buffer.from(r)),
        (e: Error) => cb(e),
      );
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  return server;
}
