/*
 * Server Name Indication. A server with virtual hosts chooses its certificate by the name the
 * client indicates and answers a client that indicates none with its default certificate — so
 * a checker that forgot SNI would judge the wrong certificate. Here one loopback server holds a
 * default certificate (for default.test) and one per name; every way certvet connects must get
 * the certificate of the name it dials: the checker with and without worker threads, the CLI,
 * a target file, the verified client. IP targets indicate no name; an absolute name
 * ("www.example.test.") indicates it without the trailing dot (RFC 6066 §3).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tls from 'node:tls';
import { createChecker } from '../src/check/checker.js';
import { connectVerified } from '../src/client/connectVerified.js';
import { type IssuedCert, issue, privateKeyPem } from '../src/lab/pki.js';
import { defaultServername } from '../src/probe/sni.js';
import { runCli } from './support/cli.js';

describe('SNI: the name dialled is the name indicated', () => {
  let root: IssuedCert;
  let server: tls.Server;
  let port = 0;
  let dir = '';
  let caFile = '';
  /**
   * The names indicated, in order, recorded as the server reads each ClientHello (before it
   * answers, so before the client can finish); a handshake without SNI records nothing.
   */
  const seen: string[] = [];

  before(async () => {
    root = await issue({ subject: 'CN=SNI Root', ca: true });
    const context = async (name: string) => {
      const leaf = await issue({ subject: `CN=${name}`, issuer: root, dns: [name] });
      return tls.createSecureContext({ key: await privateKeyPem(leaf.key), cert: leaf.pem });
    };
    const byName = new Map([
      ['www.example.test', await context('www.example.test')],
      ['mail.example.test', await context('mail.example.test')],
    ]);
    const fallback = await issue({ subject: 'CN=default.test', issuer: root, dns: ['default.test'] });
    server = tls.createServer(
      {
        key: await privateKeyPem(fallback.key),
        cert: fallback.pem,
        SNICallback: (name, cb) => {
          seen.push(name);
          cb(null, byName.get(name));
        },
      },
      (c) => {
        c.on('error', () => {});
        c.end();
      },
    );
    server.on('tlsClientError', () => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    dir = mkdtempSync(join(tmpdir(), 'certvet-sni-'));
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, root.pem);
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const lastSeen = () => seen[seen.length - 1];

  test('defaultServername: the host as a DNS name, no trailing dot, none for IP literals', () => {
    assert.equal(defaultServername('www.example.test'), 'www.example.test');
    assert.equal(defaultServername('www.example.test.'), 'www.example.test');
    assert.equal(defaultServername('127.0.0.1'), null);
    assert.equal(defaultServername('::1'), null);
    assert.equal(defaultServername('[::1]'), null);
    assert.equal(defaultServername('.'), null);
  });

  for (const workers of [1, 2])
    test(`the checker (workers: ${workers}) indicates the host and gets its certificate`, async () => {
      const checker = createChecker({ ca: root.pem, revocation: 'off', workers });
      try {
        for (const name of ['www.example.test', 'mail.example.test']) {
          const r = await checker.check({ target: `${name}:${port}`, resolve: '127.0.0.1' });
          assert.equal(r.status, 'ok', JSON.stringify(r.findings));
          assert.equal(r.servername, name);
          assert.equal(r.chain[0]?.subject, `CN=${name}`);
          assert.equal(lastSeen(), name);
        }
        // An absolute name: the same certificate, indicated without the dot.
        const abs = await checker.check({ target: `www.example.test.:${port}`, resolve: '127.0.0.1' });
        assert.equal(abs.status, 'ok', JSON.stringify(abs.findings));
        assert.equal(lastSeen(), 'www.example.test');
        // An IP literal indicates nothing: the default certificate, which is not for that address.
        const before = seen.length;
        const ip = await checker.check(`127.0.0.1:${port}`);
        assert.equal(ip.servername, null);
        assert.equal(seen.length, before, 'no name indicated');
        assert.equal(ip.chain[0]?.subject, 'CN=default.test');
        assert.ok(ip.findings.some((f: { code: string }) => f.code === 'hostname-mismatch'));
        // A name given explicitly still wins.
        const told = await checker.check({
          target: `www.example.test:${port}`,
          resolve: '127.0.0.1',
          servername: 'mail.example.test',
          expectName: 'mail.example.test',
        });
        assert.equal(told.status, 'ok');
        assert.equal(lastSeen(), 'mail.example.test');
      } finally {
        await checker.close();
      }
    });

  test('certvet check: a target on the command line and in a file', async () => {
    const cli = await runCli([
      'check',
      `www.example.test:${port}`,
      '--resolve',
      `www.example.test:${port}:127.0.0.1`,
      '--ca',
      caFile,
      '--revocation',
      'off',
      '--format',
      'json',
      '-q',
    ]);
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    const report = JSON.parse(cli.stdout) as { results: { servername: string | null }[] };
    assert.equal(report.results[0]?.servername, 'www.example.test');
    const file = join(dir, 'targets.yaml');
    writeFileSync(file, `targets:\n  - target: mail.example.test:${port}\n    resolve: 127.0.0.1\n`);
    const fromFile = await runCli(['check', '-f', file, '--ca', caFile, '--revocation', 'off', '-q']);
    assert.equal(fromFile.code, 0, fromFile.stdout + fromFile.stderr);
    assert.equal(lastSeen(), 'mail.example.test');
  });

  test('the verified client indicates the host too', async () => {
    const socket = await connectVerified({
      host: 'www.example.test',
      address: '127.0.0.1',
      port,
      ca: root.pem,
      revocation: 'off',
    });
    socket.destroy();
    assert.equal(lastSeen(), 'www.example.test');
  });
});
