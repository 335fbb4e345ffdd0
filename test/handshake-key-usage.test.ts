/*
 * A server certificate's keyUsage must allow what the negotiated handshake did with its key
 * (RFC 5280 §4.2.1.3, RFC 8446 §4.4.2.2, RFC 5246 §7.4.2): sign under TLS 1.3 and (EC)DHE,
 * receive the key exchange under RSA key transport. OpenSSL's client does not hold servers to
 * it (Chrome does since 124), so these run real handshakes against Node servers on loopback
 * that serve such certificates. Also: the cross-check (Node's own verdict beside certvet's) is
 * made for the name certvet checks (`expectName`), and the mTLS verifier requires a client
 * key that may sign.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as tls from 'node:tls';
import { serverKeyUsageFor } from '../src/check/tlsKeyUsage.js';
import { checkTarget, createClientCertVerifier, type TargetResult } from '../src/index.js';
import { type IssuedCert, issue, privateKeyPem, x509 } from '../src/lab/pki.js';

const KU = x509.KeyUsageFlags;

let root: IssuedCert;
let ca: IssuedCert;
const servers: tls.Server[] = [];

async function serve(leaf: IssuedCert, o: tls.TlsOptions = {}): Promise<number> {
  const server = tls.createServer(
    { key: await privateKeyPem(leaf.key), cert: leaf.pem + ca.pem, ...o },
    (s) => {
      s.on('error', () => {});
      s.end();
    },
  );
  server.on('tlsClientError', () => {});
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const check = (port: number, extra: Record<string, unknown> = {}): Promise<TargetResult> =>
  checkTarget(`127.0.0.1:${port}`, { ca: root.pem, revocation: 'off', ...extra });

const keyUsageFindings = (r: TargetResult) => r.findings.filter((f) => f.code === 'key-usage');

/** A leaf for 127.0.0.1 from the CA with this keyUsage (0: none), RSA unless said. */
const leafWith = (keyUsage: number, keyType: 'rsa-2048' | 'ec-p256' = 'rsa-2048') =>
  issue({ subject: 'CN=127.0.0.1', issuer: ca, keyType, ips: ['127.0.0.1'], keyUsage });

before(async () => {
  root = await issue({ subject: 'CN=KU Test Root', ca: true });
  ca = await issue({ subject: 'CN=KU Test CA', ca: true, pathLen: 0, issuer: root });
});
after(() => {
  for (const s of servers) s.close();
});

