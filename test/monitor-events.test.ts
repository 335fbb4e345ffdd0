/**
 * The monitor's change-event detector over a real SQLite store (for key reuse and the last
 * check that received a chain): first checks, threshold crossings with the check's own time,
 * rotations, issuer and chain changes (a cross-signed intermediate), key reuse, revocation,
 * and outages (no certificate received: no rotation, and the comparison across the outage).
 * Results come from real certificates judged by the check pipeline (monitorFixtures.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type IssuedCert, issue, type LabChain, makeChain } from '../src/lab/pki.js';
import type { TargetResult } from '../src/model/result.js';
import { detectEvents, type EventStore } from '../src/monitor/events.js';
import type { MonitorEvent, MonitoredTarget } from '../src/monitor/model.js';
import { openSqliteStore, type SqliteStore } from '../src/monitor/store/sqliteStore.js';
import { DAY, monitored, resultOf, unreachable } from './support/monitorFixtures.js';

// Now (to the second): the lab CAs are valid from a day before the real clock.
const T0 = Math.floor(Date.now() / 1000) * 1000;
let dir: string;
let n = 0;
let pki: LabChain;
let otherCa: IssuedCert;
let root2: IssuedCert;
let crossSigned: IssuedCert;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certvet-events-'));
  pki = await makeChain({ leaf: { notBefore: new Date(T0 - DAY), notAfter: new Date(T0 + 200 * DAY) } });
  otherCa = await issue({ subject: 'CN=Other Issuing CA,O=Elsewhere', ca: true, issuer: pki.root });
  root2 = await issue({ subject: 'CN=Second Root,O=certvet', ca: true });
  // The same intermediate (subject and key) certified by another root: leaves still chain to it.
  crossSigned = await issue({
    subject: pki.intermediate.subject,
    key: pki.intermediate.key,
    ca: true,
    pathLen: 0,
    issuer: root2,
  });
});
after(() => rmSync(dir, { recursive: true, force: true }));

function leafFor(o: { days: number; issuer?: IssuedCert; key?: IssuedCert['key']; org?: string }) {
  return issue({
    subject: `CN=localhost,O=${o.org ?? 'Leaf'}`,
    issuer: o.issuer ?? pki.intermediate,
    dns: ['localhost'],
    notBefore: new Date(T0 - DAY),
    notAfter: new Date(T0 + o.days * DAY),
    ...(o.key ? { key: o.key } : {}),
  });
}

/** One scheduler step: detect against the store's last check, then record. */
class Monitor {
  readonly store: SqliteStore;
  constructor(readonly target: MonitoredTarget = monitored('web.test:443')) {
    this.store = openSqliteStore(join(dir, `events-${++n}.db`));
  }
  step(result: TargetResult, at: number, store: EventStore = this.store): MonitorEvent[] {
    const events = detectEvents(this.target, this.store.lastCheck(this.target.id), result, at, store);
    for (const e of events) {
      assert.equal(e.id, 0);
      assert.equal(e.at, at);
      assert.equal(e.targetId, this.target.id);
      assert.equal(e.newStatus, result.status);
      assert.match(e.message, /^[A-Z0-9a-z].*\.$/s, 'a sentence');
    }
    return this.store.recordCheck(this.target, result, at, events).events;
  }
  check(sent: readonly IssuedCert[], at: number, o: { revoked?: number[]; anchors?: IssuedCert[] } = {}) {
    return this.step(
      resultOf(this.target, {
        sent,
        anchors: o.anchors ?? [pki.root],
        at,
        ...(o.revoked ? { revoked: o.revoked } : {}),
      }),
      at,
    );
  }
  close() {
    this.store.close();
  }
}

const types = (events: readonly MonitorEvent[]) => events.map((e) => e.type);

