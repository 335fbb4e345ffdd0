/*
 * `--workers N` / the checker's `workers` option: TLS handshakes on worker threads, everything
 * else in the main thread. Same truth whatever N (the whole lab zoo, byte for byte apart from
 * timings), one CRL download per run however many workers, DNS through the caller's lookup,
 * prompt cancellation, and a lost worker fails its probes closed (error, never ok).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tls from 'node:tls';
import { createChecker, type DnsLookup } from '../src/index.js';
import { buildCrl } from '../src/lab/crlBuilder.js';
import { issue, privateKeyPem } from '../src/lab/pki.js';
import { type Lab, labTarget, startLab } from '../src/lab/zoo.js';
import type { TargetResult } from '../src/model/result.js';
import { probe } from '../src/probe/probe.js';
import { createProbePool } from '../src/probe/probePool.js';
import { runCli } from './support/cli.js';

/**
 * A result without what legitimately differs between two runs: timings, durations, when a
 * revocation answer was checked, and the lab OCSP responder's revocation time (it says "now").
 */
function comparable(r: TargetResult): unknown {
  const { durationMs: _d, timings: _t, ...rest } = r as TargetResult & { timings?: unknown };
  return JSON.parse(
    JSON.stringify(rest)
      .replace(/"(checkedAt|thisUpdate|nextUpdate|producedAt)":"[^"]*"/g, '"$1":"…"')
      .replace(/revoked at \d{4}-\d\d-\d\dT[\d:]+Z/g, 'revoked at …'),
  );
}

