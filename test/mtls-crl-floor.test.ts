/*
 * Node's own client-certificate verification with the same CRLs is the floor: certvet's mTLS
 * verifier must never accept a client that a Node TLS server given the same CA and CRLs
 * rejects (CRL_HAS_EXPIRED, UNABLE_TO_GET_CRL, CRL_SIGNATURE_FAILURE, CERT_REVOKED). Real TLS
 * handshakes on 127.0.0.1; CRLs built in the test.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { before, describe, test } from 'node:test';
import * as tls from 'node:tls';
import { buildCrl, type CrlEntry } from '../src/lab/crlBuilder.js';
import { type IssuedCert, issue, privateKeyPem } from '../src/lab/pki.js';
import { createClientCertVerifier } from '../src/mtls/verifier.js';
import { parseCrl } from '../src/verify/crl.js';

const DAY = 86400_000;
const pem = (der: Uint8Array) =>
  `-----BEGIN X509 CRL-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')}\n-----END X509 CRL-----\n`;

interface Pki {
  root: IssuedCert;
  intermediate: IssuedCert;
  client: IssuedCert;
  clientKey: string;
  server: IssuedCert;
  serverKey: string;
}

/** Does a Node TLS server (ca + crl, requestCert, rejectUnauthorized) accept this client? */
async function nodeAccepts(
  pki: Pki,
  crls: Uint8Array[],
): Promise<{ accepted: boolean; error: string | null }> {
  const server = tls.createServer({
    key: pki.serverKey,
    cert: pki.server.pem,
    ca: pki.root.pem,
    crl: crls.map(pem),
    requestCert: true,
    rejectUnauthorized: true,
  });
  const verdict = new Promise<{ accepted: boolean; error: string | null }>((resolve) => {
    server.on('secureConnection', (s) => {
      resolve({ accepted: s.authorized, error: null });
      s.end();
    });
    server.on('tlsClientError', (e: NodeJS.ErrnoException) =>
      resolve({ accepted: false, error: e.code ?? e.message }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const client = tls.connect({
    host: '127.0.0.1',
    port,
    key: pki.clientKey,
    cert: pki.client.pem + pki.intermediate.pem,
    rejectUnauthorized: false,
  });
  client.on('error', () => {});
  const out = await verdict;
  client.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  return out;
}

describe('mTLS with supplied CRLs: never accept what Node with the same CRLs rejects', () => {
  let pki: Pki;
  let impostorKey: ReturnType<typeof generateKeyPairSync>['privateKey'];
  const fresh = { thisUpdate: new Date(Date.now() - DAY), nextUpdate: new Date(Date.now() + 7 * DAY) };
  const stale = { thisUpdate: new Date(Date.now() - 10 * DAY), nextUpdate: new Date(Date.now() - DAY) };
  let revokedLeaf: CrlEntry;

  before(async () => {
    const root = await issue({ subject: 'CN=Floor Root', ca: true });
    const intermediate = await issue({ subject: 'CN=Floor Client CA', ca: true, issuer: root, pathLen: 0 });
    const client = await issue({ subject: 'CN=floor-client', issuer: intermediate, eku: ['clientAuth'] });
    const server = await issue({
      subject: 'CN=localhost',
      issuer: intermediate,
      dns: ['localhost'],
      ips: ['127.0.0.1'],
    });
    pki = {
      root,
      intermediate,
      client,
      clientKey: await privateKeyPem(client.key),
      server,
      serverKey: await privateKeyPem(server.key),
    };
    impostorKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    revokedLeaf = { serial: client.parsed.serialHex, revokedAt: new Date(Date.now() - 2 * DAY), reason: 1 };
  });

  const cases: {
    name: string;
    crls: () => Promise<Uint8Array[]>;
    certvet: { ok: boolean; code?: string };
  }[] = [
    {
      name: 'fresh CRLs from both CAs, client not listed',
      crls: async () => [
        await buildCrl({ issuer: pki.root, entries: [], ...fresh }),
        await buildCrl({ issuer: pki.intermediate, entries: [], ...fresh }),
      ],
      certvet: { ok: true },
    },
    {
      name: 'the client CA’s CRL is stale (client not listed)',
      crls: async () => [
        await buildCrl({ issuer: pki.root, entries: [], ...fresh }),
        await buildCrl({ issuer: pki.intermediate, entries: [], ...stale }),
      ],
      certvet: { ok: false, code: 'revocation-unknown' },
    },
    {
      name: 'a stale CRL that lists the client',
      crls: async () => [
        await buildCrl({ issuer: pki.root, entries: [], ...fresh }),
        await buildCrl({ issuer: pki.intermediate, entries: [revokedLeaf], ...stale }),
      ],
      certvet: { ok: false, code: 'revoked' },
    },
    {
      name: 'no CRL from the root for the intermediate (CRL_CHECK_ALL)',
      crls: async () => [await buildCrl({ issuer: pki.intermediate, entries: [], ...fresh })],
      certvet: { ok: false, code: 'revocation-unknown' },
    },
    {
      name: 'the client CA’s CRL is signed by another key',
      crls: async () => [
        await buildCrl({ issuer: pki.root, entries: [], ...fresh }),
        await buildCrl({
          issuer: { subjectDer: pki.intermediate.parsed.subject.der, privateKey: impostorKey },
          entries: [],
          ...fresh,
        }),
      ],
      certvet: { ok: false, code: 'revocation-unknown' },
    },
    {
      name: 'a fresh CRL that lists the client',
      crls: async () => [
        await buildCrl({ issuer: pki.root, entries: [], ...fresh }),
        await buildCrl({ issuer: pki.intermediate, entries: [revokedLeaf], ...fresh }),
      ],
      certvet: { ok: false, code: 'revoked' },
    },
  ];

  for (const c of cases)
    test(c.name, async () => {
      const ders = await c.crls();
      const node = await nodeAccepts(pki, ders);
      const verifier = createClientCertVerifier({ ca: pki.root.pem, crls: ders.map((d) => parseCrl(d)) });
      const v = await verifier.verifyChain([pki.client.der, pki.intermediate.der]);
      assert.ok(!(v.ok && !node.accepted), `certvet accepted a client Node rejects (${node.error})`);
      assert.equal(v.ok, c.certvet.ok, JSON.stringify(v.findings));
      if (c.certvet.code) {
        const f = v.findings.find((x) => x.code === c.certvet.code);
        assert.ok(f, JSON.stringify(v.findings));
        assert.equal(f.severity, 'critical');
      }
      // Node agrees wherever certvet rejects for a CRL reason (the cases are built so).
      assert.equal(node.accepted, c.certvet.ok, `Node: ${node.error}`);
    });

  test('a CRL that lists a serial in a non-minimal encoding does not parse (as Node refuses it), so it cannot hide a revocation', async () => {
    const raw = {
      serial: `00${pki.client.parsed.serialHex}`,
      revokedAt: new Date(Date.now() - DAY),
      rawSerial: true,
    };
    assert.ok(/^00[0-7]/.test(raw.serial), 'a leading zero the serial does not need');
    const der = await buildCrl({ issuer: pki.intermediate, entries: [raw], ...fresh });
    assert.throws(() => parseCrl(der), /not a minimally encoded INTEGER/);
    assert.throws(() => tls.createSecureContext({ crl: pem(der) }), 'Node refuses it too');
  });

  test('crlMode soft: an unusable CRL is a warning, but a listed serial is still rejected', async () => {
    const staleOnly = [
      await buildCrl({ issuer: pki.root, entries: [], ...fresh }),
      await buildCrl({ issuer: pki.intermediate, entries: [], ...stale }),
    ].map((d) => parseCrl(d));
    const soft = createClientCertVerifier({ ca: pki.root.pem, crls: staleOnly, crlMode: 'soft' });
    const v = await soft.verifyChain([pki.client.der, pki.intermediate.der]);
    assert.equal(v.ok, true);
    assert.equal(v.findings.find((f) => f.code === 'revocation-unknown')?.severity, 'warning');
    const listed = [await buildCrl({ issuer: pki.intermediate, entries: [revokedLeaf], ...stale })].map((d) =>
      parseCrl(d),
    );
    const r = await createClientCertVerifier({ ca: pki.root.pem, crls: listed, crlMode: 'soft' }).verifyChain(
      [pki.client.der, pki.intermediate.der],
    );
    assert.equal(r.ok, false);
    assert.ok(r.findings.some((f) => f.code === 'revoked' && f.severity === 'critical'));
  });
});
