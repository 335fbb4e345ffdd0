/**
 * Benchmark helper process: starts N TLS endpoints on 127.0.0.1 (distinct leaf certificates
 * under one intermediate), writes the CA and the ports as JSON on stdout, and serves until
 * stdin closes.
 */
import { createServer, type Server } from 'node:tls';
import { generateKey, issue, privateKeyPem } from '../src/lab/pki.js';

const n = Number(process.argv[2] ?? 500);
const root = await issue({ subject: 'CN=Bench Root', ca: true });
const ica = await issue({ subject: 'CN=Bench Issuing CA', ca: true, issuer: root });
const key = await generateKey('ec-p256');
const keyPem = await privateKeyPem(key);
const servers: Server[] = [];
const ports: number[] = [];
for (let i = 0; i < n; i++) {
  const leaf = await issue({ subject: 'CN=127.0.0.1', ips: ['127.0.0.1'], issuer: ica, key });
  const s = createServer({ cert: leaf.pem + ica.pem, key: keyPem }, (sock) => {
    sock.on('error', () => {});
    sock.end();
  });
  s.on('tlsClientError', () => {});
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', 511, r));
  servers.push(s);
  ports.push((s.address() as { port: number }).port);
}
process.stdout.write(`${JSON.stringify({ ca: root.pem, intermediate: ica.pem, ports })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  for (const s of servers) s.close();
  process.exit(0);
});
