/*
 * The service's scheduler, on a fake clock: the concurrency limit, never two checks of one
 * target at once, intervals with bounded jitter, exponential back-off of targets in error,
 * run-now, and a restart that spreads overdue targets instead of checking them all at once.
 * Also the /probe allow-list globs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { probeAllowList } from '../src/monitor/probeAllow.js';
import { backoffDelay, Scheduler } from '../src/monitor/scheduler.js';

const MIN = 60_000;

/** A scheduler whose checks end only when the test says so. */
function harness(o: { concurrency?: number; jitter?: number } = {}) {
  let t = 1_000_000_000;
  const pending = new Map<string, ((r: { error: boolean }) => void)[]>();
  const started: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const s = new Scheduler({
    concurrency: o.concurrency ?? 2,
    jitter: o.jitter ?? 0,
    now: () => t,
    random: () => 0.5,
    run: (id) =>
      new Promise((resolve) => {
        started.push(id);
        running++;
        maxRunning = Math.max(maxRunning, running);
        const list = pending.get(id) ?? [];
        list.push((r) => {
          running--;
          resolve(r);
        });
        pending.set(id, list);
      }),
  });
  const finish = async (id: string, error = false) => {
    const list = pending.get(id);
    assert.ok(list?.length, `${id} is running`);
    list.shift()!({ error });
    await new Promise((r) => setImmediate(r));
  };
  return {
    s,
    started,
    finish,
    advance: (ms: number) => {
      t += ms;
      s.poll();
    },
    now: () => t,
    maxRunning: () => maxRunning,
    running: () => running,
  };
}

