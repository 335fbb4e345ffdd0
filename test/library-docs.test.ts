/*
 * The library examples run as written, from the published package: this build is packed and
 * installed into an empty project (test/support/packedProject.ts), and each `<!-- example: NAME
 * -->` block of README.md and docs/library.md is saved there as an ES module and run, so
 * `import … from 'certvet'` resolves to the installed tarball exactly as for a user. The
 * project holds corp-root.pem (and server.pem for the offline part); the servers are TLS
 * endpoints on 127.0.0.1 whose certificates carry a CRL distribution point served on loopback,
 * so `revocation: 'hard'` has something to fetch. The only change made to the text: the example
 * host names and ports become those servers' addresses.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildCrl } from '../src/lab/crlBuilder.js';
import { type IssuedCert, issue } from '../src/lab/pki.js';
import { type Endpoint, endpoint, type SmtpEndpoint, smtpEndpoint } from './support/clientLab.js';
import { examplesOf } from './support/docExamples.js';
import { installPackedPackage, NO_NPM, type PackedProject, REPO_ROOT, sh } from './support/packedProject.js';

const DAY = 86400_000;
const examples = new Map([
  ...examplesOf(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')),
  ...examplesOf(readFileSync(join(REPO_ROOT, 'docs', 'library.md'), 'utf8')),
  ...examplesOf(readFileSync(join(REPO_ROOT, 'docs', 'mtls.md'), 'utf8')),
]);

describe('README.md and docs/library.md: the examples run as written, from the packed package', {
  skip: NO_NPM,
  timeout: 240_000,
}, () => {
  let packed: PackedProject;
  let crlServer: HttpServer;
  let api: Endpoint;
  let mail: Endpoint;
  let expired: Endpoint;
  let smtp: SmtpEndpoint;

  before(async () => {
    packed = await installPackedPackage('certvet-docs-');
    const crls = new Map<string, Uint8Array>();
    crlServer = createHttpServer((req, res) => {
      const der = crls.get(req.url ?? '');
      if (!der) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(Buffer.from(der));
    });
    await new Promise<void>((r) => crlServer.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(crlServer.address() as AddressInfo).port}`;
    const root = await issue({ subject: 'CN=Corp Root,O=Corp', ca: true });
    const ica = await issue({
      subject: 'CN=Corp Issuing CA,O=Corp',
      ca: true,
      issuer: root,
      pathLen: 0,
      crlUrls: [`${base}/root.crl`],
    });
    crls.set('/root.crl', await buildCrl({ issuer: root, entries: [] }));
    crls.set('/ica.crl', await buildCrl({ issuer: ica, entries: [] }));
    writeFileSync(join(packed.dir, 'corp-root.pem'), root.pem);
    const leaf = (name: string, extra: object = {}): Promise<IssuedCert> =>
      issue({
        subject: `CN=${name}`,
        issuer: ica,
        dns: [name],
        ips: ['127.0.0.1'],
        crlUrls: [`${base}/ica.crl`],
        ...extra,
      });
    const apiLeaf = await leaf('api.corp.example');
    writeFileSync(join(packed.dir, 'server.pem'), apiLeaf.pem + ica.pem);
    api = await endpoint('api.corp.example', apiLeaf, [ica]);
    mail = await endpoint('mail.corp.example', await leaf('mail.corp.example'), [ica]);
    expired = await endpoint(
      'api.corp.example',
      await leaf('api.corp.example', {
        notBefore: new Date(Date.now() - 30 * DAY),
        notAfter: new Date(Date.now() - DAY),
      }),
      [ica],
    );
    smtp = await smtpEndpoint(await leaf('mail.corp.example'), [ica]);
  });

  after(async () => {
    await Promise.all([api?.close(), mail?.close(), expired?.close(), smtp?.close()]);
    await new Promise<void>((r) => (crlServer ? crlServer.close(() => r()) : r()));
    packed?.remove();
  });

  const runExample = async (name: string, replace: Record<string, string> = {}): Promise<string> => {
    let code = examples.get(name);
    assert.ok(code, `the docs have the example "${name}"`);
    const all = {
      'api.corp.example:443': `127.0.0.1:${api.port}`,
      'mail.corp.example:465': `127.0.0.1:${mail.port}`,
      ...replace,
    };
    for (const [from, to] of Object.entries(all)) code = code.replaceAll(from, to);
    writeFileSync(join(packed.dir, `${name}.mjs`), code);
    return (await sh(process.execPath, [`${name}.mjs`], packed.dir, { timeout: 60_000 })).trim();
  };

  test('README: the library quick start (hard revocation over the CDP, a scan, offline verification)', async () => {
    const lines = (await runExample('quickstart')).split('\n');
    assert.equal(lines[0], 'ok []', 'both CRLs fetched and good: hard mode passes');
    assert.deepEqual(
      lines.slice(1, 3).sort(),
      [`127.0.0.1:${api.port} ok`, `127.0.0.1:${mail.port} ok`].sort(),
    );
    assert.equal(lines[3], 'true []');
    assert.equal(lines.length, 4);
  });

  test('the building blocks: PEM, parsing, names, pins, identities, statuses and the exit code', async () => {
    const lines = (await runExample('building-blocks')).split('\n');
    assert.equal(lines[0], 'true false', 'the root is self-signed, the issuing CA is not');
    assert.equal(lines[1], 'true');
    assert.match(lines[2]!, /www\.corp\.example/, 'the mismatch message names the expected name');
    assert.equal(lines[3], "true [ 'api.corp.example' ]");
    assert.equal(lines[4], 'ok null 1 0');
    assert.equal(lines.length, 5);
  });

  test('check endpoints from code', async () => {
    const lines = (await runExample('check')).split('\n');
    assert.equal(lines[0], 'ok []');
    assert.deepEqual(
      lines.slice(1).sort(),
      [`127.0.0.1:${api.port}: ok`, `127.0.0.1:${mail.port}: ok`].sort(),
    );
  });

  test('pins, expectations and your own policy', async () => {
    assert.equal(await runExample('policy'), 'ok []', 'the issuer is as expected and a 90-day leaf passes');
  });

  test('verified fetch: the body from a good server; "refused: expired" before any request byte', async () => {
    const at = (ep: Endpoint) => ({ 'https://api.corp.example/': `https://127.0.0.1:${ep.port}/` });
    assert.equal(await runExample('verified-fetch', at(api)), '200 hello');
    assert.equal(await runExample('verified-fetch', at(expired)), 'refused: expired');
    assert.ok(expired.connections > 0, 'the expired server was reached');
    assert.equal(expired.connectionsWithData, 0);
  });

  test('HTTPS agent: the body from a good server; "refused: expired" before any request byte', async () => {
    const at = (ep: Endpoint) => ({ 'https://api.corp.example/': `https://127.0.0.1:${ep.port}/` });
    assert.equal(await runExample('https-agent', at(api)), '200 hello');
    const before = expired.connections;
    assert.equal(await runExample('https-agent', at(expired)), 'refused: expired');
    assert.ok(expired.connections > before, 'the expired server was reached');
    assert.equal(expired.connectionsWithData, 0);
  });

  test('connectVerified with SMTP STARTTLS', async () => {
    const out = await runExample('connect-verified', {
      "host: 'mail.corp.example'": "host: '127.0.0.1'",
      'port: 587': `port: ${smtp.port}`,
    });
    assert.equal(out, '221 bye');
    assert.equal(smtp.received.map(String).join(''), 'QUIT\r\n');
  });

  test('docs/mtls.md: the mTLS server accepts a client of its CA, refuses others before the handler runs', async () => {
    const certvet = (...args: string[]) => sh(process.execPath, [packed.bin, ...args], packed.dir);
    await certvet('lab', 'gen', 'pki', '--name', '127.0.0.1', '--client-name', 'alice@example.test');
    await certvet('lab', 'crl', 'pki');
    await certvet('lab', 'gen', 'elsewhere', '--name', '127.0.0.1', '--client-name', 'mallory@example.test');
    const port = await freePort();
    const code = examples.get('mtls-server');
    assert.ok(code, 'docs/mtls.md has the example "mtls-server"');
    writeFileSync(join(packed.dir, 'mtls-server.mjs'), code.replace('.listen(8443,', `.listen(${port},`));
    const server = spawn(process.execPath, ['mtls-server.mjs'], {
      cwd: packed.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    server.stderr.on('data', (d) => (stderr += d));
    try {
      await waitForPort(port);
      const file = (f: string) => readFileSync(join(packed.dir, f));
      const get = (client?: string) =>
        new Promise<string>((resolve) => {
          const req = httpsRequest(
            {
              host: '127.0.0.1',
              port,
              path: '/',
              ca: file('pki/ca.pem'),
              ...(client
                ? { cert: file(`${client}/client-fullchain.pem`), key: file(`${client}/client.key`) }
                : {}),
            },
            (res) => {
              let body = '';
              res.setEncoding('utf8');
              res.on('data', (d) => (body += d));
              res.on('end', () => resolve(`${res.statusCode} ${body.trim()}`));
            },
          );
          req.on('error', (e) => resolve(`error ${e.message}`));
          req.end();
        });
      assert.equal(await get('pki'), '200 hello alice@example.test (alice@example.test)');
      const other = await get('elsewhere');
      const none = await get();
      assert.doesNotMatch(other, /^200|hello/, other);
      assert.doesNotMatch(none, /^200|hello/, none);
      // The server's log lines arrive on its stderr in their own time.
      const logged = async (re: RegExp) => {
        for (let i = 0; i < 100 && !re.test(stderr); i++) await new Promise((r) => setTimeout(r, 50));
        assert.match(stderr, re, stderr);
      };
      await logged(/rejected: .*untrusted/);
      await logged(/rejected: .*client-cert-missing/);
    } finally {
      server.kill();
    }
  });
});

async function freePort(): Promise<number> {
  const s = createHttpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const c = netConnect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
