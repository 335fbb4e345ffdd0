import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import { checkTarget } from '../src/check/pipeline.js';
import { buildCrl } from '../src/lab/crlBuilder.js';
import { ocspRequestOf } from '../src/lab/ocspResponder.js';
import { type IssuedCert, issue, privateKeyPem, x509 } from '../src/lab/pki.js';
import { checkRevocation, type RevocationContext } from '../src/revocation/checkRevocation.js';
import { CrlCache } from '../src/revocation/crlCache.js';
import { FetchPolicy } from '../src/revocation/fetchPolicy.js';
import { parseTarget } from '../src/scan/target.js';

const DAY = 86400_000;

describe('revocation over the network (OCSP by openssl as reference, CRLs over HTTP)', () => {
  let dir: string;
  let http: Server;
  let base: string;
  let root: IssuedCert;
  let ica: IssuedCert;
  /** checkTarget's policy for the lab root (webpki rules as warnings, as `certvet check`). */
  const labPolicy = () => ({
    anchors: [root.parsed],
    profile: 'webpki' as const,
    conformance: 'warn' as const,
    warnDays: 30,
    critDays: 7,
    warnPercent: 0,
  });
  /** Network revocation in `mode`, OCSP and CRL, with a fresh CRL cache. */
  const revocationIn = (mode: 'off' | 'soft' | 'hard') => ({
    mode,
    sources: ['ocsp', 'crl'] as ('ocsp' | 'crl')[],
    crlCache: new CrlCache({ timeoutMs: 2000, maxBytes: 1 << 20 }),
    fetch: { timeoutMs: 2000, maxOcspBytes: 1 << 20 },
  });
  const leaves: Record<string, IssuedCert> = {};
  const index: string[] = [];
  const counts = { crl: 0, ocsp: 0, aia: 0 };
  let crlDer: Uint8Array;
  let mode: 'openssl' | 'tryLater' | 'garbage' | 'hang' | 'trickle' = 'openssl';

  function ocspAnswer(req: Buffer): Buffer {
    if (mode === 'tryLater') return Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x03]);
    if (mode === 'garbage') return Buffer.from('<html>not ocsp</html>');
    writeFileSync(join(dir, 'index.txt'), `${index.join('\n')}\n`);
    writeFileSync(join(dir, 'req.der'), req);
    execFileSync(
      'openssl',
      [
        'ocsp',
        '-index',
        join(dir, 'index.txt'),
        '-rsigner',
        join(dir, 'ica.pem'),
        '-rkey',
        join(dir, 'ica.key'),
        '-CA',
        join(dir, 'ica.pem'),
        '-reqin',
        join(dir, 'req.der'),
        '-respout',
        join(dir, 'resp.der'),
        '-ndays',
        '1',
      ],
      { stdio: 'ignore' },
    );
    return readFileSync(join(dir, 'resp.der'));
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-rev-'));
    http = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d) => chunks.push(d));
      req.on('end', () => {
        if (req.url === '/ica.der' || req.url === '/ica.p7c') {
          counts.aia++;
          res.writeHead(200, { 'content-type': 'application/pkix-cert' });
          res.end(req.url === '/ica.der' ? Buffer.from(ica.der) : readFileSync(join(dir, 'ica.p7c')));
          return;
        }
        if (req.url === '/ica.crl') {
          counts.crl++;
          res.writeHead(200, { 'content-type': 'application/pkix-crl' });
          res.end(Buffer.from(crlDer));
          return;
        }
        if (req.url?.startsWith('/ocsp')) {
          counts.ocsp++;
          if (mode === 'hang') return; // never answers
          if (mode === 'trickle') {
            // Status and headers, then a body that never ends.
            res.writeHead(200, { 'content-type': 'application/ocsp-response', 'content-length': '100' });
            res.write(Buffer.from([0x30]));
            return;
          }
          const body = ocspRequestOf(req.method, req.url, Buffer.concat(chunks));
          res.writeHead(200, { 'content-type': 'application/ocsp-response' });
          res.end(ocspAnswer(body));
          return;
        }
        res.writeHead(404).end();
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    root = await issue({ subject: 'CN=Rev Root', ca: true });
    ica = await issue({ subject: 'CN=Rev Issuing CA', ca: true, issuer: root });
    writeFileSync(join(dir, 'ica.pem'), ica.pem);
    writeFileSync(join(dir, 'ica.key'), await privateKeyPem(ica.key));
    const exp = '301231235959Z';
    for (const name of ['ocsp-good', 'ocsp-revoked', 'ocsp-unknown', 'crl-revoked', 'crl-good']) {
      const isOcsp = name.startsWith('ocsp');
      leaves[name] = await issue({
        subject: `CN=${name}.example.test`,
        dns: [`${name}.example.test`],
        issuer: ica,
        ...(isOcsp ? { aiaOcsp: [`${base}/ocsp`] } : { crlUrls: [`${base}/ica.crl`] }),
      });
      const serial = leaves[name]!.parsed.serialHex;
      if (name === 'ocsp-good') index.push(`V\t${exp}\t\t${serial}\tunknown\t/CN=${name}`);
      if (name === 'ocsp-revoked')
        index.push(`R\t${exp}\t240101000000Z,keyCompromise\t${serial}\tunknown\t/CN=${name}`);
    }
    execFileSync('openssl', [
      'crl2pkcs7',
      '-nocrl',
      '-certfile',
      join(dir, 'ica.pem'),
      '-outform',
      'DER',
      '-out',
      join(dir, 'ica.p7c'),
    ]);
    crlDer = await buildCrl({
      issuer: ica,
      entries: [
        { serial: leaves['crl-revoked']!.parsed.serialHex, revokedAt: new Date(Date.now() - DAY), reason: 1 },
      ],
    });
  });
  after(async () => {
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const ctx = (over: Partial<RevocationContext> = {}): RevocationContext => ({
    mode: 'soft',
    sources: ['ocsp', 'crl'],
    crlCache: new CrlCache({ timeoutMs: 2000, maxBytes: 1 << 20 }),
    fetch: { timeoutMs: 2000, maxOcspBytes: 1 << 20 },
    nowSec: Math.floor(Date.now() / 1000),
    ...over,
  });
  const path = (name: string) => [leaves[name]!.parsed, ica.parsed, root.parsed];

  test('OCSP good, revoked (with time and reason) and unknown, from openssl ocsp', async () => {
    mode = 'openssl';
    const good = await checkRevocation(path('ocsp-good'), null, ctx());
    assert.deepEqual(good.findings, []);
    assert.equal(good.perCert[0]?.status, 'good');
    assert.equal(good.perCert[0]?.source, 'ocsp');
    assert.ok(good.perCert[0]?.nextUpdate);
    const revoked = await checkRevocation(path('ocsp-revoked'), null, ctx());
    assert.equal(revoked.findings[0]?.code, 'revoked');
    assert.equal(revoked.findings[0]?.severity, 'critical');
    assert.match(
      revoked.findings[0]!.message,
      /OCSP responder .*revoked at 2024-01-01T00:00:00Z.*keyCompromise/,
    );
    const unknown = await checkRevocation(path('ocsp-unknown'), null, ctx());
    assert.equal(unknown.findings[0]?.code, 'revocation-unknown');
    assert.equal(unknown.findings[0]?.severity, 'warning');
    assert.match(unknown.findings[0]!.message, /status unknown/);
    assert.equal(
      (await checkRevocation(path('ocsp-unknown'), null, ctx({ mode: 'hard' }))).findings[0]?.severity,
      'critical',
    );
  });

  test('responder failures: tryLater, garbage, a response that never comes, a stale response', async () => {
    for (const [m, pattern] of [
      ['tryLater', /answered tryLater/],
      ['garbage', /not valid DER/],
      // The fetch's own limit, whatever was left of it for the request.
      ['hang', /127\.0\.0\.1:\d+ did not answer within the 500 ms fetch timeout/],
      ['trickle', /did not finish its answer within the 500 ms fetch timeout/],
    ] as const) {
      mode = m;
      const r = await checkRevocation(
        path('ocsp-good'),
        null,
        ctx({ fetch: { timeoutMs: 500, maxOcspBytes: 1 << 20 } }),
      );
      assert.equal(r.findings[0]?.code, 'revocation-unknown', m);
      assert.match(r.findings[0]!.message, pattern);
    }
    mode = 'openssl';
    const later = await checkRevocation(
      path('ocsp-good'),
      null,
      ctx({ nowSec: Math.floor((Date.now() + 3 * DAY) / 1000) }),
    );
    assert.match(later.findings.find((f) => f.code === 'revocation-unknown')!.message, /stale/);
  });

  test('a tampered OCSP signature is rejected', async () => {
    mode = 'openssl';
    const req = (await import('../src/revocation/ocsp.js')).buildOcspRequest(
      leaves['ocsp-good']!.parsed,
      ica.parsed,
    );
    const resp = ocspAnswer(Buffer.from(req));
    resp[60]! ^= 0x01; // inside the signed response data
    const r = await checkRevocation(path('ocsp-good'), new Uint8Array(resp), ctx({ sources: [] }));
    assert.match(r.findings[0]!.message, /stapled OCSP response is unusable/);
  });

  test('CRL over HTTP: revoked and good, fetched once for many checks', async () => {
    const cache = new CrlCache({ timeoutMs: 2000, maxBytes: 1 << 20 });
    const before = counts.crl;
    const results = await Promise.all(
      Array.from({ length: 10 }, () => checkRevocation(path('crl-revoked'), null, ctx({ crlCache: cache }))),
    );
    for (const r of results) {
      assert.equal(r.findings[0]?.code, 'revoked');
      assert.match(r.findings[0]!.message, /the CRL at http:\/\/127\.0\.0\.1:\d+\/ica\.crl/);
      assert.equal(r.perCert[0]?.source, 'crl');
    }
    const good = await checkRevocation(path('crl-good'), null, ctx({ crlCache: cache }));
    assert.equal(good.perCert[0]?.status, 'good');
    assert.equal(counts.crl - before, 1, 'single-flight and cached');
    assert.equal(cache.fetches, 1);
  });

  test('fetch policy: denied networks and non-http URLs are never fetched', async () => {
    const denied = await checkRevocation(
      path('ocsp-good'),
      null,
      ctx({
        fetch: { timeoutMs: 1000, maxOcspBytes: 1 << 20, policy: new FetchPolicy([], ['127.0.0.0/8']) },
      }),
    );
    assert.match(denied.findings[0]!.message, /denied by the fetch policy/);
    const allowOnly = await checkRevocation(
      path('ocsp-good'),
      null,
      ctx({ fetch: { timeoutMs: 1000, maxOcspBytes: 1 << 20, policy: new FetchPolicy(['10.0.0.0/8']) } }),
    );
    assert.match(allowOnly.findings[0]!.message, /not in --fetch-allow/);
    const ldapLeaf = await issue({ subject: 'CN=ldap', issuer: ica, crlUrls: ['ldap://127.0.0.1/cn=crl'] });
    const r = await checkRevocation([ldapLeaf.parsed, ica.parsed, root.parsed], null, ctx());
    assert.match(r.findings[0]!.message, /refusing ldap URL/);
  });

  test('no source at all: not checked, no finding; revocation off: nothing', async () => {
    const plain = await issue({ subject: 'CN=plain', issuer: ica });
    const r = await checkRevocation([plain.parsed, ica.parsed, root.parsed], null, ctx());
    assert.deepEqual(r.findings, []);
    assert.equal(r.perCert[0]?.status, 'not-checked');
    assert.deepEqual((await checkRevocation(path('ocsp-revoked'), null, ctx({ mode: 'off' }))).findings, []);
  });

  test('end to end over TLS: a stapled response is used first; must-staple without a staple is critical, revocation on or off', async () => {
    mode = 'openssl';
    const { buildOcspRequest } = await import('../src/revocation/ocsp.js');
    const staple = ocspAnswer(Buffer.from(buildOcspRequest(leaves['ocsp-revoked']!.parsed, ica.parsed)));
    const key = await privateKeyPem(leaves['ocsp-revoked']!.key);
    const stapling = createTlsServer({ cert: leaves['ocsp-revoked']!.pem + ica.pem, key }, (s) => s.end());
    stapling.on('OCSPRequest', (_cert: Buffer, _issuer: Buffer, cb: (e: Error | null, r?: Buffer) => void) =>
      cb(null, staple),
    );
    const mustStaple = await issue({
      subject: 'CN=127.0.0.1',
      ips: ['127.0.0.1'],
      issuer: ica,
      extensions: [
        new x509.Extension('1.3.6.1.5.5.7.1.24', false, new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05])),
      ],
    });
    const noStaple = createTlsServer(
      { cert: mustStaple.pem + ica.pem, key: await privateKeyPem(mustStaple.key) },
      (s) => s.end(),
    );
    await new Promise<void>((r) => stapling.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => noStaple.listen(0, '127.0.0.1', r));
    const before = counts.ocsp;
    try {
      const policy = labPolicy();
      const r1 = await checkTarget({
        spec: parseTarget(`127.0.0.1:${(stapling.address() as { port: number }).port}`),
        expectName: 'ocsp-revoked.example.test',
        policy,
        revocation: revocationIn('soft'),
      });
      assert.equal(r1.status, 'critical');
      assert.ok(r1.findings.some((f) => f.code === 'revoked' && f.severity === 'critical'));
      assert.equal((r1.tls as { ocspStapled: boolean }).ocspStapled, true);
      assert.equal(r1.chain[0]?.revocation?.source, 'ocsp-stapled');
      assert.equal(r1.chain[0]?.revocation?.status, 'revoked');
      assert.equal(counts.ocsp, before, 'the responder was not asked: the staple answered');
      const r2 = await checkTarget({
        spec: parseTarget(`127.0.0.1:${(noStaple.address() as { port: number }).port}`),
        policy,
        revocation: revocationIn('soft'),
      });
      assert.ok(
        r2.findings.some((f) => f.code === 'must-staple-missing' && f.severity === 'critical'),
        JSON.stringify(r2.findings),
      );
      // The broken promise shows with revocation off too (nothing to fetch to see it), once.
      const r3 = await checkTarget({
        spec: parseTarget(`127.0.0.1:${(noStaple.address() as { port: number }).port}`),
        policy,
        revocation: revocationIn('off'),
      });
      assert.equal(r3.status, 'critical');
      assert.equal(
        r3.findings.filter((f) => f.code === 'must-staple-missing').length,
        1,
        JSON.stringify(r3.findings),
      );
      const r4 = await checkTarget({
        spec: parseTarget(`127.0.0.1:${(noStaple.address() as { port: number }).port}`),
        policy,
      });
      assert.equal(
        r4.findings.filter((f) => f.code === 'must-staple-missing').length,
        1,
        JSON.stringify(r4.findings),
      );
      assert.equal(r2.findings.filter((f) => f.code === 'must-staple-missing').length, 1);
    } finally {
      stapling.close();
      noStaple.close();
    }
  });

  test('staples that cannot be used: must-staple fails on them, revocation on or off; a good answer from the responder notes them; hard mode fails a certificate that names no source', async () => {
    mode = 'openssl';
    const { ocspRespond } = await import('../src/lab/ocspResponder.js');
    const { buildOcspRequest } = await import('../src/revocation/ocsp.js');
    const staleFor = (leaf: IssuedCert) =>
      ocspRespond(buildOcspRequest(leaf.parsed, ica.parsed), {
        signer: ica,
        statusOf: () => 'good',
        validitySec: -30 * 86_400,
      });
    const mustStaple = await issue({
      subject: 'CN=127.0.0.1',
      ips: ['127.0.0.1'],
      issuer: ica,
      extensions: [
        new x509.Extension('1.3.6.1.5.5.7.1.24', false, new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05])),
      ],
    });
    const servers: ReturnType<typeof createTlsServer>[] = [];
    const stapling = async (leaf: IssuedCert, staple: Uint8Array | null) => {
      const server = createTlsServer({ cert: leaf.pem + ica.pem, key: await privateKeyPem(leaf.key) }, (sk) =>
        sk.end(),
      );
      server.on('OCSPRequest', (_c: Buffer, _i: Buffer, cb: (e: Error | null, r?: Buffer) => void) =>
        cb(null, staple ? Buffer.from(staple) : undefined),
      );
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return parseTarget(`127.0.0.1:${(server.address() as { port: number }).port}`);
    };
    const policy = labPolicy();
    try {
      const spec = await stapling(mustStaple, await staleFor(mustStaple));
      for (const m of ['off', 'soft', 'hard'] as const) {
        const r = await checkTarget({ spec, policy, revocation: revocationIn(m) });
        const f = r.findings.filter((x) => x.code === 'must-staple-missing');
        assert.equal(f.length, 1, `${m}: ${JSON.stringify(r.findings)}`);
        assert.equal(f[0]!.severity, 'critical');
        assert.match(f[0]!.message, /the staple the server sent cannot be used: the OCSP response is stale/);
      }
      // Not must-staple: the responder's good answer decides, and the broken staple is noted.
      const good = leaves['ocsp-good']!;
      const goodSpec = await stapling(good, await staleFor(good));
      const r = await checkTarget({
        spec: goodSpec,
        expectName: 'ocsp-good.example.test',
        policy,
        revocation: revocationIn('soft'),
      });
      assert.equal(r.chain[0]?.revocation?.status, 'good', JSON.stringify(r.chain[0]?.revocation));
      assert.equal(r.chain[0]?.revocation?.source, 'ocsp');
      assert.match(r.chain[0]?.revocation?.detail ?? '', /the stapled OCSP response is unusable: .*stale/);
      // A certificate that names no OCSP responder and no CRL: nothing in soft mode, critical in hard.
      const plain = await issue({ subject: 'CN=127.0.0.1', ips: ['127.0.0.1'], issuer: ica });
      const plainSpec = await stapling(plain, null);
      const soft = await checkTarget({ spec: plainSpec, policy, revocation: revocationIn('soft') });
      assert.equal(soft.chain[0]?.revocation?.status, 'not-checked');
      assert.ok(!soft.findings.some((f) => f.code === 'revocation-unknown' && f.certIndex === 0));
      const hard = await checkTarget({ spec: plainSpec, policy, revocation: revocationIn('hard') });
      const unknown = hard.findings.find((f) => f.code === 'revocation-unknown' && f.certIndex === 0);
      assert.equal(unknown?.severity, 'critical', JSON.stringify(hard.findings));
      assert.match(unknown?.message ?? '', /names no OCSP responder and no CRL distribution point/);
      assert.equal(hard.status, 'critical');
    } finally {
      for (const sv of servers) sv.close();
    }
  });

  for (const file of ['ica.der', 'ica.p7c'])
    test(`AIA chain completion (${file}): incomplete-chain, the intermediate marked aia`, async () => {
      const leaf = await issue({
        subject: 'CN=127.0.0.1',
        ips: ['127.0.0.1'],
        issuer: ica,
        aiaCaIssuers: [`${base}/${file}`],
      });
      const server = createTlsServer({ cert: leaf.pem, key: await privateKeyPem(leaf.key) }, (s) => s.end());
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const { AiaFetcher } = await import('../src/revocation/aia.js');
        const aia = new AiaFetcher({ timeoutMs: 2000, maxBytes: 1 << 20 });
        const policy = labPolicy();
        const spec = parseTarget(`127.0.0.1:${(server.address() as { port: number }).port}`);
        const r = await checkTarget({ spec, policy, aia });
        assert.equal(r.status, 'warning', JSON.stringify(r.findings));
        assert.match(r.findings.find((f) => f.code === 'incomplete-chain')!.message, /AIA caIssuers/);
        assert.deepEqual(
          r.chain.map((c) => c.source),
          ['peer', 'aia', 'trust-store'],
        );
        const without = await checkTarget({ spec, policy });
        assert.equal(without.status, 'critical');
        assert.ok(without.findings.some((f) => f.code === 'untrusted'));
      } finally {
        server.close();
      }
    });

  test('a caIssuers URL that answers 404, and one that is refused, are named in the untrusted finding', async () => {
    const leaf = await issue({
      subject: 'CN=127.0.0.1',
      ips: ['127.0.0.1'],
      issuer: ica,
      aiaCaIssuers: [`${base}/gone.der`, 'ldap://127.0.0.1/cn=ica'],
    });
    const server = createTlsServer({ cert: leaf.pem, key: await privateKeyPem(leaf.key) }, (s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { AiaFetcher } = await import('../src/revocation/aia.js');
      const aia = new AiaFetcher({ timeoutMs: 2000, maxBytes: 1 << 20 });
      const policy = labPolicy();
      const spec = parseTarget(`127.0.0.1:${(server.address() as { port: number }).port}`);
      const r = await checkTarget({ spec, policy, aia });
      assert.equal(r.status, 'critical');
      const untrusted = r.findings.find((f) => f.code === 'untrusted')?.message ?? '';
      assert.match(untrusted, /fetching the missing issuer through AIA caIssuers failed: /);
      assert.match(untrusted, /\/gone\.der: 127\.0\.0\.1:\d+ answered HTTP 404/);
      assert.match(untrusted, /ldap:\/\/127\.0\.0\.1\/cn=ica: /);
      // Without AIA fetching, nothing was tried and nothing is said about it.
      const without = await checkTarget({ spec, policy });
      assert.doesNotMatch(
        without.findings.find((f) => f.code === 'untrusted')?.message ?? '',
        /AIA caIssuers/,
      );
    } finally {
      server.close();
    }
  });
});