describe('--workers: the lab zoo gives the same results on 1 and on 3 threads', () => {
  let lab: Lab;
  let dir: string;
  before(async () => {
    lab = await startLab();
    dir = mkdtempSync(join(tmpdir(), 'certvet-workers-'));
    writeFileSync(join(dir, 'ca.pem'), lab.caPem);
    writeFileSync(join(dir, 'int.pem'), lab.intermediatesPem);
    writeFileSync(join(dir, 'client.pem'), lab.client.certPem);
    writeFileSync(join(dir, 'client.key'), lab.client.keyPem);
    writeFileSync(
      join(dir, 'targets.yaml'),
      `targets:\n${lab.endpoints.map((e) => `  - target: "${labTarget(e)}"\n    resolve: "${e.address}"`).join('\n')}\n`,
    );
  });
  after(async () => {
    await lab?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('same findings, chains, statuses and exit code; json in input order either way', async () => {
    const run = (workers: number) =>
      runCli([
        'check',
        '-f',
        join(dir, 'targets.yaml'),
        '--ca',
        join(dir, 'ca.pem'),
        '--client-cert',
        join(dir, 'client.pem'),
        '--client-key',
        join(dir, 'client.key'),
        '--format',
        'json',
        '--concurrency',
        '8',
        '--workers',
        String(workers),
      ]);
    const one = await run(1);
    const three = await run(3);
    assert.equal(three.code, one.code, three.stderr);
    const a = JSON.parse(one.stdout) as { results: TargetResult[]; summary: unknown };
    const b = JSON.parse(three.stdout) as { results: TargetResult[]; summary: unknown };
    assert.equal(a.results.length, lab.endpoints.length);
    assert.deepEqual(b.summary, a.summary);
    for (const [i, r] of a.results.entries())
      assert.deepEqual(comparable(b.results[i]!), comparable(r), r.target);
    // The zoo is not all good: the comparison covered failures too.
    assert.ok(a.results.some((r) => r.status === 'critical'));
    assert.ok(a.results.some((r) => r.status === 'ok'));
  });

  test('a bad --workers value is a usage error naming the flag', async () => {
    for (const bad of ['0', '-1', 'two', '257', '1.5']) {
      const r = await runCli(['check', '127.0.0.1:1', '--workers', bad]);
      assert.equal(r.code, 64, `--workers ${bad}: ${r.stderr}`);
      assert.match(r.stderr, /--workers/);
    }
    assert.throws(() => createChecker({ workers: 0 }), /workers/);
  });
});

describe('the probe pool', () => {
  const sockets = new Set<Socket>();
  let good: tls.Server;
  let goodPort: number;
  let silent: NetServer;
  let silentPort: number;
  let chainDer: Uint8Array[];
  let poolRootPem: string;
  before(async () => {
    const root = await issue({ subject: 'CN=Pool Root', ca: true });
    const leaf = await issue({
      subject: 'CN=pool.test',
      issuer: root,
      dns: ['pool.test'],
      ips: ['127.0.0.1'],
    });
    chainDer = [leaf.der, root.der];
    poolRootPem = root.pem;
    // The root is sent too, after the leaf: the chain as sent must survive the thread hop.
    good = tls.createServer({ key: await privateKeyPem(leaf.key), cert: leaf.pem + root.pem }, (s) =>
      s.end(),
    );
    good.on('tlsClientError', () => {});
    await new Promise<void>((r) => good.listen(0, '127.0.0.1', r));
    goodPort = (good.address() as { port: number }).port;
    silent = createNetServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as { port: number }).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => good.close(r));
    await new Promise((r) => silent.close(r));
  });

  test('probes run on the workers and give what the in-thread probe gives', async () => {
    const pool = createProbePool(3);
    try {
      const ca = [poolRootPem];
      const obs = await Promise.all(
        Array.from({ length: 24 }, () => pool.probe({ host: '127.0.0.1', port: goodPort, ca })),
      );
      const local = await probe({ host: '127.0.0.1', port: goodPort, ca });
      const stats = pool.stats();
      assert.equal(stats.workers.length, 2, 'both workers started under load');
      assert.ok(
        stats.workers.every((n) => n > 0),
        JSON.stringify(stats),
      );
      assert.equal(stats.mainThread + stats.workers.reduce((a, b) => a + b, 0), 24);
      for (const o of obs) {
        assert.equal(o.error, null);
        assert.deepEqual(
          o.certificates.map((c) => Buffer.from(c).toString('hex')),
          chainDer.map((c) => Buffer.from(c).toString('hex')),
        );
        assert.ok(o.certificates[0] instanceof Uint8Array);
        assert.equal(o.protocol, local.protocol);
        assert.deepEqual(o.crossCheck, local.crossCheck);
        assert.equal(o.crossCheck?.authorized, true, 'the anchors reached the worker');
        assert.equal(o.clientCert, local.clientCert);
      }
    } finally {
      await pool.close();
    }
  });

  test('names resolve through the main thread’s lookup; a failing lookup is dns-failed', async () => {
    const pool = createProbePool(2);
    try {
      const asked: string[] = [];
      const lookup = async (host: string) => {
        asked.push(host);
        if (host === 'missing.pool.test')
          throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
        return ['127.0.0.1'];
      };
      const busy = pool.probe({
        host: '127.0.0.1',
        port: silentPort,
        timeouts: { handshakeMs: 500, totalMs: 500 },
      });
      // The main-thread slot is busy, so these go to the worker.
      const [ok, missing] = await Promise.all([
        pool.probe({ host: 'pool.test', port: goodPort, lookup }),
        pool.probe({ host: 'missing.pool.test', port: goodPort, lookup }),
      ]);
      await busy;
      assert.ok(pool.stats().workers[0]! >= 1, JSON.stringify(pool.stats()));
      assert.equal(ok.error, null);
      assert.equal(ok.address, '127.0.0.1');
      assert.equal(missing.error?.code, 'dns-failed');
      assert.match(missing.error!.message, /missing\.pool\.test/);
      assert.deepEqual(asked.sort(), ['missing.pool.test', 'pool.test']);
    } finally {
      await pool.close();
    }
  });

  test('an abort reaches the worker: a hanging probe ends promptly with the reason', async () => {
    const pool = createProbePool(2);
    try {
      const ac = new AbortController();
      const hold = pool.probe({
        host: '127.0.0.1',
        port: silentPort,
        timeouts: { handshakeMs: 30_000, totalMs: 30_000 },
      });
      const onWorker = pool.probe({
        host: '127.0.0.1',
        port: silentPort,
        timeouts: { handshakeMs: 30_000, totalMs: 30_000 },
        signal: ac.signal,
      });
      const here = new AbortController();
      const inThread = probe({
        host: '127.0.0.1',
        port: silentPort,
        timeouts: { handshakeMs: 30_000, totalMs: 30_000 },
        signal: here.signal,
      });
      const t0 = performance.now();
      setTimeout(() => {
        ac.abort(new Error('operator stopped the scan'));
        here.abort(new Error('operator stopped the scan'));
      }, 200);
      const r = await onWorker;
      assert.ok(performance.now() - t0 < 3000, 'ended promptly');
      assert.equal(r.error?.code, 'timeout');
      assert.deepEqual(r.error, (await inThread).error, 'as the same probe in this thread ends');
      assert.equal(pool.stats().workers[0], 1);
      void hold;
    } finally {
      await pool.close();
    }
  });

  test('closing the pool lets a worker finish leaving its sessions (the goodbye is answered before the client ends)', async () => {
    // An smtps server that answers QUIT only after 300 ms: a worker stopped as soon as its
    // probe's result came back would end the session before that answer.
    const events: string[] = [];
    let connections = 0;
    const root = await issue({ subject: 'CN=Pool Leave Root', ca: true });
    const leaf = await issue({ subject: 'CN=127.0.0.1', issuer: root, ips: ['127.0.0.1'] });
    const slowQuit = tls.createServer({ key: await privateKeyPem(leaf.key), cert: leaf.pem }, (s) => {
      const id = connections++;
      s.on('error', () => {});
      s.write('220 slow.test ESMTP\r\n');
      let text = '';
      s.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (!text.includes('QUIT\r\n')) return;
        text = '';
        events.push(`${id}: QUIT`);
        setTimeout(() => {
          if (s.destroyed) return events.push(`${id}: gone before the answer`);
          s.write('221 Bye\r\n');
          events.push(`${id}: 221`);
        }, 300);
      });
      s.on('end', () => events.push(`${id}: client ended`));
    });
    await new Promise<void>((r) => slowQuit.listen(0, '127.0.0.1', r));
    const port = (slowQuit.address() as { port: number }).port;
    const pool = createProbePool(2);
    try {
      const o = { host: '127.0.0.1', port, protocolOverTls: 'smtp' as const, ca: [root.pem] };
      // Two at once: one in this thread, one on the worker.
      const [a, b] = await Promise.all([pool.probe(o), pool.probe(o)]);
      assert.equal(a.error, null);
      assert.equal(b.error, null);
      assert.equal(pool.stats().workers[0], 1, JSON.stringify(pool.stats()));
    } finally {
      await pool.close();
    }
    // The in-thread session is left by this thread, which goes on running: give it its answer.
    await new Promise((r) => setTimeout(r, 600));
    await new Promise((r) => slowQuit.close(r));
    for (const id of new Set(events.map((e) => e.split(':')[0]))) {
      const mine = events.filter((e) => e.startsWith(`${id}:`));
      assert.deepEqual(mine, [`${id}: QUIT`, `${id}: 221`, `${id}: client ended`], JSON.stringify(events));
    }
    assert.equal(events.filter((e) => e.endsWith('QUIT')).length, 2);
  });

  test('a worker that goes away fails its probes closed (handshake-failed, no certificates)', async () => {
    const pool = createProbePool(2);
    const hold = pool.probe({
      host: '127.0.0.1',
      port: silentPort,
      timeouts: { handshakeMs: 2000, totalMs: 2000 },
    });
    const lost = pool.probe({
      host: '127.0.0.1',
      port: silentPort,
      timeouts: { handshakeMs: 30_000, totalMs: 30_000 },
    });
    await new Promise((r) => setTimeout(r, 300));
    await pool.close();
    const r = await lost;
    assert.equal(r.error?.code, 'handshake-failed');
    assert.match(r.error!.message, /worker thread stopped/);
    assert.equal(r.certificates.length, 0);
    await hold;
  });
});