/** The message names the certificate (subject and serial) and a date. */
function namesCert(e: MonitorEvent, c: IssuedCert) {
  assert.ok(e.message.includes(c.parsed.subject.text), e.message);
  assert.ok(e.message.includes(c.parsed.serialHex), e.message);
  assert.match(e.message, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
}

describe('first check', () => {
  test('a healthy first check raises nothing; no status-changed when the first status is ok', () => {
    const m = new Monitor();
    assert.deepEqual(m.check([pki.leaf, pki.intermediate], T0), []);
    assert.deepEqual(m.check([pki.leaf, pki.intermediate], T0 + 60_000), []);
    m.close();
  });

  test('first seen inside a threshold: one expiry-threshold, once', async () => {
    const m = new Monitor();
    const leaf = await leafFor({ days: 20 });
    const first = m.check([leaf, pki.intermediate], T0);
    assert.deepEqual(types(first), ['status-changed', 'expiry-threshold']);
    assert.equal(first[0]!.oldStatus, null);
    assert.match(
      first[0]!.message,
      /^web\.test:443 is warning at its first check; it serves O=Leaf,CN=localhost .*: the leaf certificate/,
    );
    const e = first[1]!;
    assert.equal(e.oldStatus, null);
    assert.equal(e.newStatus, 'warning');
    assert.deepEqual(e.certificates, [leaf.parsed.sha256]);
    assert.match(
      e.message,
      /^The leaf certificate of web\.test:443, .* expires on .*, in 20 days: inside the warning threshold of 30 days\.$/,
    );
    namesCert(e, leaf);
    assert.deepEqual(m.check([leaf, pki.intermediate], T0 + DAY), [], 'still inside: not again');
    m.close();
  });
});

describe('thresholds over time', () => {
  test('warning, then critical (with the status change), then expired, each once', async () => {
    const m = new Monitor();
    const leaf = await leafFor({ days: 40 });
    assert.deepEqual(m.check([leaf, pki.intermediate], T0), []);
    const warn = m.check([leaf, pki.intermediate], T0 + 15 * DAY);
    assert.deepEqual(types(warn), ['status-changed', 'expiry-threshold']);
    assert.match(
      warn[0]!.message,
      /^web\.test:443 changed from ok to warning; it serves O=Leaf,CN=localhost \(serial/,
    );
    assert.match(warn[1]!.message, /warning threshold of 30 days/);
    assert.deepEqual(m.check([leaf, pki.intermediate], T0 + 20 * DAY), []);
    const crit = m.check([leaf, pki.intermediate], T0 + 34 * DAY);
    assert.deepEqual(types(crit), ['status-changed', 'expiry-threshold']);
    assert.equal(crit[0]!.oldStatus, 'warning');
    assert.equal(crit[0]!.newStatus, 'critical');
    assert.match(crit[1]!.message, /in 6 days: inside the critical threshold of 7 days\.$/);
    namesCert(crit[1]!, leaf);
    assert.deepEqual(m.check([leaf, pki.intermediate], T0 + 35 * DAY), []);
    const expired = m.check([leaf, pki.intermediate], T0 + 41 * DAY);
    assert.deepEqual(types(expired), ['expiry-threshold'], 'critical before and after: no status change');
    assert.match(expired[0]!.message, /expired on /);
    m.close();
  });

  test('a jump straight from ok to critical raises one event; the check time, not the clock, counts', async () => {
    const m = new Monitor(monitored('web.test:443', { warnDays: 10, critDays: 3 }));
    const leaf = await leafFor({ days: 12 });
    assert.deepEqual(m.check([leaf, pki.intermediate], T0), []);
    const jump = m.check([leaf, pki.intermediate], T0 + 10 * DAY);
    assert.deepEqual(types(jump), ['status-changed', 'expiry-threshold']);
    assert.match(jump[1]!.message, /in 2 days: inside the critical threshold of 3 days\./);
    m.close();
  });

  test('an intermediate crossing a threshold is named as such', async () => {
    const m = new Monitor();
    const shortCa = await issue({
      subject: 'CN=Short-lived Intermediate',
      ca: true,
      issuer: pki.root,
      notBefore: new Date(T0 - DAY),
      notAfter: new Date(T0 + 50 * DAY),
    });
    const leaf = await leafFor({ days: 45, issuer: shortCa });
    assert.deepEqual(m.check([leaf, shortCa], T0), []);
    const e = m.check([leaf, shortCa], T0 + 25 * DAY);
    assert.deepEqual(types(e), ['status-changed', 'expiry-threshold', 'expiry-threshold']);
    assert.match(e[2]!.message, /^Intermediate #1 of web\.test:443, CN=Short-lived Intermediate/i);
    assert.deepEqual(e[2]!.certificates, [shortCa.parsed.sha256]);
    m.close();
  });
});

describe('certificate changes', () => {
  test('rotated: old and new leaf named; same issuer, so no issuer-changed', async () => {
    const m = new Monitor();
    const next = await leafFor({ days: 200, org: 'Next' });
    m.check([pki.leaf, pki.intermediate], T0);
    const e = m.check([next, pki.intermediate], T0 + DAY);
    assert.deepEqual(types(e), ['rotated']);
    assert.deepEqual(e[0]!.certificates, [pki.leaf.parsed.sha256, next.parsed.sha256]);
    namesCert(e[0]!, next);
    namesCert(e[0]!, pki.leaf);
    assert.match(e[0]!.message, /^web\.test:443 now serves O=Next,CN=localhost .* instead of CN=localhost/);
    m.close();
  });

  test('issuer-changed beside rotated when the new leaf has another issuer', async () => {
    const m = new Monitor();
    const elsewhere = await leafFor({ days: 200, issuer: otherCa, org: 'Elsewhere' });
    m.check([pki.leaf, pki.intermediate], T0);
    const e = m.check([elsewhere, otherCa], T0 + DAY);
    assert.deepEqual(types(e), ['rotated', 'issuer-changed']);
    assert.ok(
      e[1]!.message.includes(
        'now issued by O=Elsewhere,CN=Other Issuing CA instead of O=certvet,CN=certvet Test Intermediate',
      ),
    );
    namesCert(e[1]!, elsewhere);
    m.close();
  });

  test('chain-changed: the same leaf through a cross-signed intermediate', () => {
    const m = new Monitor();
    const anchors = [pki.root, root2];
    m.check([pki.leaf, pki.intermediate], T0, { anchors });
    const e = m.check([pki.leaf, crossSigned], T0 + DAY, { anchors: [root2] });
    assert.deepEqual(types(e), ['chain-changed']);
    assert.equal(e[0]!.certificates[0], pki.leaf.parsed.sha256);
    assert.ok(e[0]!.certificates.includes(crossSigned.parsed.sha256));
    assert.ok(e[0]!.certificates.includes(pki.intermediate.parsed.sha256));
    assert.ok(e[0]!.certificates.includes(root2.parsed.sha256));
    namesCert(e[0]!, pki.leaf);
    assert.ok(e[0]!.message.includes('O=certvet,CN=Second Root'), e[0]!.message);
    m.close();
  });

  test('key-reused: a new leaf with a key the inventory knows from another certificate', async () => {
    const m = new Monitor();
    const sameKey = await leafFor({ days: 200, key: pki.leaf.key, org: 'Same Key' });
    const freshKey = await leafFor({ days: 200, org: 'Fresh Key' });
    m.check([pki.leaf, pki.intermediate], T0);
    const reuse = m.check([sameKey, pki.intermediate], T0 + DAY);
    assert.deepEqual(types(reuse), ['rotated', 'key-reused']);
    assert.deepEqual(reuse[1]!.certificates, [sameKey.parsed.sha256]);
    assert.ok(reuse[1]!.message.includes(sameKey.parsed.sha256) === false);
    assert.ok(reuse[1]!.message.includes('public key (SPKI SHA-256'), reuse[1]!.message);
    namesCert(reuse[1]!, sameKey);
    assert.deepEqual(m.check([sameKey, pki.intermediate], T0 + 2 * DAY), [], 'not a new leaf any more');
    assert.deepEqual(types(m.check([freshKey, pki.intermediate], T0 + 3 * DAY)), ['rotated']);
    m.close();
  });

  test('key-reused on a first check when another target already served that key', async () => {
    const a = new Monitor(monitored('a.test:443'));
    const sameKey = await leafFor({ days: 200, key: pki.leaf.key, org: 'Shared Key' });
    a.check([pki.leaf, pki.intermediate], T0);
    const b = { target: monitored('b.test:443') };
    const result = resultOf(b.target, { sent: [sameKey, pki.intermediate], anchors: [pki.root], at: T0 });
    const events = detectEvents(b.target, null, result, T0, a.store);
    assert.deepEqual(types(events), ['key-reused']);
    a.close();
  });
});

describe('revocation', () => {
  test('revoked once when it appears, on a first check too; not again while it stays', () => {
    const m = new Monitor();
    assert.deepEqual(m.check([pki.leaf, pki.intermediate], T0), []);
    const e = m.check([pki.leaf, pki.intermediate], T0 + DAY, { revoked: [0] });
    assert.deepEqual(types(e), ['status-changed', 'revoked']);
    assert.equal(e[0]!.newStatus, 'critical');
    assert.match(e[1]!.message, /^The leaf certificate of web\.test:443, .* is revoked: .*keyCompromise/);
    namesCert(e[1]!, pki.leaf);
    assert.deepEqual(m.check([pki.leaf, pki.intermediate], T0 + 2 * DAY, { revoked: [0] }), []);
    const inter = m.check([pki.leaf, pki.intermediate], T0 + 3 * DAY, { revoked: [0, 1] });
    assert.deepEqual(types(inter), ['revoked']);
    assert.deepEqual(inter[0]!.certificates, [pki.intermediate.parsed.sha256]);
    m.close();
    const first = new Monitor();
    assert.deepEqual(types(first.check([pki.leaf, pki.intermediate], T0, { revoked: [0] })), [
      'status-changed',
      'revoked',
    ]);
    first.close();
  });
});

describe('outages', () => {
  test('no certificate received: only status-changed; the comparison resumes against the last chain', async () => {
    const m = new Monitor();
    const next = await leafFor({ days: 200, org: 'After Outage' });
    m.check([pki.leaf, pki.intermediate], T0);
    const down = m.step(unreachable(m.target, T0 + DAY), T0 + DAY);
    assert.deepEqual(types(down), ['status-changed']);
    assert.equal(down[0]!.oldStatus, 'ok');
    assert.equal(down[0]!.newStatus, 'error');
    assert.deepEqual(down[0]!.certificates, []);
    assert.match(
      down[0]!.message,
      /^web\.test:443 changed from ok to error; no certificate was received: connect ECONNREFUSED/,
    );
    assert.deepEqual(m.step(unreachable(m.target, T0 + 2 * DAY), T0 + 2 * DAY), []);
    const back = m.check([next, pki.intermediate], T0 + 3 * DAY);
    assert.deepEqual(types(back), ['status-changed', 'rotated']);
    assert.deepEqual(back[1]!.certificates, [pki.leaf.parsed.sha256, next.parsed.sha256]);
    m.step(unreachable(m.target, T0 + 4 * DAY), T0 + 4 * DAY);
    assert.deepEqual(
      types(m.check([next, pki.intermediate], T0 + 5 * DAY)),
      ['status-changed'],
      'same leaf: no rotation',
    );
    m.close();
  });

  test('a store without lastCheckWithChain: certificate comparisons after an outage are skipped', async () => {
    const m = new Monitor();
    const next = await leafFor({ days: 200, org: 'Unseen' });
    m.check([pki.leaf, pki.intermediate], T0);
    m.step(unreachable(m.target, T0 + DAY), T0 + DAY);
    const plain: EventStore = { keySeenBefore: (a, b) => m.store.keySeenBefore(a, b) };
    const back = m.step(
      resultOf(m.target, { sent: [next, pki.intermediate], anchors: [pki.root], at: T0 + 2 * DAY }),
      T0 + 2 * DAY,
      plain,
    );
    assert.deepEqual(types(back), ['status-changed']);
    m.close();
  });
});

describe('reminders (renotify)', () => {
  const HOUR = 3600_000;
  test('an ongoing problem is announced again every renotifySec, counted from the status change', () => {
    const m = new Monitor(monitored('web.test:443', { renotifySec: 6 * 3600 }));
    m.check([pki.leaf, pki.intermediate], T0);
    const down = m.step(unreachable(m.target, T0 + HOUR), T0 + HOUR);
    assert.deepEqual(types(down), ['status-changed']);
    // Checks every hour: nothing until six hours after the change.
    for (let h = 2; h < 7; h++)
      assert.deepEqual(m.step(unreachable(m.target, T0 + h * HOUR), T0 + h * HOUR), [], `hour ${h}`);
    const first = m.step(unreachable(m.target, T0 + 7 * HOUR), T0 + 7 * HOUR);
    assert.deepEqual(types(first), ['reminder']);
    assert.equal(first[0]!.oldStatus, 'error');
    assert.equal(first[0]!.newStatus, 'error');
    assert.match(
      first[0]!.message,
      /^web\.test:443 has been in error \(it could not be checked\) since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(6 hours\): connect ECONNREFUSED/,
    );
    // The next one six hours after the last reminder, not after the change.
    for (let h = 8; h < 13; h++)
      assert.deepEqual(m.step(unreachable(m.target, T0 + h * HOUR), T0 + h * HOUR), [], `hour ${h}`);
    const second = m.step(unreachable(m.target, T0 + 13 * HOUR), T0 + 13 * HOUR);
    assert.deepEqual(types(second), ['reminder']);
    assert.match(second[0]!.message, /\(12 hours\)/);
    // Recovery: a status change, and no reminder while ok.
    assert.deepEqual(types(m.check([pki.leaf, pki.intermediate], T0 + 14 * HOUR)), ['status-changed']);
    assert.deepEqual(m.check([pki.leaf, pki.intermediate], T0 + 40 * HOUR), []);
    m.close();
  });

  test('a target bad from its first check is announced then, and reminded a day later', async () => {
    const m = new Monitor(monitored('web.test:443', { renotifySec: 86400 }));
    const soon = await leafFor({ days: 3, org: 'Soon' });
    const first = m.check([soon, pki.intermediate], T0);
    assert.deepEqual(types(first), ['status-changed', 'expiry-threshold']);
    assert.equal(first[0]!.newStatus, 'critical');
    assert.deepEqual(m.check([soon, pki.intermediate], T0 + DAY - 1000), []);
    const r = m.check([soon, pki.intermediate], T0 + DAY);
    assert.deepEqual(types(r), ['reminder']);
    namesCert(r[0]!, soon);
    assert.match(r[0]!.message, /has been critical since .* \(1 day\); it serves .*: the leaf certificate/);
    assert.deepEqual(r[0]!.certificates, [soon.parsed.sha256]);
    m.close();
  });

  test('without renotifySec, or with a store that cannot say since when, no reminder', () => {
    for (const renotifySec of [undefined, null, 0]) {
      const m = new Monitor(monitored('web.test:443', renotifySec === undefined ? {} : { renotifySec }));
      m.step(unreachable(m.target, T0), T0);
      for (let d = 1; d < 5; d++)
        assert.deepEqual(m.step(unreachable(m.target, T0 + d * DAY), T0 + d * DAY), []);
      m.close();
    }
    const m = new Monitor(monitored('web.test:443', { renotifySec: 60 }));
    m.step(unreachable(m.target, T0), T0);
    const plain: EventStore = { keySeenBefore: () => false };
    assert.deepEqual(m.step(unreachable(m.target, T0 + DAY), T0 + DAY, plain), []);
    assert.deepEqual(types(m.step(unreachable(m.target, T0 + 2 * DAY), T0 + 2 * DAY)), ['reminder']);
    m.close();
  });

  test('retention keeps what dates the status: a reminder after the history is pruned still says since when', () => {
    const m = new Monitor(monitored('web.test:443', { renotifySec: 7 * 86400 }));
    m.check([pki.leaf, pki.intermediate], T0);
    m.step(unreachable(m.target, T0 + DAY), T0 + DAY); // status-changed
    for (let d = 2; d <= 5; d++) m.step(unreachable(m.target, T0 + d * DAY), T0 + d * DAY);
    // Three days of retention, pruned on day 6: the change (day 1) is older than that.
    assert.ok(m.store.prune(T0 + 3 * DAY) > 0);
    assert.deepEqual(m.step(unreachable(m.target, T0 + 7 * DAY), T0 + 7 * DAY), []);
    const r = m.step(unreachable(m.target, T0 + 8 * DAY), T0 + 8 * DAY);
    assert.deepEqual(types(r), ['reminder']);
    assert.match(r[0]!.message, /\(7 days\)/, 'since the change on day 1, not since the oldest kept check');
    m.store.prune(T0 + 8 * DAY + 1);
    const next = m.step(unreachable(m.target, T0 + 15 * DAY), T0 + 15 * DAY);
    assert.deepEqual(types(next), ['reminder'], 'the last reminder is kept too: a week after it');
    assert.match(next[0]!.message, /\(14 days\)/);
    m.close();
  });

  test('the count survives a restart: it is read from the store', () => {
    const target = monitored('web.test:443', { renotifySec: 3 * 3600 });
    const m = new Monitor(target);
    m.step(unreachable(target, T0), T0);
    m.step(unreachable(target, T0 + 3 * HOUR), T0 + 3 * HOUR); // reminder 1
    const path = m.store.path;
    m.close();
    const again = openSqliteStore(path);
    const step = (at: number) => {
      const events = detectEvents(target, again.lastCheck(target.id), unreachable(target, at), at, again);
      return again.recordCheck(target, unreachable(target, at), at, events).events;
    };
    assert.deepEqual(step(T0 + 5 * HOUR), []);
    assert.deepEqual(types(step(T0 + 6 * HOUR)), ['reminder']);
    again.close();
  });
});