describe('the handshake decides which key usage the server certificate needs', () => {
  test('serverKeyUsageFor reads TLS 1.3 and the key exchange of IANA and OpenSSL suite names', () => {
    const bit = (p: string | null, c: string | null) => serverKeyUsageFor(p, c)?.bit ?? null;
    assert.equal(bit('TLSv1.3', 'TLS_AES_128_GCM_SHA256'), 'digitalSignature');
    assert.equal(bit('TLSv1.2', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'), 'digitalSignature');
    assert.equal(bit('TLSv1.2', 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384'), 'digitalSignature');
    assert.equal(bit('TLSv1.2', 'TLS_RSA_WITH_AES_128_GCM_SHA256'), 'keyEncipherment');
    assert.equal(bit('TLSv1.2', 'TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA'), 'keyAgreement');
    assert.equal(bit('TLSv1', 'ECDHE-ECDSA-AES128-SHA'), 'digitalSignature');
    assert.equal(bit('TLSv1', 'EDH-RSA-DES-CBC3-SHA'), 'digitalSignature');
    assert.equal(bit('TLSv1.2', 'AES128-GCM-SHA256'), 'keyEncipherment');
    assert.equal(bit('TLSv1.2', 'ECDH-RSA-AES128-SHA'), 'keyAgreement');
    assert.equal(bit('TLSv1.2', 'TLS_RSA_PSK_WITH_AES_128_GCM_SHA256'), 'keyEncipherment');
    assert.equal(bit('TLSv1.2', 'RSA-PSK-AES128-GCM-SHA256'), 'keyEncipherment');
    for (const c of ['TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256', 'TLS_DHE_PSK_WITH_AES_128_GCM_SHA256'])
      assert.equal(bit('TLSv1.2', c), null, c);
    for (const c of ['TLS_PSK_WITH_AES_128_GCM_SHA256', 'PSK-AES128-CBC-SHA', 'SRP-AES-128-CBC-SHA', null])
      assert.equal(bit('TLSv1.2', c), null, String(c));
    assert.equal(bit(null, null), null);
  });

  test('TLS 1.3: an RSA leaf limited to keyEncipherment, and an ECDSA leaf without digitalSignature, are refused', async () => {
    const rsa = await leafWith(KU.keyEncipherment);
    const ec = await leafWith(KU.keyAgreement, 'ec-p256');
    for (const leaf of [rsa, ec]) {
      const r = await check(await serve(leaf));
      assert.equal(r.tls?.protocol, 'TLSv1.3');
      assert.equal(r.status, 'critical', JSON.stringify(r.findings));
      const f = keyUsageFindings(r).find((x) => x.severity === 'critical');
      assert.ok(f, JSON.stringify(r.findings));
      assert.match(
        f.message,
        /keyUsage lacks digitalSignature .*a TLS 1\.3 server signs the handshake with this key/,
      );
      assert.equal(f.rule, 'RFC 5280 §4.2.1.3');
      assert.equal(r.crossCheck?.certvetValid, false);
    }
  });

  test('TLS 1.2: ECDHE needs digitalSignature, RSA key transport keyEncipherment; a key that allows what was done passes', async () => {
    const signOnly = await leafWith(KU.digitalSignature);
    const encipherOnly = await leafWith(KU.keyEncipherment);
    const tls12 = { maxVersion: 'TLSv1.2' as const };
    const ecdhe = { ...tls12, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' };
    const rsaKx = { ...tls12, ciphers: 'AES128-GCM-SHA256' };

    const okEcdhe = await check(await serve(signOnly, ecdhe));
    assert.equal(okEcdhe.tls?.cipher, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    assert.deepEqual(keyUsageFindings(okEcdhe), []);
    assert.equal(okEcdhe.status, 'ok', JSON.stringify(okEcdhe.findings));

    const badEcdhe = await check(await serve(encipherOnly, ecdhe));
    assert.equal(badEcdhe.status, 'critical');
    assert.match(keyUsageFindings(badEcdhe)[0]?.message ?? '', /lacks digitalSignature .*ECDHE key exchange/);

    const okRsa = await check(await serve(encipherOnly, rsaKx));
    assert.equal(okRsa.tls?.cipher, 'TLS_RSA_WITH_AES_128_GCM_SHA256');
    assert.equal(okRsa.status, 'ok', JSON.stringify(okRsa.findings));

    const badRsa = await check(await serve(signOnly, rsaKx));
    assert.equal(badRsa.status, 'critical');
    assert.match(keyUsageFindings(badRsa)[0]?.message ?? '', /lacks keyEncipherment .*RSA key transport/);
  });

  test('a leaf without a keyUsage extension is not restricted', async () => {
    const free = await leafWith(0, 'ec-p256');
    const r = await check(await serve(free));
    assert.deepEqual(
      r.findings.filter((f) => f.severity === 'critical'),
      [],
    );
  });
});

describe('the cross-check is made for the name certvet checks', () => {
  test('an IP target checked for a DNS name: Node agrees when the name matches, and disagrees with certvet never', async () => {
    const leaf = await issue({ subject: 'CN=named.example.test', issuer: ca, dns: ['named.example.test'] });
    const port = await serve(leaf);
    const named = await check(port, { expectName: 'named.example.test' });
    assert.equal(named.status, 'ok', JSON.stringify(named.findings));
    assert.equal(named.crossCheck?.authorized, true, JSON.stringify(named.crossCheck));
    assert.equal(named.crossCheck?.agrees, true);
    const other = await check(port, { expectName: 'other.example.test' });
    assert.ok(other.findings.some((f) => f.code === 'hostname-mismatch'));
    assert.equal(other.crossCheck?.authorized, false);
    assert.match(other.crossCheck?.error ?? '', /ALTNAME/);
    assert.equal(other.crossCheck?.agrees, true);
  });
});

describe('the mTLS verifier', () => {
  test('refuses a client certificate whose keyUsage does not allow signing', async () => {
    const verifier = createClientCertVerifier({ ca: root.pem });
    const ok = await issue({
      subject: 'CN=client ok',
      issuer: ca,
      eku: ['clientAuth'],
      keyType: 'rsa-2048',
      keyUsage: KU.digitalSignature,
    });
    const encipherOnly = await issue({
      subject: 'CN=client enc',
      issuer: ca,
      eku: ['clientAuth'],
      keyType: 'rsa-2048',
      keyUsage: KU.keyEncipherment,
    });
    const good = await verifier.verifyChain([ok.der, ca.der]);
    assert.equal(good.ok, true, JSON.stringify(good.findings));
    const bad = await verifier.verifyChain([encipherOnly.der, ca.der]);
    assert.equal(bad.ok, false);
    assert.match(
      bad.findings.find((f) => f.code === 'key-usage')?.message ?? '',
      /lacks digitalSignature .*a TLS client signs the handshake with this key/,
    );
  });
});
