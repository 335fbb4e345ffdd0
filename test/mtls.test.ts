import assert from 'node:assert/strict';
import { createServer as createHttpsServer, request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { connect, createServer as createTlsServer, type SecureVersion } from 'node:tls';
import { createChecker } from '../src/check/checker.js';
import { buildCrl } from '../src/lab/crlBuilder.js';
import { type IssuedCert, issue, privateKeyPem } from '../src/lab/pki.js';
import {
  clientCertMiddleware,
  createRequestGuard,
  mtlsServerOptions,
  requireClientCert,
} from '../src/mtls/adapters.js';
import { type ClientVerdict, createClientCertVerifier } from '../src/mtls/verifier.js';
import { type Crl, parseCrl } from '../src/verify/crl.js';

const DAY = 86400_000;

interface Client {
  readonly cert?: string;
  readonly key?: string;
}

describe('mTLS server side: client certificates verified by certvet (real TLS on 127.0.0.1)', () => {
  let root: IssuedCert;
  let ica: IssuedCert;
  let serverCert: IssuedCert;
  const clients: Record<string, Client> = {};
  const mk = async (name: string, spec: Partial<Parameters<typeof issue>[0]> = {}) => {
    const c = await issue({
      subject: `CN=${name},O=clients`,
      issuer: ica,
      eku: ['clientAuth'],
      emails: [`${name}@example.test`],
      ...spec,
    });
    clients[name] = {
      cert: c.pem + (spec.issuer ? spec.issuer.pem : ica.pem),
      key: await privateKeyPem(c.key),
    };
    return c;
  };
  let revokedSerial = '';
  before(async () => {
    root = await issue({ subject: 'CN=mTLS Root', ca: true });
    ica = await issue({ subject: 'CN=mTLS Client CA', ca: true, issuer: root });
    serverCert = await issue({ subject: 'CN=127.0.0.1', ips: ['127.0.0.1'], issuer: ica });
    await mk('alice', { uris: ['spiffe://prod.example/ns/web'] });
    await mk('bob');
    await mk('expired', { notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) });
    await mk('future', { notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 10 * DAY) });
    await mk('server-only', { eku: ['serverAuth'] });
    revokedSerial = (await mk('revoked')).parsed.serialHex;
    const other = await issue({ subject: 'CN=Other CA', ca: true });
    await mk('stranger', { issuer: other });
    clients.none = {};
  });

  async function call(
    port: number,
    who: string,
    version?: SecureVersion,
  ): Promise<{ status: number; body: string }> {
    const c = clients[who]!;
    return new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/',
          rejectUnauthorized: false,
          ...(c.cert ? { cert: c.cert, key: c.key } : {}),
          ...(version ? { minVersion: version, maxVersion: version } : {}),
          agent: false,
        },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', (e) => resolve({ status: -1, body: e.message }));
      req.end();
    });
  }

  let server: ReturnType<typeof createHttpsServer>;
  let port = 0;
  const verdicts: ClientVerdict[] = [];
  const verifier = () => v!;
  let v: ReturnType<typeof createClientCertVerifier> | null = null;
  let crls: Crl[] = [];
  before(async () => {
    const crl = parseCrl(
      await buildCrl({
        issuer: ica,
        entries: [{ serial: revokedSerial, revokedAt: new Date(Date.now() - DAY), reason: 1 }],
      }),
    );
    // The root's (empty) CRL too, so that every certificate in the path has a CRL in scope.
    const rootCrl = parseCrl(await buildCrl({ issuer: root, entries: [] }));
    crls = [crl, rootCrl];
    v = createClientCertVerifier({ ca: root.pem, crls });
    v.on('accepted', (x: ClientVerdict) => verdicts.push(x));
    v.on('rejected', (x: ClientVerdict) => verdicts.push(x));
    const guard = createRequestGuard(v, { exposeFindings: true });
    server = createHttpsServer(
      mtlsServerOptions(v, { cert: serverCert.pem + ica.pem, key: await privateKeyPem(serverCert.key) }),
      async (req, res) => {
        const id = await guard(req, res);
        if (id) res.end(JSON.stringify({ hello: id.commonName, spiffe: id.spiffeId }));
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const)
    test(`a valid client certificate is accepted, with its identity (${version})`, async () => {
      const r = await call(port, 'alice', version);
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(JSON.parse(r.body), { hello: 'alice', spiffe: 'spiffe://prod.example/ns/web' });
    });

  for (const [who, status, code] of [
    ['none', 401, 'client-cert-missing'],
    ['expired', 403, 'expired'],
    ['future', 403, 'not-yet-valid'],
    ['stranger', 403, 'untrusted'],
    ['server-only', 403, 'eku'],
    ['revoked', 403, 'revoked'],
  ] as const)
    test(`${who}: ${status} with ${code}`, async () => {
      const r = await call(port, who);
      assert.equal(r.status, status, r.body);
      const body = JSON.parse(r.body);
      assert.ok(
        body.findings.some((f: { code: string }) => f.code === code),
        r.body,
      );
    });

  test('allow-lists, swapped at run time: by SPIFFE trust domain, SAN pattern, fingerprint', async () => {
    verifier().update({ allow: [{ spiffeTrustDomain: 'prod.example' }] });
    try {
      assert.equal((await call(port, 'alice')).status, 200);
      const bob = await call(port, 'bob');
      assert.equal(bob.status, 403);
      assert.match(bob.body, /client-not-allowed/);
      verifier().update({ allow: [{ san: '*@example.test' }] });
      assert.equal((await call(port, 'bob')).status, 200);
    } finally {
      verifier().update({ allow: [] });
    }
    assert.ok(verdicts.length > 0, 'events were emitted');
  });

  test('CA rotation without a restart', async () => {
    const newRoot = await issue({ subject: 'CN=mTLS Root 2', ca: true });
    const newClient = await issue({ subject: 'CN=carol', issuer: newRoot, eku: ['clientAuth'] });
    clients.carol = { cert: newClient.pem, key: await privateKeyPem(newClient.key) };
    assert.equal((await call(port, 'carol')).status, 403);
    const newRootCrl = parseCrl(await buildCrl({ issuer: newRoot, entries: [] }));
    verifier().update({ ca: [root.pem, newRoot.pem], crls: [...crls, newRootCrl] });
    server.setSecureContext({
      ...mtlsServerOptions(verifier(), {
        cert: serverCert.pem + ica.pem,
        key: await privateKeyPem(serverCert.key),
      }),
    });
    assert.equal((await call(port, 'carol')).status, 200);
    assert.equal((await call(port, 'alice')).status, 200);
    verifier().update({ ca: newRoot.pem });
    assert.equal((await call(port, 'alice')).status, 403, 'the old CA is no longer trusted');
    verifier().update({ ca: root.pem });
  });

  test('plain TLS servers: requireClientCert closes rejected connections; middleware sets req.clientIdentity', async () => {
    const ver = createClientCertVerifier({ ca: root.pem });
    const tlsServer = createTlsServer(
      mtlsServerOptions(ver, { cert: serverCert.pem + ica.pem, key: await privateKeyPem(serverCert.key) }),
      (s) => s.end('welcome'),
    );
    requireClientCert(tlsServer, ver);
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    const p = (tlsServer.address() as { port: number }).port;
    const talk = (who: string) =>
      new Promise<string>((resolve) => {
        const c = clients[who]!;
        const s = connect({
          host: '127.0.0.1',
          port: p,
          rejectUnauthorized: false,
          ...(c.cert ? { cert: c.cert, key: c.key } : {}),
        });
        let data = '';
        s.on('data', (d) => (data += d));
        s.on('close', () => resolve(data));
        s.on('error', () => {});
      });
    try {
      assert.equal(await talk('alice'), 'welcome');
      assert.equal(await talk('stranger'), '');
    } finally {
      tlsServer.close();
    }
    const mw = clientCertMiddleware(ver);
    const app = createHttpsServer(
      mtlsServerOptions(ver, { cert: serverCert.pem + ica.pem, key: await privateKeyPem(serverCert.key) }),
      (req, res) =>
        mw(req, res, () =>
          res.end(
            String(
              (req as typeof req & { clientIdentity?: { commonName: string } }).clientIdentity?.commonName,
            ),
          ),
        ),
    );
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    try {
      const r = await call((app.address() as { port: number }).port, 'bob');
      assert.equal(r.body, 'bob');
    } finally {
      app.closeAllConnections();
      app.close();
    }
  });

  test('network revocation hard: the configured CRLs count as sources, so a chain they cover is accepted without any CDP', async () => {
    const { buildCrl } = await import('../src/lab/crlBuilder.js');
    const { loadCrls } = await import('../src/index.js');
    // root -> ica -> client, none naming an OCSP responder or a CRL distribution point.
    const client = await mk('crl-covered');
    const crls = [
      ...loadCrls(Buffer.from(await buildCrl({ issuer: ica, entries: [] })), 'ica.crl'),
      ...loadCrls(Buffer.from(await buildCrl({ issuer: root, entries: [] })), 'root.crl'),
    ];
    const covered = createClientCertVerifier({ ca: root.pem, crls, revocation: 'hard' });
    const ok = await covered.verifyChain([client.der, ica.der]);
    assert.equal(ok.ok, true, JSON.stringify(ok.findings));
    // Without them, hard mode has no status to go on.
    const bare = createClientCertVerifier({ ca: root.pem, revocation: 'hard' });
    const no = await bare.verifyChain([client.der, ica.der]);
    assert.equal(no.ok, false);
    assert.deepEqual(
      no.findings.map((f) => [f.code, f.certIndex]),
      [
        ['revocation-unknown', 0],
        ['revocation-unknown', 1],
      ],
    );
    assert.match(
      no.findings[0]!.message,
      /names no OCSP responder and no CRL distribution point.*\(hard revocation mode\)/,
    );
    // A configured CRL that cannot be used: the CRL rules report why (crlMode soft: a warning);
    // the leaf's status stays unknown, which hard network revocation rejects, referring to it.
    const stale = loadCrls(
      Buffer.from(
        await buildCrl({
          issuer: ica,
          entries: [],
          thisUpdate: new Date(Date.now() - 10 * 86_400_000),
          nextUpdate: new Date(Date.now() - 86_400_000),
        }),
      ),
      'stale.crl',
    );
    const staleV = createClientCertVerifier({
      ca: root.pem,
      crls: [...stale, crls[1]!],
      crlMode: 'soft',
      revocation: 'hard',
    });
    const st = await staleV.verifyChain([client.der, ica.der]);
    assert.equal(st.ok, false, JSON.stringify(st.findings));
    const leafFindings = st.findings.filter((f) => f.certIndex === 0);
    assert.deepEqual(
      leafFindings.map((f) => [f.code, f.severity]),
      [
        ['revocation-unknown', 'warning'],
        ['revocation-unknown', 'critical'],
      ],
    );
    assert.match(leafFindings[0]!.message, /stale/);
    assert.match(leafFindings[1]!.message, /a supplied CRL covers it but cannot be used \(reported above\)/);
  });

  test('revoked by OCSP (verifier with network revocation on)', async () => {
    const { createServer: createHttpServer } = await import('node:http');
    const { ocspRequestOf, ocspRespond } = await import('../src/lab/ocspResponder.js');
    const { buildCrl } = await import('../src/lab/crlBuilder.js');
    let revoked = '';
    let rootCrl: Uint8Array = new Uint8Array();
    let ocspCa: IssuedCert | null = null;
    const responder = createHttpServer((rq, rs) => {
      const chunks: Buffer[] = [];
      rq.on('data', (d) => chunks.push(d));
      rq.on('end', async () => {
        if (rq.url === '/root.crl') return rs.end(Buffer.from(rootCrl));
        const body = ocspRequestOf(rq.method, rq.url!, Buffer.concat(chunks));
        rs.end(
          Buffer.from(
            await ocspRespond(body, {
              signer: ocspCa!,
              statusOf: (s) => (s === revoked ? 'revoked' : 'good'),
            }),
          ),
        );
      });
    });
    await new Promise<void>((r) => responder.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(responder.address() as { port: number }).port}`;
    const url = `${base}/ocsp`;
    // Hard mode wants a status for the issuing CA too: its CRL distribution point is the root's CRL.
    rootCrl = await buildCrl({ issuer: root, entries: [] });
    ocspCa = await issue({
      subject: 'CN=mTLS OCSP Client CA',
      ca: true,
      issuer: root,
      crlUrls: [`${base}/root.crl`],
    });
    const ica = ocspCa;
    const good = await mk('ocsp-good', { aiaOcsp: [url], issuer: ica });
    const bad = await mk('ocsp-bad', { aiaOcsp: [url], issuer: ica });
    revoked = bad.parsed.serialHex;
    const ver = createClientCertVerifier({ ca: root.pem, revocation: 'hard' });
    try {
      const ok = await ver.verifyChain([good.der, ica.der]);
      assert.equal(ok.ok, true, JSON.stringify(ok.findings));
      const no = await ver.verifyChain([bad.der, ica.der]);
      assert.equal(no.ok, false);
      assert.ok(no.findings.some((f) => f.code === 'revoked' && /OCSP responder/.test(f.message)));
      // Sharing a checker's pipeline (createChecker, the composition root): its fetch policy
      // applies, so a policy that denies the responder makes the status unknown — rejected in hard mode.
      const denying = createChecker({ revocation: 'hard', fetchDeny: ['127.0.0.0/8'] });
      const shared = createClientCertVerifier({ ca: root.pem, revocation: 'hard', checker: denying });
      const v = await shared.verifyChain([good.der, ica.der]);
      assert.equal(v.ok, false, JSON.stringify(v.findings));
      assert.ok(
        v.findings.some(
          (f) => f.code === 'revocation-unknown' && /denied by the fetch policy/.test(f.message),
        ),
      );
    } finally {
      responder.close();
    }
  });
});
