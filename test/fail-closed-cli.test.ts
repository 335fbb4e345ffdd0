/*
 * Fail closed through the CLI: supplied CRLs that cannot be used, or that revoke while stale,
 * never turn into a pass — `certvet verify` (offline) and `certvet check` against a real TLS
 * server on 127.0.0.1. Severity of an unknown status follows --revocation, never --lenient or
 * --strict.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tls from 'node:tls';
import { buildCrl } from '../src/lab/crlBuilder.js';
import { ocspRequestOf, ocspRespond } from '../src/lab/ocspResponder.js';
import { type IssuedCert, issue, type LabChain, makeChain, privateKeyPem } from '../src/lab/pki.js';
import { runCli } from './support/cli.js';

const DAY = 86400_000;

interface JsonReport {
  results: {
    status: string;
    chain?: { revocation?: { status: string; source: string | null; detail: string | null } }[];
    findings: { code: string; severity: string; message: string; certIndex?: number }[];
  }[];
}

describe('fail closed through the CLI (supplied CRLs)', () => {
  let dir: string;
  let c: LabChain;
  let server: tls.Server;
  let port = 0;
  const file = (name: string) => join(dir, name);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-failclosed-'));
    c = await makeChain({ names: ['localhost', '127.0.0.1'] });
    writeFileSync(file('root.pem'), c.root.pem);
    writeFileSync(file('int.pem'), c.intermediate.pem);
    writeFileSync(file('leaf.pem'), c.leaf.pem);
    const stale = { thisUpdate: new Date(Date.now() - 10 * DAY), nextUpdate: new Date(Date.now() - DAY) };
    const listed = [
      { serial: c.leaf.parsed.serialHex, revokedAt: new Date(Date.now() - 5 * DAY), reason: 1 },
    ];
    writeFileSync(
      file('stale-revoking.crl'),
      await buildCrl({ issuer: c.intermediate, entries: listed, ...stale }),
    );
    writeFileSync(file('stale-empty.crl'), await buildCrl({ issuer: c.intermediate, entries: [], ...stale }));
    // The root's CRL: it covers the intermediate, which names no distribution point of its own.
    writeFileSync(file('root.crl'), await buildCrl({ issuer: c.root, entries: [] }));
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    writeFileSync(
      file('badsig.crl'),
      await buildCrl({
        issuer: { subjectDer: c.intermediate.parsed.subject.der, privateKey: other },
        entries: listed,
      }),
    );
    server = tls.createServer({
      key: await privateKeyPem(c.leaf.key),
      cert: c.leaf.pem + c.intermediate.pem,
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const verify = (crl: string, ...extra: string[]) =>
    runCli([
      'verify',
      file('leaf.pem'),
      '--chain',
      file('int.pem'),
      '--ca',
      file('root.pem'),
      '--host',
      'localhost',
      '--crl',
      file(crl),
      ...extra,
    ]);

  test('verify --lenient with a stale CRL that lists the certificate: revoked, exit 2', async () => {
    for (const mode of [[], ['--lenient']]) {
      const r = await verify('stale-revoking.crl', ...mode);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stdout, /revoked/);
      assert.doesNotMatch(r.stdout, /VALID WITH WARNINGS/);
    }
  });

  test('verify with a badly signed CRL: revocation-unknown naming the CRL file, never a clean pass', async () => {
    const r = await verify('badsig.crl', '--format', 'json');
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
    const out = (JSON.parse(r.stdout) as JsonReport).results[0]!;
    const f = out.findings.find((x) => x.code === 'revocation-unknown');
    assert.ok(f, r.stdout);
    assert.equal(f.severity, 'warning');
    assert.ok(f.message.includes('badsig.crl'), f.message);
    assert.match(f.message, /not signed by the issuer's key/);
    assert.ok(!out.findings.some((x) => x.code === 'revoked'), 'an unproven revocation is not a revocation');
    const hard = await verify('badsig.crl', '--revocation', 'hard');
    assert.equal(hard.code, 2, hard.stdout + hard.stderr);
  });

  test('verify --revocation hard: a certificate no --crl covers is critical; covered everywhere it passes', async () => {
    writeFileSync(file('fresh-int.crl'), await buildCrl({ issuer: c.intermediate, entries: [] }));
    writeFileSync(file('fresh-root.crl'), await buildCrl({ issuer: c.root, entries: [] }));
    const soft = await verify('fresh-int.crl');
    assert.equal(soft.code, 0, soft.stdout + soft.stderr);
    const hard = await verify('fresh-int.crl', '--revocation', 'hard', '--format', 'json');
    assert.equal(hard.code, 2, hard.stdout);
    const f = (JSON.parse(hard.stdout) as JsonReport).results[0]!.findings.find(
      (x) => x.code === 'revocation-unknown',
    );
    assert.match(f?.message ?? '', /no supplied CRL is issued by .*certvet Test Root/);
    const both = await verify('fresh-int.crl', '--crl', file('fresh-root.crl'), '--revocation', 'hard');
    assert.equal(both.code, 0, both.stdout + both.stderr);
  });

  test('verify --revocation hard with no --crl at all: every certificate below the anchor is unknown (critical), not a pass', async () => {
    const run = (...extra: string[]) =>
      runCli([
        'verify',
        file('leaf.pem'),
        '--chain',
        file('int.pem'),
        '--ca',
        file('root.pem'),
        '--host',
        'localhost',
        '--format',
        'json',
        ...extra,
      ]);
    const hard = await run('--revocation', 'hard');
    assert.equal(hard.code, 2, hard.stdout + hard.stderr);
    const unknown = (JSON.parse(hard.stdout) as JsonReport).results[0]!.findings.filter(
      (x) => x.code === 'revocation-unknown',
    );
    assert.deepEqual(unknown.map((x) => [x.certIndex, x.severity]).sort(), [
      [0, 'critical'],
      [1, 'critical'],
    ]);
    assert.match(
      unknown[0]?.message ?? '',
      /no CRL was supplied, and every certificate below the anchor must be covered by one/,
    );
    // Soft mode without CRLs checks no revocation, as before.
    const soft = await run();
    assert.equal(soft.code, 0, soft.stdout + soft.stderr);
  });

  const check = (crl: string, ...extra: string[]) =>
    runCli([
      'check',
      `127.0.0.1:${port}`,
      '--ca',
      file('root.pem'),
      '--crl',
      file(crl),
      '--format',
      'json',
      ...extra,
    ]);

  test('check --revocation hard with a stale CRL: revocation-unknown is critical (exit 2), in both conformance modes', async () => {
    for (const conformance of [[], ['--strict']]) {
      const r = await check('stale-empty.crl', '--revocation', 'hard', ...conformance);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      const rep = JSON.parse(r.stdout) as JsonReport;
      const unknown = rep.results[0]!.findings.filter((x) => x.code === 'revocation-unknown');
      // The leaf once (its CRL is stale); the intermediate names no source at all, which hard
      // mode reports as well.
      assert.deepEqual(
        unknown.map((x) => x.certIndex),
        [0, 1],
        `reported once each: ${r.stdout}`,
      );
      assert.match(unknown[1]!.message, /names no OCSP responder and no CRL distribution point/);
      assert.equal(unknown[0]!.severity, 'critical', r.stdout);
      assert.match(unknown[0]!.message, /is stale/);
      // The chain entry says so too (it said "not-checked" beside the finding).
      assert.equal(rep.results[0]!.chain?.[0]?.revocation?.status, 'unknown');
    }
    const soft = await check('stale-empty.crl', '--revocation', 'soft', '--strict');
    assert.equal(soft.code, 1, soft.stdout + soft.stderr);
    const rep = JSON.parse(soft.stdout) as JsonReport;
    assert.equal(rep.results[0]!.findings.find((x) => x.code === 'revocation-unknown')?.severity, 'warning');
  });

  test('check with a stale CRL that lists the leaf: revoked in every revocation mode', async () => {
    for (const mode of ['off', 'soft', 'hard']) {
      const r = await check('stale-revoking.crl', '--revocation', mode);
      assert.equal(r.code, 2, `${mode}: ${r.stdout}${r.stderr}`);
      const rep = JSON.parse(r.stdout) as JsonReport;
      assert.equal(rep.results[0]!.status, 'critical');
      assert.ok(rep.results[0]!.findings.some((x) => x.code === 'revoked' && x.severity === 'critical'));
      // Revoked is final: not also "unknown" (with an empty reason) for want of other sources.
      assert.ok(
        !rep.results[0]!.findings.some((x) => x.code === 'revocation-unknown' && x.certIndex === 0),
        r.stdout,
      );
    }
  });

  describe('a fetched CRL (distribution point on 127.0.0.1) signed by another key', () => {
    let http: HttpServer;
    let tlsServer: tls.Server;
    let tlsPort = 0;
    let leaf: IssuedCert;
    before(async () => {
      let badCrl: Uint8Array = new Uint8Array();
      http = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/pkix-crl' });
        res.end(Buffer.from(badCrl));
      });
      await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/ica.crl`;
      leaf = await issue({
        subject: 'CN=localhost',
        issuer: c.intermediate,
        dns: ['localhost'],
        ips: ['127.0.0.1'],
        crlUrls: [url],
      });
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      badCrl = await buildCrl({
        issuer: { subjectDer: c.intermediate.parsed.subject.der, privateKey: other },
        entries: [{ serial: leaf.parsed.serialHex, revokedAt: new Date(Date.now() - DAY) }],
      });
      tlsServer = tls.createServer({
        key: await privateKeyPem(leaf.key),
        cert: leaf.pem + c.intermediate.pem,
      });
      await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
      tlsPort = (tlsServer.address() as AddressInfo).port;
    });
    after(async () => {
      await new Promise<void>((r) => tlsServer.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
    });

    test('revocation-unknown naming the URL and the reason: a warning in soft mode, critical in hard', async () => {
      for (const [mode, severity, code] of [
        ['soft', 'warning', 1],
        ['hard', 'critical', 2],
      ] as const) {
        const r = await runCli([
          'check',
          `127.0.0.1:${tlsPort}`,
          '--ca',
          file('root.pem'),
          '--revocation',
          mode,
          '--fetch-allow',
          '127.0.0.1',
          '--format',
          'json',
        ]);
        assert.equal(r.code, code, r.stdout + r.stderr);
        const res = (JSON.parse(r.stdout) as JsonReport).results[0]!;
        const f = res.findings.find((x) => x.code === 'revocation-unknown');
        assert.equal(f?.severity, severity, r.stdout);
        assert.match(f!.message, /http:\/\/127\.0\.0\.1:\d+\/ica\.crl/);
        assert.match(f!.message, /not signed by the issuer's key/);
        assert.ok(!res.findings.some((x) => x.code === 'revoked'));
      }
    });

    test('a usable --crl is a good answer like any source: the forged CRL at the CDP does not make it unknown', async () => {
      writeFileSync(file('fresh-int-2.crl'), await buildCrl({ issuer: c.intermediate, entries: [] }));
      const r = await runCli([
        'check',
        `127.0.0.1:${tlsPort}`,
        '--ca',
        file('root.pem'),
        '--crl',
        file('fresh-int-2.crl'),
        '--crl',
        file('root.crl'),
        '--revocation',
        'hard',
        '--fetch-allow',
        '127.0.0.1',
        '--format',
        'json',
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const res = (JSON.parse(r.stdout) as JsonReport).results[0]!;
      assert.deepEqual(res.findings, []);
      assert.equal(res.chain?.[0]?.revocation?.status, 'good');
      assert.equal(res.chain?.[0]?.revocation?.source, 'crl');
      assert.match(res.chain?.[0]?.revocation?.detail ?? '', /fresh-int-2\.crl .*supplied locally/);
    });

    test('a certificate whose only source --revocation-source leaves out is unknown, not "not-checked" and ok', async () => {
      for (const [mode, severity, code] of [
        ['soft', 'warning', 1],
        ['hard', 'critical', 2],
      ] as const) {
        const r = await runCli([
          'check',
          `127.0.0.1:${tlsPort}`,
          '--ca',
          file('root.pem'),
          '--revocation',
          mode,
          '--revocation-source',
          'ocsp',
          '--fetch-allow',
          '127.0.0.1',
          '--format',
          'json',
        ]);
        assert.equal(r.code, code, r.stdout + r.stderr);
        const res = (JSON.parse(r.stdout) as JsonReport).results[0]!;
        const f = res.findings.find((x) => x.code === 'revocation-unknown');
        assert.equal(f?.severity, severity, r.stdout);
        assert.match(
          f!.message,
          /the CRL http:\/\/127\.0\.0\.1:\d+\/ica\.crl was not asked: the revocation sources in use are ocsp/,
        );
      }
    });
  });

  describe('revoked is sticky across sources', () => {
    let http: HttpServer;
    let tlsServer: tls.Server;
    let tlsPort = 0;
    let leaf: IssuedCert;
    const asked = { ocsp: 0, crl: 0 };
    before(async () => {
      let crlDer: Uint8Array = new Uint8Array();
      http = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (d: Buffer) => chunks.push(d));
        req.on('end', async () => {
          if (req.url?.startsWith('/ocsp')) {
            asked.ocsp++;
            const body = ocspRequestOf(req.method, req.url, Buffer.concat(chunks));
            const answer = await ocspRespond(body, { signer: c.intermediate, statusOf: () => 'good' });
            res.writeHead(200, { 'content-type': 'application/ocsp-response' });
            res.end(Buffer.from(answer));
          } else {
            asked.crl++;
            res.writeHead(200, { 'content-type': 'application/pkix-crl' });
            res.end(Buffer.from(crlDer));
          }
        });
      });
      await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
      const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      leaf = await issue({
        subject: 'CN=localhost',
        issuer: c.intermediate,
        dns: ['localhost'],
        ips: ['127.0.0.1'],
        aiaOcsp: [`${base}/ocsp`],
        crlUrls: [`${base}/ica.crl`],
      });
      crlDer = await buildCrl({
        issuer: c.intermediate,
        entries: [{ serial: leaf.parsed.serialHex, revokedAt: new Date(Date.now() - DAY), reason: 1 }],
      });
      writeFileSync(file('revokes-sticky-leaf.crl'), crlDer);
      tlsServer = tls.createServer({
        key: await privateKeyPem(leaf.key),
        cert: leaf.pem + c.intermediate.pem,
      });
      await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
      tlsPort = (tlsServer.address() as AddressInfo).port;
    });
    after(async () => {
      await new Promise<void>((r) => tlsServer.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
    });

    const run = (...extra: string[]) =>
      runCli(['check', `127.0.0.1:${tlsPort}`, '--ca', file('root.pem'), '--format', 'json', ...extra]);

    test('OCSP says good, the CRL says revoked: revoked, in either source order', async () => {
      for (const order of ['ocsp,crl', 'crl,ocsp']) {
        const before = { ...asked };
        const r = await run('--revocation', 'soft', '--revocation-source', order);
        assert.equal(r.code, 2, `${order}: ${r.stdout}${r.stderr}`);
        const res = (JSON.parse(r.stdout) as JsonReport).results[0]!;
        assert.ok(
          res.findings.some((f) => f.code === 'revoked' && f.severity === 'critical'),
          r.stdout,
        );
        assert.ok(asked.ocsp > before.ocsp && asked.crl > before.crl, 'both sources were asked');
        const chain = (
          JSON.parse(r.stdout) as {
            results: { chain: { revocation?: { status: string; detail: string } }[] }[];
          }
        ).results[0]!.chain;
        assert.equal(chain[0]!.revocation?.status, 'revoked');
        assert.match(chain[0]!.revocation!.detail, /said good/);
      }
    });

    test('a --crl file revokes although the network is not asked or says good: the chain entry says revoked', async () => {
      for (const mode of ['off', 'soft']) {
        const r = await run(
          '--revocation',
          mode,
          '--revocation-source',
          'ocsp',
          '--crl',
          file('revokes-sticky-leaf.crl'),
        );
        assert.equal(r.code, 2, r.stdout + r.stderr);
        const out = JSON.parse(r.stdout) as { results: { chain: { revocation?: { status: string } }[] }[] };
        assert.equal(out.results[0]!.chain[0]!.revocation?.status, 'revoked', mode);
      }
    });
  });
});
