/*
 * The monitor's core (src/monitor/service.ts) in process, over a real SQLite store and real TLS
 * handshakes with a server on 127.0.0.1: what it does when the store cannot write (the check is
 * still shown, exported and announced — never the previous, healthier state), and a reload that
 * keeps the check-duration histogram while the gauges take the new group labels. Also the
 * plan's checkers — groups with different trust, modules, /probe — share one set of answer
 * caches: a CRL served on loopback is fetched once between them, and again not after a reload.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { type Checker, createChecker } from '../src/check/checker.js';
import { CertvetOptionError } from '../src/check/errors.js';
import { buildServePlan } from '../src/cli/servePlan.js';
import { buildCrl } from '../src/lab/crlBuilder.js';
import { ocspRequestOf, ocspRespond } from '../src/lab/ocspResponder.js';
import { type IssuedCert, issue, privateKeyPem } from '../src/lab/pki.js';
import { loadConfig } from '../src/monitor/config.js';
import type { MonitorEvent, MonitoredTarget, Store } from '../src/monitor/model.js';
import { type EventSink, type MonitorPlan, startMonitor } from '../src/monitor/service.js';
import { openSqliteStore } from '../src/monitor/store/sqliteStore.js';
import { until } from './support/serveProcess.js';

const DAY = 86400_000;

describe('the monitor in process', () => {
  let dir: string;
  let root: IssuedCert;
  let good: IssuedCert;
  let expired: IssuedCert;
  let server: tls.Server;
  let port = 0;

  const contextOf = async (leaf: IssuedCert) => ({
    key: await privateKeyPem(leaf.key),
    cert: leaf.pem,
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-monitor-'));
    root = await issue({ subject: 'CN=Monitor Test Root', ca: true });
    good = await issue({ subject: 'CN=svc.test', issuer: root, dns: ['svc.test'], ips: ['127.0.0.1'] });
    expired = await issue({
      subject: 'CN=svc.test',
      issuer: root,
      dns: ['svc.test'],
      ips: ['127.0.0.1'],
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    server = tls.createServer(await contextOf(good), (s) => s.end());
    server.on('tlsClientError', () => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });

  after(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const planOf = (
    checker: Checker,
    labels: Record<string, string> = {},
    renotifySec: number | null = null,
  ): MonitorPlan => {
    const monitored: MonitoredTarget = {
      id: 'g/svc',
      group: 'g',
      target: `127.0.0.1:${port}`,
      intervalSec: 86400,
      labels,
      warnDays: 30,
      critDays: 7,
      renotifySec,
    };
    return {
      groups: [{ name: 'g', checker, targets: [{ monitored, input: `127.0.0.1:${port}` }] }],
      modules: new Map(),
      probeChecker: checker,
      probeAllow: [],
      concurrency: 4,
      jitter: 0,
      retentionDays: 30,
    };
  };

  /** The real store, with switches that make writes (a full disk) or reads (a broken file) fail. */
  const failingStore = (path: string) => {
    const real = openSqliteStore(path);
    const state = { fail: false, failReads: false };
    const store = {} as Record<string, unknown>;
    for (const k of Object.getOwnPropertyNames(Object.getPrototypeOf(real)))
      if (k !== 'constructor') {
        const f = (real as unknown as Record<string, unknown>)[k];
        if (typeof f === 'function') store[k] = f.bind(real);
      }
    store.recordCheck = (...a: Parameters<Store['recordCheck']>) => {
      if (state.fail) throw new Error('SQLITE_FULL: database or disk is full');
      return real.recordCheck(...a);
    };
    for (const k of ['lastCheck', 'lastCheckWithChain', 'keySeenBefore', 'statusSince'] as const) {
      const f = store[k] as (...a: unknown[]) => unknown;
      store[k] = (...a: unknown[]) => {
        if (state.failReads) throw new Error('SQLITE_CORRUPT: database disk image is malformed');
        return f(...a);
      };
    }
    return { store: store as unknown as Store, real, state };
  };

  test('a store that cannot write: the new status is shown, exported and announced, never the old one', async () => {
    await server.setSecureContext(await contextOf(good));
    const { store, real, state } = failingStore(join(dir, 'failing.db'));
    const announced: MonitorEvent[] = [];
    const notifier: EventSink = { notify: (events) => announced.push(...events) };
    const logs: string[] = [];
    const checker = createChecker({ ca: root.pem, revocation: 'off' });
    const monitor = startMonitor(planOf(checker), {
      store,
      notifier,
      random: () => 0,
      log: (l) => logs.push(l),
    });
    try {
      await until('the first check', () => monitor.target('g/svc')?.last);
      assert.equal(monitor.target('g/svc')!.last!.status, 'ok');

      server.setSecureContext(await contextOf(expired));
      state.fail = true;
      const failed = await monitor.runNow('g/svc');
      assert.equal(failed?.status, 'critical');
      assert.equal(failed?.id, 0, 'not stored');
      assert.equal(monitor.target('g/svc')!.last!.status, 'critical', 'the API shows the new status');
      assert.equal(real.lastCheck('g/svc')!.status, 'ok', 'the store still has the old one');
      const body = (await monitor.metrics()).body;
      assert.match(
        body,
        new RegExp(`certvet_target_status\\{target="127\\.0\\.0\\.1:${port}",group="g"\\} 2`),
      );
      assert.match(body, /certvet_store_errors_total 1\b/);
      assert.ok(
        body.includes(`certvet_cert_days_remaining{target="127.0.0.1:${port}",group="g",index="0"`),
        'the certificate series are those of the new check',
      );
      assert.deepEqual(
        announced.map((e) => [e.type, e.oldStatus, e.newStatus, e.id]),
        [
          ['status-changed', 'ok', 'critical', 0],
          ['rotated', 'ok', 'critical', 0],
          ['expiry-threshold', 'ok', 'critical', 0],
        ],
        'the changes are announced though they could not be stored',
      );
      assert.ok(logs.some((l) => /could not store the check of 127\.0\.0\.1:\d+: SQLITE_FULL/.test(l)));

      // The store comes back: the next check is stored, and compared with the one in memory.
      state.fail = false;
      const stored = await monitor.runNow('g/svc');
      assert.ok(stored && stored.id > 0 && stored.status === 'critical');
      assert.equal(real.lastCheck('g/svc')!.status, 'critical');
      assert.equal(announced.length, 3, 'nothing announced twice for the same change');
    } finally {
      await monitor.stop({ flushMs: 100 });
      await checker.close();
    }
  });

  test('a store that cannot be read: the change is still announced, from memory', async () => {
    await server.setSecureContext(await contextOf(good));
    const { store, real, state } = failingStore(join(dir, 'unreadable.db'));
    const announced: MonitorEvent[] = [];
    const logs: string[] = [];
    const checker = createChecker({ ca: root.pem, revocation: 'off' });
    const monitor = startMonitor(planOf(checker), {
      store,
      notifier: { notify: (events) => announced.push(...events) },
      random: () => 0,
      log: (l) => logs.push(l),
    });
    try {
      await until('the first check', () => monitor.target('g/svc')?.last);
      server.setSecureContext(await contextOf(expired));
      state.failReads = true;
      const r = await monitor.runNow('g/svc');
      assert.equal(r?.status, 'critical');
      assert.ok(r!.id > 0, 'the write still worked');
      assert.deepEqual(
        announced.map((e) => e.type),
        ['status-changed', 'rotated', 'expiry-threshold'],
      );
      assert.ok(announced.every((e) => e.id > 0));
      assert.equal(real.lastCheck('g/svc')?.status, 'critical');
      assert.ok(
        logs.some((l) => /could not read the store .*events from memory only.*SQLITE_CORRUPT/.test(l)),
      );
      assert.match((await monitor.metrics()).body, /certvet_store_errors_total 1\b/);
    } finally {
      await monitor.stop({ flushMs: 100 });
      await checker.close();
    }
  });

  test('while the store cannot write, a reminder goes out once per renotify interval, not at every check', async () => {
    await server.setSecureContext(await contextOf(good));
    const { store, state } = failingStore(join(dir, 'reminders.db'));
    const announced: MonitorEvent[] = [];
    let clock = Date.now();
    const checker = createChecker({ ca: root.pem, revocation: 'off' });
    const monitor = startMonitor(planOf(checker, {}, 60), {
      store,
      notifier: { notify: (events) => announced.push(...events) },
      random: () => 0,
      now: () => clock,
    });
    const at = async (secondsLater: number) => {
      clock += secondsLater * 1000;
      await monitor.runNow('g/svc');
      return announced.splice(0).map((e) => e.type);
    };
    try {
      await until('the first check', () => monitor.target('g/svc')?.last);
      announced.length = 0;
      server.setSecureContext(await contextOf(expired));
      state.fail = true;
      assert.deepEqual(await at(1), ['status-changed', 'rotated', 'expiry-threshold']);
      assert.deepEqual(await at(30), []);
      assert.deepEqual(await at(30), ['reminder'], '60 s after the change');
      assert.deepEqual(await at(1), [], 'the unstored reminder is remembered');
      assert.deepEqual(await at(30), []);
      assert.deepEqual(await at(30), ['reminder']);
    } finally {
      await monitor.stop({ flushMs: 100 });
      await checker.close();
    }
  });

  test('a reload keeps the check-duration histogram; the gauges take the new labels', async () => {
    await server.setSecureContext(await contextOf(good));
    const checker = createChecker({ ca: root.pem, revocation: 'off' });
    const monitor = startMonitor(planOf(checker), {
      store: openSqliteStore(join(dir, 'reload.db')),
      random: () => 0,
    });
    try {
      await until('the first check', () => monitor.target('g/svc')?.last);
      await monitor.runNow('g/svc');
      const count = (body: string) =>
        Number(
          new RegExp(
            `certvet_check_duration_seconds_count\\{target="127\\.0\\.0\\.1:${port}",group="g"\\} (\\d+)`,
          ).exec(body)?.[1],
        );
      assert.equal(count((await monitor.metrics()).body), 2);
      monitor.reload(planOf(checker, { env: 'prod' }));
      const body = (await monitor.metrics()).body;
      assert.equal(count(body), 2, 'the histogram kept its observations');
      assert.match(body, /certvet_target_status\{target="127\.0\.0\.1:\d+",group="g",label_env="prod"\} 0/);
      await monitor.runNow('g/svc');
      assert.equal(count((await monitor.metrics()).body), 3);
    } finally {
      await monitor.stop({ flushMs: 100 });
    }
  });

  test('groups with different trust share one CRL download, also across a reload', async () => {
    let fetches = 0;
    const crlServer = createHttpServer((req, res) => {
      fetches++;
      if (req.url !== '/root.crl') return void res.writeHead(404).end();
      void buildCrl({ issuer: root, entries: [] }).then((der) =>
        res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(Buffer.from(der)),
      );
    });
    await new Promise<void>((r) => crlServer.listen(0, '127.0.0.1', r));
    const crlUrl = `http://127.0.0.1:${(crlServer.address() as { port: number }).port}/root.crl`;
    const withCdp = await issue({
      subject: 'CN=svc.test',
      issuer: root,
      dns: ['svc.test'],
      ips: ['127.0.0.1'],
      crlUrls: [crlUrl],
    });
    await server.setSecureContext(await contextOf(withCdp));
    const other = await issue({ subject: 'CN=Another Root', ca: true });
    writeFileSync(join(dir, 'root.pem'), root.pem);
    writeFileSync(join(dir, 'both.pem'), root.pem + other.pem);
    writeFileSync(join(dir, 'other.pem'), other.pem);
    const target = `127.0.0.1:${port}`;
    writeFileSync(
      join(dir, 'shared.yaml'),
      `defaults: { revocation: hard }
groups:
  - { name: a, ca: root.pem, targets: ["${target}"] }
  - { name: b, ca: both.pem, warnDays: 10, critDays: 2, targets: ["${target}"] }
  - { name: c, ca: other.pem, targets: ["${target}"] }
modules: { m: { ca: root.pem } }
`,
    );
    const config = loadConfig(join(dir, 'shared.yaml'));
    const plan = await buildServePlan(config);
    const reloaded = await buildServePlan(config, { cachesFrom: plan.probeChecker });
    try {
      for (const g of plan.groups.slice(0, 2)) {
        const r = await g.checker.check(g.targets[0]!.input);
        assert.equal(r.status, 'ok', JSON.stringify(r.findings));
        assert.equal(r.chain[0]?.revocation?.status, 'good', `group ${g.name}: the CRL was used`);
      }
      // A group that does not trust the issuer gets nothing from the shared cache but bytes.
      const c = await plan.groups[2]!.checker.check(target);
      assert.equal(c.status, 'critical');
      assert.ok(c.findings.some((f) => f.code === 'untrusted'));
      assert.equal((await plan.modules.get('m')!.check(target)).status, 'ok');
      assert.equal(fetches, 1, 'one CRL download for two groups and a module');
      assert.equal((await reloaded.groups[1]!.checker.check(target)).status, 'ok');
      assert.equal(fetches, 1, 'and none after a reload');
      // A plan built afresh has caches of its own.
      const fresh = await buildServePlan(config);
      assert.equal((await fresh.groups[0]!.checker.check(target)).status, 'ok');
      assert.equal(fetches, 2);
      for (const g of fresh.groups) await g.checker.close();
    } finally {
      for (const p of [plan, reloaded])
        for (const c of [...p.groups.map((g) => g.checker), ...p.modules.values(), p.probeChecker])
          await c.close();
      await new Promise((r) => crlServer.close(r));
    }
    // Fetch settings belong to the checker that made the caches, and so do what judged the answers.
    const lookup = (() => {}) as unknown as NonNullable<Parameters<typeof createChecker>[0]>['lookup'];
    const base = createChecker({ ca: root.pem, lookup });
    const refused = (o: Parameters<typeof createChecker>[0], option: string) =>
      assert.throws(
        () => createChecker({ ca: root.pem, shareCachesWith: base, ...o }),
        (e: unknown) => e instanceof CertvetOptionError && e.message.includes(option),
        option,
      );
    refused({ fetchTimeout: '2s' }, 'fetchTimeout');
    refused({ fetchDeny: ['10.0.0.0/8'] }, 'fetchDeny');
    refused({ caches: { crl: { maxEntries: 1 } } }, 'caches');
    refused({ lookup: (() => {}) as unknown as typeof lookup }, 'lookup');
    refused({ ocspNonce: true }, 'ocspNonce');
    refused({ at: new Date(0) }, 'at');
    await createChecker({ ca: other.pem, shareCachesWith: base, lookup }).close();
    assert.throws(
      () => createChecker({ shareCachesWith: {} as Checker }),
      (e: unknown) => e instanceof CertvetOptionError && /shareCachesWith/.test(e.message),
    );
  });

  test("a checker sharing caches fetches OCSP with the sharing checker's policy", async () => {
    let asked = 0;
    const responder = createHttpServer((req, res) => {
      asked++;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const request = ocspRequestOf(req.method, req.url ?? '/', Buffer.concat(chunks));
        void ocspRespond(request, { signer: root, statusOf: () => 'good' }).then((der) =>
          res.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(Buffer.from(der)),
        );
      });
    });
    await new Promise<void>((r) => responder.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(responder.address() as { port: number }).port}/`;
    const leaf = await issue({
      subject: 'CN=svc.test',
      issuer: root,
      dns: ['svc.test'],
      ips: ['127.0.0.1'],
      aiaOcsp: [url],
    });
    await server.setSecureContext(await contextOf(leaf));
    const target = `127.0.0.1:${port}`;
    // The maker of the caches may not fetch from loopback: neither may a checker sharing them.
    const strict = createChecker({ ca: root.pem, revocation: 'hard', fetchDeny: ['127.0.0.0/8'] });
    const sharing = createChecker({ ca: root.pem, revocation: 'hard', shareCachesWith: strict });
    const open = createChecker({ ca: root.pem, revocation: 'hard' });
    try {
      const r = await sharing.check(target);
      assert.equal(asked, 0, 'nothing fetched against the policy');
      assert.equal(r.status, 'critical');
      assert.ok(
        r.findings.some((f) => f.code === 'revocation-unknown'),
        JSON.stringify(r.findings),
      );
      assert.equal((await open.check(target)).status, 'ok', 'the responder itself answers');
      assert.equal(asked, 1);
    } finally {
      for (const c of [strict, sharing, open]) await c.close();
      await new Promise((r) => responder.close(r));
    }
  });
});