describe("OCSP verification against certvet's own lab responder (cases openssl will not produce)", () => {
  test('delegated responder: accepted with id-kp-OCSPSigning, rejected without it or from another CA; expired and stale answers', async () => {
    const { ocspRespond } = await import('../src/lab/ocspResponder.js');
    const { buildOcspRequest, verifyOcspResponse } = await import('../src/revocation/ocsp.js');
    const root = await issue({ subject: 'CN=Del Root', ca: true });
    const ica = await issue({ subject: 'CN=Del CA', ca: true, issuer: root });
    const leaf = await issue({ subject: 'CN=leaf', issuer: ica });
    const delegated = await issue({ subject: 'CN=Del OCSP Responder', issuer: ica, eku: ['ocspSigning'] });
    const noEku = await issue({ subject: 'CN=Del Not A Responder', issuer: ica, eku: ['serverAuth'] });
    const other = await issue({ subject: 'CN=Other CA', ca: true });
    const foreign = await issue({ subject: 'CN=Foreign Responder', issuer: other, eku: ['ocspSigning'] });
    const req = buildOcspRequest(leaf.parsed, ica.parsed);
    const now = Math.floor(Date.now() / 1000);
    const answer = async (signer: IssuedCert, extra: { validitySec?: number } = {}) =>
      ocspRespond(req, { signer, statusOf: () => 'good', includeSigner: true, ...extra });
    const ok = verifyOcspResponse(await answer(delegated), leaf.parsed, ica.parsed, now);
    assert.equal(ok.status, 'good');
    assert.match(ok.signer, /delegated responder CN=Del OCSP Responder/);
    assert.throws(() => verifyOcspResponse(Buffer.from([]), leaf.parsed, ica.parsed, now), /not valid DER/);
    await assert.rejects(
      async () => verifyOcspResponse(await answer(noEku), leaf.parsed, ica.parsed, now),
      /lacks id-kp-OCSPSigning/,
    );
    await assert.rejects(
      async () => verifyOcspResponse(await answer(foreign), leaf.parsed, ica.parsed, now),
      /which the issuer did not certify/,
    );
    await assert.rejects(
      async () => verifyOcspResponse(await answer(ica, { validitySec: -3600 }), leaf.parsed, ica.parsed, now),
      /stale/,
    );
    // Clock skew of up to 5 minutes is tolerated.
    assert.equal(
      verifyOcspResponse(await answer(ica, { validitySec: -60 }), leaf.parsed, ica.parsed, now).status,
      'good',
    );
    // A response for another certificate does not answer for this one.
    const otherLeaf = await issue({ subject: 'CN=other leaf', issuer: ica });
    const forOther = await ocspRespond(buildOcspRequest(otherLeaf.parsed, ica.parsed), {
      signer: ica,
      statusOf: () => 'good',
    });
    assert.throws(
      () => verifyOcspResponse(forOther, leaf.parsed, ica.parsed, now),
      /does not cover this certificate/,
    );
  });

  test('fail closed on what a signed response says: the worst of several answers, critical extensions, no nextUpdate, a stale revocation', async () => {
    const { ocspRespond } = await import('../src/lab/ocspResponder.js');
    const { buildOcspRequest, verifyOcspResponse } = await import('../src/revocation/ocsp.js');
    const root = await issue({ subject: 'CN=F Root', ca: true });
    const ica = await issue({ subject: 'CN=F CA', ca: true, issuer: root });
    const leaf = await issue({ subject: 'CN=f leaf', issuer: ica });
    const now = Math.floor(Date.now() / 1000);
    const req = buildOcspRequest(leaf.parsed, ica.parsed);
    const verify = async (o: Omit<Parameters<typeof ocspRespond>[1], 'signer'>) =>
      verifyOcspResponse(await ocspRespond(req, { signer: ica, ...o }), leaf.parsed, ica.parsed, now);
    // Two answers for one certificate: revoked counts, in either order (RFC 6960 gives no order).
    assert.equal((await verify({ statusOf: () => 'good', secondAnswer: 'revoked' })).status, 'revoked');
    assert.equal((await verify({ statusOf: () => 'revoked', secondAnswer: 'good' })).status, 'revoked');
    assert.equal((await verify({ statusOf: () => 'good', secondAnswer: 'unknown' })).status, 'unknown');
    // An extension marked critical that certvet does not know makes the response unusable.
    await assert.rejects(
      verify({ statusOf: () => 'good', criticalExtension: 'response' }),
      /unrecognised critical extension 1\.3\.6\.1\.4\.1\.99999\.1/,
    );
    await assert.rejects(
      verify({ statusOf: () => 'good', criticalExtension: 'single' }),
      /answer for this certificate has an unrecognised critical extension/,
    );
    // Without nextUpdate an answer is current for a day after thisUpdate (RFC 6960 §4.2.2.1).
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000);
    assert.equal(
      (await verify({ statusOf: () => 'good', omitNextUpdate: true, thisUpdate: hoursAgo(2) })).status,
      'good',
    );
    await assert.rejects(
      verify({ statusOf: () => 'good', omitNextUpdate: true, thisUpdate: hoursAgo(24 * 400) }),
      /has no nextUpdate and is more than a day old/,
    );
    // A signed revocation stands when the answer is stale (as on a CRL); a stale "good" does not.
    const staleRevoked = await verify({ statusOf: () => 'revoked', validitySec: -86_400 * 30 });
    assert.equal(staleRevoked.status, 'revoked');
    assert.match(staleRevoked.caveat ?? '', /stale/);
    await assert.rejects(verify({ statusOf: () => 'good', validitySec: -86_400 * 30 }), /stale/);
    const oldRevoked = await verify({
      statusOf: () => 'revoked',
      omitNextUpdate: true,
      thisUpdate: hoursAgo(24 * 400),
    });
    assert.equal(oldRevoked.status, 'revoked');
  });

  test('hard mode: a certificate that names no source is unknown, unless it is a short-lived leaf', async () => {
    const root = await issue({ subject: 'CN=S Root', ca: true });
    const ica = await issue({ subject: 'CN=S CA', ca: true, issuer: root });
    const now = Date.now();
    const shortLived = await issue({
      subject: 'CN=short',
      issuer: ica,
      notBefore: new Date(now - 86_400_000),
      notAfter: new Date(now + 5 * 86_400_000),
    });
    const yearLong = await issue({ subject: 'CN=long', issuer: ica });
    const ctx = {
      mode: 'hard' as const,
      sources: ['ocsp', 'crl'] as ('ocsp' | 'crl')[],
      crlCache: new CrlCache({ timeoutMs: 1000, maxBytes: 1 << 20 }),
      fetch: { timeoutMs: 1000, maxOcspBytes: 1 << 20 },
      nowSec: Math.floor(now / 1000),
    };
    const short = await checkRevocation([shortLived.parsed, ica.parsed, root.parsed], null, ctx);
    assert.deepEqual(
      short.findings.map((f) => [f.code, f.certIndex]),
      [['revocation-unknown', 1]],
    );
    assert.equal(short.perCert[0]?.status, 'not-checked');
    assert.match(short.perCert[0]?.detail ?? '', /short-lived certificate \(valid 6 days\)/);
    const long = await checkRevocation([yearLong.parsed, ica.parsed, root.parsed], null, ctx);
    assert.deepEqual(
      long.findings.map((f) => [f.code, f.certIndex, f.severity]),
      [
        ['revocation-unknown', 0, 'critical'],
        ['revocation-unknown', 1, 'critical'],
      ],
    );
    const soft = await checkRevocation([yearLong.parsed, ica.parsed, root.parsed], null, {
      ...ctx,
      mode: 'soft',
    });
    assert.deepEqual(soft.findings, []);
  });

  test('nonces (RFC 8954) and the SHA-256 CertID fallback', async () => {
    const { ocspRespond } = await import('../src/lab/ocspResponder.js');
    const { buildOcspRequest, verifyOcspResponse } = await import('../src/revocation/ocsp.js');
    const root = await issue({ subject: 'CN=N Root', ca: true });
    const ica = await issue({ subject: 'CN=N CA', ca: true, issuer: root });
    const leaf = await issue({ subject: 'CN=n leaf', issuer: ica });
    const now = Math.floor(Date.now() / 1000);
    const nonce = new Uint8Array(16).fill(7);
    const req = buildOcspRequest(leaf.parsed, ica.parsed, { nonce });
    assert.equal(
      verifyOcspResponse(
        await ocspRespond(req, { signer: ica, statusOf: () => 'good' }),
        leaf.parsed,
        ica.parsed,
        now,
        300,
        nonce,
      ).status,
      'good',
    );
    const replayed = await ocspRespond(req, {
      signer: ica,
      statusOf: () => 'good',
      nonceOverride: new Uint8Array(16).fill(9),
    });
    assert.throws(
      () => verifyOcspResponse(replayed, leaf.parsed, ica.parsed, now, 300, nonce),
      /different nonce/,
    );
    const sha256 = buildOcspRequest(leaf.parsed, ica.parsed, { hash: 'sha256' });
    assert.equal(
      verifyOcspResponse(
        await ocspRespond(sha256, { signer: ica, statusOf: () => 'revoked' }),
        leaf.parsed,
        ica.parsed,
        now,
      ).status,
      'revoked',
    );
    // A responder that refuses SHA-1 CertIDs: certvet asks again with SHA-256.
    const SHA1_OID = Buffer.from([0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a]);
    const picky = createServer((rq, rs) => {
      const chunks: Buffer[] = [];
      rq.on('data', (d) => chunks.push(d));
      rq.on('end', async () => {
        const body = ocspRequestOf(rq.method, rq.url!, Buffer.concat(chunks));
        if (body.includes(SHA1_OID)) rs.end(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x06]));
        else rs.end(Buffer.from(await ocspRespond(body, { signer: ica, statusOf: () => 'good' })));
      });
    });
    await new Promise<void>((r) => picky.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(picky.address() as { port: number }).port}/ocsp`;
      const l2 = await issue({ subject: 'CN=picky', issuer: ica, aiaOcsp: [url] });
      const r = await checkRevocation([l2.parsed, ica.parsed, root.parsed], null, {
        mode: 'hard',
        sources: ['ocsp'],
        crlCache: new CrlCache({ timeoutMs: 1000, maxBytes: 1 << 20 }),
        fetch: { timeoutMs: 2000, maxOcspBytes: 1 << 20 },
        nowSec: now,
        nonce: true,
      });
      // The leaf is good; the intermediate names no source, which hard mode reports.
      assert.deepEqual(
        r.findings.map((f) => [f.code, f.certIndex]),
        [['revocation-unknown', 1]],
      );
      assert.equal(r.perCert[0]?.status, 'good');
    } finally {
      picky.close();
    }
  });

  test('delta CRLs (freshestCRL): revocations added, holds lifted, a delta for a newer base rejected', async () => {
    const root = await issue({ subject: 'CN=D Root', ca: true });
    const ica = await issue({ subject: 'CN=D CA', ca: true, issuer: root });
    const files: Record<string, Uint8Array> = {};
    const srv = createServer((rq, rs) => rs.end(Buffer.from(files[rq.url!] ?? new Uint8Array())));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    try {
      const mk = (name: string) =>
        issue({ subject: `CN=${name}`, issuer: ica, crlUrls: [`${url}/base.crl`] });
      const [held, fresh, clean] = [await mk('held'), await mk('fresh'), await mk('clean')];
      const ago = new Date(Date.now() - DAY);
      files['/base.crl'] = await buildCrl({
        issuer: ica,
        number: 5,
        freshestUrl: `${url}/delta.crl`,
        entries: [{ serial: held.parsed.serialHex, revokedAt: ago, reason: 6 }],
      });
      files['/delta.crl'] = await buildCrl({
        issuer: ica,
        number: 6,
        deltaOf: 5,
        entries: [
          { serial: held.parsed.serialHex, revokedAt: ago, reason: 8 },
          { serial: fresh.parsed.serialHex, revokedAt: ago, reason: 1 },
        ],
      });
      const run = (c: IssuedCert) =>
        checkRevocation([c.parsed, ica.parsed, root.parsed], null, {
          mode: 'soft',
          sources: ['crl'],
          crlCache: new CrlCache({ timeoutMs: 1000, maxBytes: 1 << 20 }),
          fetch: { timeoutMs: 1000, maxOcspBytes: 1 << 20 },
          nowSec: Math.floor(Date.now() / 1000),
        });
      assert.equal((await run(held)).perCert[0]?.status, 'good', 'the hold is lifted by removeFromCRL');
      const f = await run(fresh);
      assert.equal(f.perCert[0]?.status, 'revoked');
      assert.match(f.findings[0]!.message, /delta CRL at .*delta\.crl/);
      assert.equal((await run(clean)).perCert[0]?.status, 'good');
      files['/delta.crl'] = await buildCrl({ issuer: ica, number: 9, deltaOf: 8, entries: [] });
      const stale = await run(clean);
      assert.equal(stale.findings[0]?.code, 'revocation-unknown');
      assert.match(stale.findings[0]!.message, /does not update this base CRL/);
    } finally {
      srv.close();
    }
  });

  test('bounded fetch: redirects only to http(s) and at most three; size cap; a stale staple is unusable', async () => {
    const { boundedFetch } = await import('../src/revocation/fetch.js');
    const srv = createServer((rq, rs) => {
      const n = Number(rq.url!.slice(1));
      if (rq.url === '/ldap') rs.writeHead(302, { location: 'ldap://127.0.0.1/x' }).end();
      else if (rq.url === '/big') rs.end(Buffer.alloc(4096));
      else if (n > 0) rs.writeHead(302, { location: `/${n - 1}` }).end();
      else rs.end('done');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    try {
      const ok = await boundedFetch(`${url}/3`, { timeoutMs: 2000, maxBytes: 1000 });
      assert.equal(Buffer.from(ok.body).toString(), 'done');
      await assert.rejects(
        boundedFetch(`${url}/4`, { timeoutMs: 2000, maxBytes: 1000 }),
        /more than 3 redirects/,
      );
      await assert.rejects(
        boundedFetch(`${url}/ldap`, { timeoutMs: 2000, maxBytes: 1000 }),
        /refusing ldap URL/,
      );
      await assert.rejects(boundedFetch(`${url}/big`, { timeoutMs: 2000, maxBytes: 1000 }), /limit/);
      await assert.rejects(
        boundedFetch('file:///etc/passwd', { timeoutMs: 2000, maxBytes: 1000 }),
        /refusing file URL/,
      );
    } finally {
      srv.close();
    }
    const { ocspRespond } = await import('../src/lab/ocspResponder.js');
    const { buildOcspRequest } = await import('../src/revocation/ocsp.js');
    const root = await issue({ subject: 'CN=S Root', ca: true });
    const ica = await issue({ subject: 'CN=S CA', ca: true, issuer: root });
    const leaf = await issue({ subject: 'CN=stale', issuer: ica });
    const stale = await ocspRespond(buildOcspRequest(leaf.parsed, ica.parsed), {
      signer: ica,
      statusOf: () => 'good',
      validitySec: -3600,
    });
    const r = await checkRevocation([leaf.parsed, ica.parsed, root.parsed], stale, {
      mode: 'soft',
      sources: ['ocsp', 'crl'],
      crlCache: new CrlCache({ timeoutMs: 1000, maxBytes: 1 << 20 }),
      fetch: { timeoutMs: 1000, maxOcspBytes: 1 << 20 },
      nowSec: Math.floor(Date.now() / 1000),
    });
    assert.equal(r.findings[0]?.code, 'revocation-unknown');
    assert.match(r.findings[0]!.message, /stapled OCSP response is unusable: the OCSP response is stale/);
  });
});
