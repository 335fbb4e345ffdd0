/*
 * The monitor's core (src/monitor/service.ts) in process, over a real SQLite store and real TLS
 * handshakes with a server on 127.0.0.1: what it does when the store cannot write (the check is
 * still shown, exported and announced — never the previous, healthier state), and a reload that
 * keeps the check-duration histogram while the gauges take the new group labels.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { type Checker, createChecker } from '../src/check/checker.js';
import { type IssuedCert, issue, privateKeyPem } from '../src/lab/pki.js';
import type { MonitorEvent, MonitoredTarget, Store } from '../src/monitor/model.js';
import { type EventSink, type MonitorPlan, startMonitor } from '../src/monitor/service.js';
import { openSqliteStore } from '../src/monitor/store/sqliteStore.js';

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

  const planOf = (checker: Checker, labels: Record<string, string> = {}): MonitorPlan => {
    const monitored: MonitoredTarget = {
      id: 'g/svc',
      group: 'g',
      target: `127.0.0.1:${port}`,
      intervalSec: 86400,
      labels,
      warnDays: 30,
      critDays: 7,
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

  /** The real store, with a switch that makes recordCheck fail as a full disk would. */
  const failingStore = (path: string) => {
    const real = openSqliteStore(path);
    const state = { fail: false };
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
    return { store: store as unknown as Store, real, state };
  };

  const until = async <T>(what: string, f: () => T | null | undefined, ms = 10_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = f();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
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
      assert.match(body, /certvet_store_write_errors_total 1\b/);
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
});
