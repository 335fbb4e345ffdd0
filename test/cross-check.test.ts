/*
 * The probe's cross-check (what Node/OpenSSL would have said) is Node's verdict exactly, although
 * the probe answers Node's identity check from the cheap X509Certificate instead of the legacy
 * certificate object (src/probe/lightIdentityCheck.ts): for SAN and CN-only certificates, right
 * and wrong names, IP targets, and untrusted chains, `crossCheck` equals what a plain
 * `tls.connect` reports, and Node's rebuilt chain is still there afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tls from 'node:tls';
import { type IssuedCert, issue, privateKeyPem } from '../src/lab/pki.js';
import { peerChain } from '../src/probe/peerChain.js';
import { probe } from '../src/probe/probe.js';

describe('crossCheck is Node’s own verdict', () => {
  const servers: tls.Server[] = [];
  const ports = new Map<string, number>();
  let root: IssuedCert;
  let otherRoot: IssuedCert;

  const serve = async (name: string, leaf: IssuedCert, hold = false) => {
    const s = tls.createServer({ key: await privateKeyPem(leaf.key), cert: leaf.pem }, (c) => {
      c.on('error', () => {});
      if (hold) setTimeout(() => c.end(), 2000).unref();
      else c.end();
    });
    s.on('tlsClientError', () => {});
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
    ports.set(name, (s.address() as { port: number }).port);
  };

  before(async () => {
    root = await issue({ subject: 'CN=Cross Root', ca: true });
    otherRoot = await issue({ subject: 'CN=Other Root', ca: true });
    await serve(
      'san',
      await issue({
        subject: 'CN=san.test',
        issuer: root,
        dns: ['san.test', '*.wild.test'],
        ips: ['127.0.0.1'],
      }),
    );
    await serve('cn-only', await issue({ subject: 'CN=cn-only.test,O=Cross', issuer: root }));
    // A dNSName that would read as two entries if pasted into Node's SAN string unquoted.
    await serve(
      'comma',
      await issue({ subject: 'CN=comma.test', issuer: root, dns: ['evil.test, DNS:victim.test'] }),
    );
    await serve('multi-cn', await issue({ subject: 'CN=one.test,CN=two.test', issuer: root }));
    const held = await issue({ subject: 'CN=held.test', issuer: root, dns: ['held.test'] });
    await serve('held', held, true);
    await serve('untrusted', await issue({ subject: 'CN=u.test', issuer: otherRoot, dns: ['u.test'] }));
  });
  after(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
  });

  /** What a plain tls.connect with the same anchors and name says. */
  const nodeSays = (port: number, name: string | null) =>
    new Promise<{ authorized: boolean; error: string | null }>((resolve, reject) => {
      const s = tls.connect(
        {
          host: '127.0.0.1',
          port,
          ca: [root.pem],
          rejectUnauthorized: false,
          ...(name ? { servername: name } : {}),
        },
        () => {
          resolve({
            authorized: s.authorized,
            error: s.authorizationError ? String(s.authorizationError) : null,
          });
          s.destroy();
        },
      );
      s.on('error', reject);
    });

  const cases: [string, string, string | null][] = [
    ['san', 'san.test', 'san.test'],
    ['san', 'a.wild.test', 'a.wild.test'],
    ['san', 'other.test', 'other.test'],
    ['san', '127.0.0.1', null],
    ['cn-only', 'cn-only.test', 'cn-only.test'],
    ['cn-only', 'wrong.test', 'wrong.test'],
    ['untrusted', 'u.test', 'u.test'],
    ['comma', 'victim.test', 'victim.test'],
    ['multi-cn', 'two.test', 'two.test'],
    ['multi-cn', 'three.test', 'three.test'],
  ];
  for (const [server, host, sni] of cases)
    test(`${server} dialled as ${host}`, async () => {
      const port = ports.get(server)!;
      const obs = await probe({
        host,
        port,
        address: '127.0.0.1',
        servername: sni,
        ca: [root.pem],
        postHandshakeWaitMs: 0,
      });
      assert.equal(obs.error, null);
      assert.deepEqual(obs.crossCheck, await nodeSays(port, sni));
    });

  test('the verdicts differ where they should (the cases are not all alike)', async () => {
    const verdicts = await Promise.all(cases.map(([s, , sni]) => nodeSays(ports.get(s)!, sni)));
    assert.deepEqual(
      verdicts.map((v) => v.error),
      [
        null,
        null,
        'ERR_TLS_CERT_ALTNAME_INVALID',
        null,
        null,
        'ERR_TLS_CERT_ALTNAME_INVALID',
        'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        'ERR_TLS_CERT_ALTNAME_INVALID',
        null,
        'ERR_TLS_CERT_ALTNAME_INVALID',
      ],
    );
  });

  test('after the handshake the socket gives Node’s real certificate object again', async () => {
    const s = tls.connect({
      host: '127.0.0.1',
      port: ports.get('san')!,
      ca: [root.pem],
      servername: 'san.test',
    });
    const { lightenIdentityCheck } = await import('../src/probe/lightIdentityCheck.js');
    // No leaf from the wire here: Node's own method answers the handshake's call.
    const restore = lightenIdentityCheck(s, () => null);
    const seen = await new Promise<{ chain: Uint8Array[]; fp: string | undefined }>((r, j) => {
      s.once('secureConnect', () => {
        restore();
        r({ chain: peerChain(s), fp: s.getPeerCertificate(true).fingerprint256 });
      });
      s.once('error', j);
    });
    assert.equal(s.authorized, true, String(s.authorizationError));
    assert.ok(seen.chain.length >= 1);
    assert.ok(seen.fp, 'the full legacy object');
    s.destroy();
  });
});