describe('the scheduler', () => {
  test('new targets start within seconds, spread; the concurrency limit holds', async () => {
    const h = harness({ concurrency: 2 });
    for (const id of ['a', 'b', 'c', 'd']) h.s.upsert(id, 5 * MIN);
    h.s.start();
    assert.equal(h.started.length, 0, 'not all at once at start');
    h.advance(5000);
    assert.deepEqual(h.started.length, 2, 'two at a time');
    for (const id of [...h.started]) await h.finish(id);
    assert.equal(h.started.length, 4);
    assert.equal(h.maxRunning(), 2);
    for (const id of h.started.slice(2)) await h.finish(id);
    await h.s.stop();
  });

  test('never two checks of one target; the next run is an interval after the last ended', async () => {
    const h = harness({ concurrency: 4 });
    h.s.upsert('a', 5 * MIN);
    h.s.start();
    h.advance(5000);
    assert.deepEqual(h.started, ['a']);
    h.advance(20 * MIN);
    assert.deepEqual(h.started, ['a'], 'still running: not started again');
    await h.finish('a');
    const next = h.s.entry('a')!.nextRunAt;
    assert.equal(next, h.now() + 5 * MIN);
    h.advance(5 * MIN - 1);
    assert.equal(h.started.length, 1);
    h.advance(1);
    assert.equal(h.started.length, 2);
    await h.finish('a');
    await h.s.stop();
  });

  test('run-now joins a running check or starts one at once', async () => {
    const h = harness();
    h.s.upsert('a', 5 * MIN, { nextRunAt: h.now() + 4 * MIN, consecutiveErrors: 0 });
    h.s.start();
    const r = h.s.runNow('a');
    assert.deepEqual(h.started, ['a']);
    const again = h.s.runNow('a');
    assert.deepEqual(h.started, ['a'], 'joined, not doubled');
    await h.finish('a');
    assert.equal(await r, true);
    assert.equal(await again, true);
    assert.equal(await h.s.runNow('nope'), false);
    await h.s.stop();
  });

  test('targets in error back off exponentially, capped; one success resets', async () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(5 * MIN, n) / MIN),
      [5, 10, 20, 40, 60, 60, 60, 60],
    );
    assert.equal(backoffDelay(2 * 3600_000, 3), 2 * 3600_000, 'never shorter than the interval');
    const h = harness();
    h.s.upsert('a', 5 * MIN);
    h.s.start();
    h.advance(MIN);
    await h.finish('a', true);
    assert.equal(h.s.entry('a')!.consecutiveErrors, 1);
    assert.equal(h.s.entry('a')!.nextRunAt - h.now(), 5 * MIN);
    h.advance(5 * MIN);
    await h.finish('a', true);
    assert.equal(h.s.entry('a')!.nextRunAt - h.now(), 10 * MIN);
    h.advance(10 * MIN);
    await h.finish('a', false);
    assert.equal(h.s.entry('a')!.consecutiveErrors, 0);
    assert.equal(h.s.entry('a')!.nextRunAt - h.now(), 5 * MIN);
    await h.s.stop();
  });

  test('jitter stays within its fraction of the interval', async () => {
    for (const r of [0, 0.25, 0.999]) {
      let t = 0;
      const s = new Scheduler({
        concurrency: 1,
        jitter: 0.1,
        now: () => t,
        random: () => r,
        run: async () => ({ error: false }),
      });
      s.upsert('a', 10 * MIN);
      s.start();
      t += MIN;
      s.poll();
      await new Promise((x) => setImmediate(x));
      const d = s.entry('a')!.nextRunAt - t;
      assert.ok(d >= 9 * MIN && d <= 11 * MIN, `${d}`);
      await s.stop();
    }
  });

  test('a restart keeps future run times and spreads overdue ones (no thundering herd)', async () => {
    const h = harness({ concurrency: 100 });
    const now = h.now();
    for (let i = 0; i < 50; i++)
      h.s.upsert(`late${i}`, 5 * MIN, { nextRunAt: now - 10 * MIN, consecutiveErrors: 2 });
    h.s.upsert('future', 5 * MIN, { nextRunAt: now + 3 * MIN, consecutiveErrors: 0 });
    h.s.start();
    assert.equal(h.started.length, 0, 'nothing at the instant of the restart');
    assert.equal(h.s.entry('future')!.nextRunAt, now + 3 * MIN);
    assert.equal(h.s.entry('late0')!.consecutiveErrors, 2, 'the error streak survives');
    for (const id of [...Array(50).keys()].map((i) => `late${i}`)) {
      const at = h.s.entry(id)!.nextRunAt - now;
      assert.ok(at >= 0 && at <= MIN, `${id} within the first minute (${at})`);
    }
    await h.s.stop();
  });
});

describe('probe.allow', () => {
  test('globs match the whole target text; * stops at ":" and "/"', () => {
    const a = probeAllowList(['*.corp.example:*', 'smtp://mail.corp.example:587', '10.1.2.?:443']);
    for (const ok of [
      'api.corp.example:443',
      'API.Corp.Example:8443',
      'smtp://mail.corp.example:587',
      '10.1.2.7:443',
    ])
      assert.equal(a.allows(ok), true, ok);
    for (const no of [
      'api.corp.example',
      'evil.example/x.corp.example:443',
      'smtp://api.corp.example:25',
      'api.corp.example:443:1',
      'corp.example:443',
      '10.1.2.17:443',
      'x'.repeat(2000),
    ])
      assert.equal(a.allows(no), false, no);
    assert.equal(probeAllowList([]).allows('anything:443'), false, 'nothing is allowed by default');
    // A caller may not choose the account of a MySQL check's closing login: "@" must be spelt out.
    const db = probeAllowList(['mysql://*.corp.example', 'mysql://monitor@*.corp.example:*']);
    assert.equal(db.allows('mysql://db1.corp.example'), true);
    assert.equal(db.allows('mysql://root@db1.corp.example'), false);
    assert.equal(db.allows('mysql://monitor@db1.corp.example:3306'), true);
    assert.equal(db.allows('mysql://root@monitor@db1.corp.example:3306'), false);
  });
});
