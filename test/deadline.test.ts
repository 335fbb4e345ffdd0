import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { checkTarget } from '../src/check/pipeline.js';
import { buildCrl } from '../src/lab/crlBuilder.js';
import { ocspRequestOf, ocspRespond } from '../src/lab/ocspResponder.js';
import { type IssuedCert, issue, privateKeyPem } from '../src/lab/pki.js';
import { checkRevocation, OcspCache, type RevocationContext } from '../src/revocation/checkRevocation.js';
import { CrlCache } from '../src/revocation/crlCache.js';
import { parseTarget } from '../src/scan/target.js';
import { runCli } from './support/cli.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const urls = (base: string, kind: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${base}/${kind}/${i}`);

describe('--timeout is the whole per-target deadline (probe, AIA, OCSP, CRL)', () => {
  let dir: string;
  let silent: NetServer;
  const held = new Set<Socket>();
  let tls: TlsServer;
  let target: string;
  let root: IssuedCert;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-deadline-'));
    // Accepts connections and never answers.
    silent = createNetServer((s) => {
      held.add(s);
      s.on('error', () => {});
      s.on('close', () => held.delete(s));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    root = await issue({ subject: 'CN=Deadline Root', ca: true });
    const ica = await issue({
      subject: 'CN=Deadline Issuing CA',
      ca: true,
      issuer: root,
      aiaOcsp: urls(base, 'ica-ocsp', 10),
      crlUrls: urls(base, 'root.crl', 10),
    });
    const leaf = await issue({
      subject: 'CN=127.0.0.1',
      ips: ['127.0.0.1'],
      issuer: ica,
      aiaOcsp: urls(base, 'ocsp', 10),
      crlUrls: urls(base, 'ica.crl', 10),
    });
    writeFileSync(join(dir, 'root.pem'), root.pem);
    tls = createTlsServer({ cert: leaf.pem + ica.pem, key: await privateKeyPem(leaf.key) }, (s) => s.end());
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    target = `127.0.0.1:${(tls.address() as { port: number }).port}`;
  });
  after(async () => {
    for (const s of held) s.destroy();
    await new Promise((r) => silent.close(r));
    await new Promise((r) => tls.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('10 OCSP + 10 CRL silent URLs per certificate (library, hard): unknown and critical within the deadline', {
    timeout: 30_000,
  }, async () => {
    const deadlineMs = 2000;
    const t0 = performance.now();
    const r = await checkTarget({
      spec: parseTarget(target),
      policy: {
        anchors: [root.parsed],
        profile: 'webpki',
        conformance: 'warn',
        warnDays: 30,
        critDays: 7,
        warnPercent: 0,
      },
      timeouts: { totalMs: deadlineMs },
      revocation: {
        mode: 'hard',
        sources: ['ocsp', 'crl'],
        crlCache: new CrlCache({ timeoutMs: 10_000, maxBytes: 1 << 20 }),
        ocspCache: new OcspCache(),
        fetch: { timeoutMs: 10_000, maxOcspBytes: 1 << 20 },
      },
    });
    const elapsed = performance.now() - t0;
    assert.ok(
      elapsed < deadlineMs + 5000,
      `took ${Math.round(elapsed)} ms under a ${deadlineMs} ms deadline`,
    );
    assert.ok(r.durationMs >= deadlineMs - 50, `durationMs ${r.durationMs}`);
    assert.ok(r.durationMs <= elapsed + 50, `durationMs ${r.durationMs} > elapsed ${elapsed}`);
    assert.equal(r.status, 'critical', JSON.stringify(r.findings));
    for (const i of [0, 1]) {
      const f = r.findings.find((x) => x.code === 'revocation-unknown' && x.certIndex === i);
      assert.equal(f?.severity, 'critical', `certificate ${i}: ${JSON.stringify(r.findings)}`);
      assert.match(f!.message, /did not complete within 2000 ms/);
      assert.equal(r.chain[i]?.revocation?.status, 'unknown');
    }
  });

  test('the same through the CLI (soft, --timeout 3s): a warning, durationMs covers the revocation fetches', {
    timeout: 60_000,
  }, async () => {
    const t0 = performance.now();
    const run = await runCli([
      'check',
      target,
      '--ca',
      join(dir, 'root.pem'),
      '--timeout',
      '3s',
      '--fetch-timeout',
      '10s',
      '--format',
      'json',
    ]);
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < 3000 + 7000, `took ${Math.round(elapsed)} ms (CLI start-up included)`);
    const result = JSON.parse(run.stdout).results[0];
    assert.equal(result.status, 'warning', run.stdout);
    assert.ok(result.durationMs >= 2950, `durationMs ${result.durationMs}`);
    const unknown = result.findings.filter((f: { code: string }) => f.code === 'revocation-unknown');
    assert.deepEqual(
      unknown.map((f: { certIndex: number; severity: string }) => [f.certIndex, f.severity]),
      [
        [0, 'warning'],
        [1, 'warning'],
      ],
    );
  });
});

describe('revocation fetches: concurrent across the path, abort-safe shared caches', () => {
  let root: IssuedCert;
  let ica: IssuedCert;
  let leaf: IssuedCert;
  let http: HttpServer;
  let base: string;
  const hits: Record<string, number> = {};
  let delayMs = 0;
  /** Holds CRL answers until this many CRL requests are in flight together (or 1.5 s pass). */
  let waitFor = 1;
  let inFlight = 0;
  let maxInFlight = 0;
  const waiting: (() => void)[] = [];

  before(async () => {
    root = await issue({ subject: 'CN=Shared Root', ca: true });
    http = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', async () => {
        const url = req.url ?? '';
        const key = url.startsWith('/ocsp') ? '/ocsp' : url;
        hits[key] = (hits[key] ?? 0) + 1;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        res.on('close', () => inFlight--);
        if (inFlight >= waitFor) for (const w of waiting.splice(0)) w();
        else await Promise.race([new Promise<void>((r) => waiting.push(r)), sleep(1500)]);
        await sleep(delayMs);
        if (url === '/ica.crl') res.end(Buffer.from(await buildCrl({ issuer: ica, entries: [] })));
        else if (url === '/root.crl') res.end(Buffer.from(await buildCrl({ issuer: root, entries: [] })));
        else if (key === '/ocsp') {
          const body = ocspRequestOf(req.method, url, Buffer.concat(chunks));
          res.end(Buffer.from(await ocspRespond(body, { signer: ica, statusOf: () => 'good' })));
        } else res.writeHead(404).end();
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    ica = await issue({ subject: 'CN=Shared CA', ca: true, issuer: root, crlUrls: [`${base}/root.crl`] });
    leaf = await issue({
      subject: 'CN=shared leaf',
      issuer: ica,
      aiaOcsp: [`${base}/ocsp`],
      crlUrls: [`${base}/ica.crl`],
    });
  });
  after(async () => {
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
  });

  const ctx = (over: Partial<RevocationContext>): RevocationContext => ({
    mode: 'soft',
    sources: ['crl'],
    crlCache: new CrlCache({ timeoutMs: 5000, maxBytes: 1 << 20 }),
    fetch: { timeoutMs: 5000, maxOcspBytes: 1 << 20 },
    nowSec: Math.floor(Date.now() / 1000),
    ...over,
  });
  const path = () => [leaf.parsed, ica.parsed, root.parsed];

  test('the CRLs of the leaf and of the intermediate are fetched at the same time', async () => {
    waitFor = 2;
    delayMs = 0;
    maxInFlight = 0;
    try {
      const r = await checkRevocation(path(), null, ctx({}));
      assert.deepEqual(r.findings, []);
      assert.deepEqual(
        r.perCert.slice(0, 2).map((p) => p?.status),
        ['good', 'good'],
      );
      assert.equal(maxInFlight, 2, 'both CRL requests were in flight together');
    } finally {
      waitFor = 1;
    }
  });

  for (const kind of ['crl', 'ocsp'] as const)
    test(`${kind}: target A's deadline does not fail the shared fetch target B waits for, nor later ones`, async () => {
      delayMs = 700;
      const crlCache = new CrlCache({ timeoutMs: 5000, maxBytes: 1 << 20 });
      const ocspCache = new OcspCache();
      const shared = { sources: [kind], crlCache, ocspCache };
      const url = kind === 'crl' ? '/ica.crl' : '/ocsp';
      const before = hits[url] ?? 0;
      // A creates the single-flight entry with a 200 ms deadline; B joins it 50 ms later.
      const a = checkRevocation(
        [leaf.parsed, ica.parsed],
        null,
        ctx({ ...shared, signal: AbortSignal.timeout(200) }),
      );
      await sleep(50);
      const t0 = performance.now();
      const b = checkRevocation(
        [leaf.parsed, ica.parsed],
        null,
        ctx({ ...shared, signal: AbortSignal.timeout(5000) }),
      );
      const ra = await a;
      assert.ok(performance.now() - t0 < 600, 'A gave up at its own deadline');
      assert.equal(ra.perCert[0]?.status, 'unknown', JSON.stringify(ra.perCert[0]));
      assert.equal(ra.findings[0]?.code, 'revocation-unknown');
      const rb = await b;
      assert.equal(rb.perCert[0]?.status, 'good', JSON.stringify(rb.perCert[0]));
      assert.equal((hits[url] ?? 0) - before, 1, 'one fetch, shared');
      // With a fresh cache, C alone gives up: its fetch is cancelled and forgotten, not
      // remembered as a failure, so D (no deadline) fetches afresh and gets the answer.
      const fresh = {
        sources: [kind],
        crlCache: new CrlCache({ timeoutMs: 5000, maxBytes: 1 << 20 }),
        ocspCache: new OcspCache(),
      };
      const rc = await checkRevocation(
        [leaf.parsed, ica.parsed],
        null,
        ctx({ ...fresh, signal: AbortSignal.timeout(200) }),
      );
      assert.equal(rc.perCert[0]?.status, 'unknown');
      const rd = await checkRevocation([leaf.parsed, ica.parsed], null, ctx({ ...fresh }));
      assert.equal(rd.perCert[0]?.status, 'good', JSON.stringify(rd.perCert[0]));
      assert.equal((hits[url] ?? 0) - before, 3, 'C and D each fetched');
      // D's answer is now cached for everyone, whatever their deadline.
      const re = await checkRevocation(
        [leaf.parsed, ica.parsed],
        null,
        ctx({ ...fresh, signal: AbortSignal.timeout(100) }),
      );
      assert.equal(re.perCert[0]?.status, 'good');
      assert.equal((hits[url] ?? 0) - before, 3);
      delayMs = 0;
    });
});