describe('workers share the main thread’s caches', () => {
  let http: HttpServer;
  let crlFetches = 0;
  const servers: tls.Server[] = [];
  const ports: number[] = [];
  let rootPem: string;
  let rootCrl: Buffer;
  before(async () => {
    let crl: Uint8Array = new Uint8Array();
    http = createHttpServer((req, res) => {
      if (req.url !== '/ica.crl') return void res.writeHead(404).end();
      crlFetches++;
      res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(Buffer.from(crl));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(http.address() as { port: number }).port}/ica.crl`;
    const root = await issue({ subject: 'CN=Cache Root', ca: true });
    const ica = await issue({ subject: 'CN=Cache Issuing CA', ca: true, issuer: root, pathLen: 0 });
    rootPem = root.pem;
    // Hard mode wants the issuing CA's status too: the root's CRL, supplied (no fetch).
    rootCrl = Buffer.from(await buildCrl({ issuer: root, entries: [] }));
    crl = await buildCrl({ issuer: ica, entries: [] });
    for (let i = 0; i < 6; i++) {
      const leaf = await issue({
        subject: `CN=e${i}.test`,
        issuer: ica,
        dns: [`e${i}.test`],
        ips: ['127.0.0.1'],
        crlUrls: [url],
      });
      const s = tls.createServer({ key: await privateKeyPem(leaf.key), cert: leaf.pem + ica.pem }, (c) =>
        c.end(),
      );
      s.on('tlsClientError', () => {});
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      servers.push(s);
      ports.push((s.address() as { port: number }).port);
    }
  });
  after(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    await new Promise((r) => http.close(r));
  });

  test('one CRL download for 24 checks on 3 threads; every leaf checked good', async () => {
    const lookup: DnsLookup = (_h, _o, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]);
    const checker = createChecker({
      ca: rootPem,
      crls: [rootCrl],
      workers: 3,
      revocation: 'hard',
      fetchAllow: ['127.0.0.1'],
      lookup,
    });
    const targets = Array.from({ length: 24 }, (_, i) => `127.0.0.1:${ports[i % ports.length]}`);
    const results: TargetResult[] = [];
    try {
      for await (const r of checker.scan(targets, { concurrency: 12 })) results.push(r);
    } finally {
      await checker.close();
    }
    assert.equal(results.length, 24);
    for (const r of results) {
      assert.equal(r.status, 'ok', JSON.stringify(r.findings));
      assert.equal(r.chain[0]?.revocation?.status, 'good');
    }
    assert.equal(crlFetches, 1);
  });
});
