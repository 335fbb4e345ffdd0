/**
 * Benchmark helper process: starts N TLS endpoints on 127.0.0.1 (distinct leaf certificates
 * under one intermediate), plus one HTTP server with the intermediate's 100,000-entry CRL (named
 * by every leaf) and an OCSP responder for the intermediate (named by the intermediate). Writes
 * the CA, the ports and the HTTP port as JSON on stdout; GET /stats reports how often each was
 * asked. Serves until stdin closes.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:tls';
import { buildCrl } from '../src/lab/crlBuilder.js';
import { ocspRespond } from '../src/lab/ocspResponder.js';
import { generateKey, issue, privateKeyPem } from '../src/lab/pki.js';

const n = Number(process.argv[2] ?? 500);
const stats = { crl: 0, ocsp: 0 };
let crl: Uint8Array = new Uint8Array();
const root = await issue({ subject: 'CN=Bench Root', ca: true });
let responderRoot = root;
const http = createHttpServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (d: Buffer) => chunks.push(d));
  req.on('end', () => {
    if (req.url === '/stats') res.end(JSON.stringify(stats));
    else if (req.url === '/ica.crl') {
      stats.crl++;
      res.end(Buffer.from(crl));
    } else if (req.url?.startsWith('/ocsp')) {
      stats.ocsp++;
      const body =
        req.method === 'POST'
          ? Buffer.concat(chunks)
          : Buffer.from(decodeURIComponent(req.url.slice(6)), 'base64');
      ocspRespond(body, { signer: responderRoot, statusOf: () => 'good' }).then((r) =>
        res.end(Buffer.from(r)),
      );
    } else res.writeHead(404).end();
  });
});
await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
const ica = await issue({
  subject: 'CN=Bench Issuing CA',
  ca: true,
  issuer: root,
  aiaOcsp: [`${base}/ocsp`],
});
responderRoot = root;
crl = await buildCrl({
  issuer: ica,
  entries: Array.from({ length: 100_000 }, (_, i) => ({
    serial: (0x7000000 + i).toString(16),
    revokedAt: new Date(Date.now() - 86400_000),
    reason: 4,
  })),
});
const key = await generateKey('ec-p256');
const keyPem = await privateKeyPem(key);
const servers: Server[] = [];
const ports: number[] = [];
for (let i = 0; i < n; i++) {
  const leaf = await issue({
    subject: 'CN=127.0.0.1',
    ips: ['127.0.0.1'],
    issuer: ica,
    key,
    crlUrls: [`${base}/ica.crl`],
  });
  const s = createServer({ cert: leaf.pem + ica.pem, key: keyPem }, (sock) => {
    sock.on('error', () => {});
    sock.end();
  });
  s.on('tlsClientError', () => {});
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', 511, r));
  servers.push(s);
  ports.push((s.address() as { port: number }).port);
}
process.stdout.write(`${JSON.stringify({ ca: root.pem, intermediate: ica.pem, ports, http: base })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  for (const s of servers) s.close();
  http.close();
  process.exit(0);
});
