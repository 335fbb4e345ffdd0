/**
 * The monitor's SQLite store on a real file in a temporary directory: migrations (from empty,
 * re-open, refusing a newer schema, a failed migration), the error classes for files that are
 * not a database, check history and its keyset paging, the certificate inventory across
 * rotations (first/last seen, served-by), certificate search, key reuse, events, schedule
 * state, retainTargets and prune. Results are made from real certificates by the check
 * pipeline's own evaluation (test/support/monitorFixtures.ts).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { type IssuedCert, issue, type LabChain, makeChain } from '../src/lab/pki.js';
import type { MonitorEvent } from '../src/monitor/model.js';
import { StoreError } from '../src/monitor/store/errors.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION } from '../src/monitor/store/migrations.js';
import { BINDING_ENV } from '../src/monitor/store/open.js';
import { openSqliteStore, type SqliteStore } from '../src/monitor/store/sqliteStore.js';
import { DAY, monitored, resultOf, unreachable } from './support/monitorFixtures.js';

// Now (to the second): the lab CAs are valid from a day before the real clock.
const T0 = Math.floor(Date.now() / 1000) * 1000;
let dir: string;
let n = 0;
const freshPath = () => join(dir, `store-${++n}.db`);

/** A plain connection to look under the store, with the addon the store uses (the CI matrix's). */
function rawDb(path: string, o: { readonly?: boolean } = {}): Database.Database {
  const nativeBinding = process.env[BINDING_ENV];
  return new Database(path, { ...o, ...(nativeBinding ? { nativeBinding } : {}) });
}

function storeError(code: StoreError['code'], path?: string) {
  return (e: unknown) => {
    assert.ok(e instanceof StoreError, `expected a StoreError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (path) {
      assert.equal(e.path, path);
      assert.ok(e.message.includes(path), e.message);
    }
    return true;
  };
}

function event(targetId: string, at: number, message: string): MonitorEvent {
  return {
    id: 0,
    type: 'status-changed',
    targetId,
    target: targetId,
    group: 'web',
    at,
    message,
    oldStatus: 'ok',
    newStatus: 'critical',
    certificates: [],
    findings: [],
  };
}

let pki: LabChain;
let leaf2: IssuedCert;
let sameKeyLeaf: IssuedCert;
let other: IssuedCert;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certvet-store-'));
  pki = await makeChain({ leaf: { notAfter: new Date(T0 + 90 * DAY), notBefore: new Date(T0 - DAY) } });
  leaf2 = await issue({
    subject: 'CN=localhost,O=Rotated Ltd',
    issuer: pki.intermediate,
    dns: ['localhost', 'www.Example.test'],
    notBefore: new Date(T0),
    notAfter: new Date(T0 + 20 * DAY),
  });
  sameKeyLeaf = await issue({
    subject: 'CN=localhost,O=Same Key',
    issuer: pki.intermediate,
    key: pki.leaf.key,
    dns: ['localhost'],
    notBefore: new Date(T0),
    notAfter: new Date(T0 + 200 * DAY),
  });
  other = await issue({
    subject: 'CN=other.test',
    issuer: pki.intermediate,
    dns: ['other.test', 'localhost'],
    serialNumber: '0abcdef012',
    notBefore: new Date(T0),
    notAfter: new Date(T0 + 400 * DAY),
  });
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('opening and migrations', () => {
  test('an empty file is migrated to the current schema; re-opening keeps the data', () => {
    const path = freshPath();
    const t = monitored('a.test:443');
    let s = openSqliteStore(path);
    s.recordCheck(
      t,
      resultOf(t, { sent: [pki.leaf, pki.intermediate], anchors: [pki.root], at: T0 }),
      T0,
      [],
    );
    s.saveSchedule(t.id, T0 + 60_000, 0);
    s.close();
    const raw = rawDb(path, { readonly: true });
    assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    const tables = raw
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((r) => r.name);
    for (const name of [
      'bodies',
      'body_certs',
      'certificates',
      'checks',
      'events',
      'schedule',
      'served_by',
      'targets',
    ])
      assert.ok(tables.includes(name), `${name} in ${tables.join()}`);
    raw.close();
    s = openSqliteStore(path);
    const last = s.lastCheck(t.id);
    assert.equal(last?.checkedAt, T0);
    assert.deepEqual(last?.chainSha256, [
      pki.leaf.parsed.sha256,
      pki.intermediate.parsed.sha256,
      pki.root.parsed.sha256,
    ]);
    assert.equal(s.certificate(pki.leaf.parsed.sha256)?.subject, pki.leaf.parsed.subject.text);
    assert.deepEqual(s.loadSchedule().get(t.id), { nextRunAt: T0 + 60_000, consecutiveErrors: 0 });
    s.close();
    s.close(); // idempotent
  });

  test('a database from a newer certvet is refused with CERTVET_STORE_NEWER', () => {
    const path = freshPath();
    openSqliteStore(path).close();
    const raw = rawDb(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => openSqliteStore(path), storeError('CERTVET_STORE_NEWER', path));
    const again = rawDb(path);
    assert.equal(again.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1, 'left untouched');
    again.close();
  });

  test('migration 3: a version-2 history (result JSON per check, check_chain) is moved to deduplicated bodies', () => {
    const path = freshPath();
    const db = rawDb(path);
    migrate(
      db,
      path,
      MIGRATIONS.filter((m) => m.version <= 2),
    );
    // The fixture writes only the history rows (check_chain's certificates are not needed here).
    db.pragma('foreign_keys = OFF');
    const t = monitored('old.test:443');
    const results = [0, 1, 2].map((i) =>
      resultOf(t, { sent: [pki.leaf, pki.intermediate], anchors: [pki.root], at: T0 + i * 60_000 }),
    );
    db.prepare('INSERT INTO targets (id, grp, target, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)').run(
      t.id,
      t.group,
      t.target,
      T0,
      T0,
    );
    for (const [i, r] of results.entries()) {
      const id = db
        .prepare(`INSERT INTO checks (target_id, checked_at, status, duration_ms, up, chain_len, result)
          VALUES (?, ?, ?, ?, 1, ?, ?)`)
        .run(
          t.id,
          T0 + i * 60_000,
          r.status,
          r.durationMs,
          r.chain.length,
          JSON.stringify(r),
        ).lastInsertRowid;
      for (const [k, c] of r.chain.entries())
        db.prepare('INSERT INTO check_chain (check_id, position, sha256) VALUES (?, ?, ?)').run(
          id,
          k,
          c.sha256,
        );
    }
    db.close();
    const s = openSqliteStore(path);
    const items = s.history(t.id, { limit: 10 }).items;
    assert.deepEqual(
      items.map((c) => c.result),
      [...results].reverse(),
      'every result as it was',
    );
    assert.deepEqual(
      items[0]?.chainSha256,
      results[2]!.chain.map((c) => c.sha256),
    );
    s.close();
    const raw = rawDb(path, { readonly: true });
    assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    const tables = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    assert.ok(!tables.includes('check_chain'));
    assert.equal(
      raw.prepare('SELECT count(*) FROM bodies').pluck().get(),
      1,
      'three equal bodies, stored once',
    );
    raw.close();
  });

  test('migration 4: recorded deliveries are kept, and a suppressed one can now be recorded', () => {
    const path = freshPath();
    const db = rawDb(path);
    migrate(
      db,
      path,
      MIGRATIONS.filter((m) => m.version <= 3),
    );
    db.close();
    const t = monitored('n.test:443');
    const v3 = rawDb(path);
    v3.pragma('foreign_keys = ON');
    v3.prepare('INSERT INTO targets (id, grp, target, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)').run(
      t.id,
      t.group,
      t.target,
      T0,
      T0,
    );
    const eventId = Number(
      v3
        .prepare(`INSERT INTO events (type, target_id, target, grp, at, message, old_status, new_status,
          certificates, findings) VALUES ('rotated', ?, ?, ?, ?, 'm', 'ok', 'ok', '[]', '[]')`)
        .run(t.id, t.target, t.group, T0).lastInsertRowid,
    );
    v3.prepare(
      "INSERT INTO notifications (event_id, channel, outcome, at, error) VALUES (?, 'hook', 'sent', ?, NULL)",
    ).run(eventId, T0 + 1);
    assert.throws(
      () =>
        v3
          .prepare(
            "INSERT INTO notifications (event_id, channel, outcome, at) VALUES (?, 'hook', 'suppressed', 1)",
          )
          .run(eventId),
      /CHECK constraint/,
      'version 3 refuses the new outcome',
    );
    v3.close();
    const s = openSqliteStore(path);
    s.recordNotification({ eventId, channel: 'hook', outcome: 'suppressed', at: T0 + 2, error: 'the same' });
    assert.deepEqual(s.notifications(eventId), [
      { eventId, channel: 'hook', outcome: 'sent', at: T0 + 1, error: null },
      { eventId, channel: 'hook', outcome: 'suppressed', at: T0 + 2, error: 'the same' },
    ]);
    s.close();
    // The rebuilt table still goes with its event.
    const after = rawDb(path);
    after.pragma('foreign_keys = ON');
    after.prepare('DELETE FROM events WHERE id = ?').run(eventId);
    assert.equal(after.prepare('SELECT count(*) FROM notifications').pluck().get(), 0, 'ON DELETE CASCADE');
    after.close();
  });

  test('a failed migration is CERTVET_STORE_MIGRATION and leaves the previous version', () => {
    const path = freshPath();
    const db = rawDb(path);
    const migrations = [
      { version: 1, description: 'one table', up: (d: Database.Database) => d.exec('CREATE TABLE a (x)') },
      {
        version: 2,
        description: 'broken',
        up: (d: Database.Database) => d.exec('CREATE TABLE b (y); INSERT INTO nowhere VALUES (1)'),
      },
    ];
    assert.throws(() => migrate(db, path, migrations), storeError('CERTVET_STORE_MIGRATION', path));
    assert.equal(db.pragma('user_version', { simple: true }), 1);
    assert.equal(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'b'").pluck().get(), 0);
    db.close();
  });

  test('a file that is not a database, a directory, or a missing directory: CERTVET_STORE_OPEN naming it', () => {
    const garbage = freshPath();
    writeFileSync(garbage, 'this is not an SQLite database, just some text that is long enough\n'.repeat(20));
    assert.throws(() => openSqliteStore(garbage), storeError('CERTVET_STORE_OPEN', garbage));
    const folder = join(dir, 'a-directory');
    mkdirSync(folder);
    assert.throws(() => openSqliteStore(folder), storeError('CERTVET_STORE_OPEN', folder));
    const missing = join(dir, 'no-such-dir', 'x.db');
    assert.throws(() => openSqliteStore(missing), storeError('CERTVET_STORE_OPEN', missing));
  });
});

describe('history', () => {
  let s: SqliteStore;
  before(() => {
    s = openSqliteStore(freshPath());
  });
  after(() => s.close());

  test('recordCheck, lastCheck and newest-first pages without gaps or duplicates', () => {
    const t = monitored('h.test:443');
    const u = monitored('other.test:443');
    assert.equal(s.lastCheck(t.id), null);
    const ids: number[] = [];
    for (let i = 0; i < 23; i++) {
      const at = T0 + i * 60_000;
      const result =
        i % 5 === 4
          ? unreachable(t, at)
          : resultOf(t, { sent: [pki.leaf, pki.intermediate], anchors: [pki.root], at });
      const { check } = s.recordCheck(t, result, at, []);
      assert.equal(check.up, i % 5 !== 4);
      ids.push(check.id);
      s.recordCheck(u, unreachable(u, at), at, []); // interleaved: another target's rows
    }
    const last = s.lastCheck(t.id)!;
    assert.equal(last.id, ids.at(-1));
    assert.equal(last.status, 'ok');
    assert.equal(last.result.chain[0]?.sha256, pki.leaf.parsed.sha256);
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = s.history(t.id, { limit: 5, ...(cursor ? { cursor } : {}) });
      assert.ok(page.items.length <= 5);
      for (const c of page.items) assert.equal(c.targetId, t.id);
      seen.push(...page.items.map((c) => c.id));
      cursor = page.next ?? undefined;
      pages++;
    } while (cursor);
    assert.equal(pages, 5);
    assert.deepEqual(seen, [...ids].reverse());
    const down = s.history(t.id, { limit: 500 }).items.find((c) => !c.up)!;
    assert.equal(down.status, 'error');
    assert.deepEqual(down.chainSha256, []);
  });

  test('page sizes are capped at 500', () => {
    const t = monitored('many.test:443');
    for (let i = 0; i < 505; i++) s.recordCheck(t, unreachable(t, T0 + i), T0 + i, []);
    const page = s.history(t.id, { limit: 100_000 });
    assert.equal(page.items.length, 500);
    assert.ok(page.next);
    assert.equal(s.history(t.id, { cursor: page.next }).items.length, 5);
    assert.equal(s.history(t.id, { limit: 0 }).items.length, 1);
  });

  test('a cursor that is not one, or of another list, is CERTVET_STORE_CURSOR', () => {
    const t = monitored('h.test:443');
    const next = s.history(t.id, { limit: 1 }).next!;
    assert.throws(() => s.history(t.id, { cursor: 'nonsense!' }), storeError('CERTVET_STORE_CURSOR'));
    assert.throws(() => s.events({ cursor: next }), storeError('CERTVET_STORE_CURSOR'));
    assert.throws(() => s.certificates({ cursor: next }), storeError('CERTVET_STORE_CURSOR'));
  });
});

describe('certificate inventory', () => {
  let s: SqliteStore;
  const a = monitored('a.test:443');
  const b = monitored('b.test:443');
  before(() => {
    s = openSqliteStore(freshPath());
    const sent = [pki.leaf, pki.intermediate];
    s.recordCheck(a, resultOf(a, { sent, anchors: [pki.root], at: T0 }), T0, []);
    s.recordCheck(a, resultOf(a, { sent, anchors: [pki.root], at: T0 + DAY }), T0 + DAY, []);
    s.recordCheck(b, resultOf(b, { sent, anchors: [pki.root], at: T0 + DAY }), T0 + DAY, []);
    // a rotates; b goes down (served-by unchanged: nothing was received).
    s.recordCheck(
      a,
      resultOf(a, { sent: [leaf2, pki.intermediate], anchors: [pki.root], at: T0 + 2 * DAY }),
      T0 + 2 * DAY,
      [],
    );
    s.recordCheck(b, unreachable(b, T0 + 2 * DAY), T0 + 2 * DAY, []);
  });
  after(() => s.close());

  test('first and last seen, served-by across a rotation and an outage', () => {
    const old = s.certificate(pki.leaf.parsed.sha256)!;
    assert.equal(old.firstSeen, T0);
    assert.equal(old.lastSeen, T0 + DAY);
    assert.deepEqual(old.servedBy, [b.id], 'a rotated away; b is down but last served it');
    assert.equal(old.serialNumber, pki.leaf.parsed.serialHex);
    assert.equal(old.notAfter, new Date(T0 + 90 * DAY).toISOString().replace('.000Z', 'Z'));
    assert.equal(old.spkiSha256, old.publicKey.spkiSha256);
    assert.match(old.spkiSha256 ?? '', /^[0-9a-f]{64}$/);
    assert.equal(old.isCA, false);
    assert.deepEqual(old.subjectAltNames.dns, ['localhost']);
    const fresh = s.certificate(leaf2.parsed.sha256.toUpperCase())!;
    assert.equal(fresh.firstSeen, T0 + 2 * DAY);
    assert.deepEqual(fresh.servedBy, [a.id]);
    const inter = s.certificate(pki.intermediate.parsed.sha256)!;
    assert.equal(inter.isCA, true);
    assert.equal(inter.firstSeen, T0);
    assert.equal(inter.lastSeen, T0 + 2 * DAY);
    assert.deepEqual(inter.servedBy, [a.id, b.id]);
    assert.equal(s.certificate('00'.repeat(32)), null);
    assert.equal(s.lastCheck(b.id)?.status, 'error');
    assert.equal(s.lastCheckWithChain(b.id)?.checkedAt, T0 + DAY);
  });

  test('search: case-insensitive substring of subject, SAN, issuer, serial; expiry; served', () => {
    const shas = (q: Parameters<SqliteStore['certificates']>[0]) =>
      s.certificates(q).items.map((c) => c.sha256);
    assert.deepEqual(shas({ q: 'ROTATED ltd' }), [leaf2.parsed.sha256]);
    assert.deepEqual(shas({ q: 'www.example.TEST' }), [leaf2.parsed.sha256]);
    const issuedByInter = shas({ q: 'certvet test intermediate' });
    assert.ok(issuedByInter.includes(pki.leaf.parsed.sha256) && issuedByInter.includes(leaf2.parsed.sha256));
    const serial = pki.leaf.parsed.serialHex;
    assert.deepEqual(shas({ q: serial.toUpperCase() }), [pki.leaf.parsed.sha256]);
    assert.deepEqual(shas({ q: serial.match(/../g)!.join(':') }), [pki.leaf.parsed.sha256]);
    assert.deepEqual(shas({ q: 'nothing like this' }), []);
    assert.deepEqual(shas({ expiresBefore: T0 + 30 * DAY }), [leaf2.parsed.sha256]);
    assert.deepEqual(
      shas({ expiresBefore: T0 + 100 * DAY }),
      [leaf2.parsed.sha256, pki.leaf.parsed.sha256],
      'soonest first',
    );
    assert.deepEqual(
      new Set(shas({ served: true })),
      new Set([pki.leaf, leaf2, pki.intermediate, pki.root].map((c) => c.parsed.sha256)),
    );
    assert.deepEqual(shas({ served: false }), []);
    assert.deepEqual(shas({ q: 'localhost', served: true, expiresBefore: T0 + 30 * DAY }), [
      leaf2.parsed.sha256,
    ]);
  });

  test('certificate pages: keyset over (notAfter, sha256), no duplicates or gaps', () => {
    const all = s.certificates({ limit: 500 }).items.map((c) => c.sha256);
    assert.equal(all.length, 4);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page = s.certificates({ limit: 1, ...(cursor ? { cursor } : {}) });
      paged.push(...page.items.map((c) => c.sha256));
      cursor = page.next;
    } while (cursor);
    assert.deepEqual(paged, all);
  });

  test('keySeenBefore: the same SPKI in another certificate, not the certificate itself', () => {
    const spki = s.certificate(pki.leaf.parsed.sha256)!.spkiSha256!;
    assert.equal(s.keySeenBefore(spki, pki.leaf.parsed.sha256), false);
    assert.equal(s.keySeenBefore(spki, sameKeyLeaf.parsed.sha256), true);
    assert.equal(s.keySeenBefore('ff'.repeat(32), sameKeyLeaf.parsed.sha256), false);
  });
});

describe('events, schedule, retention', () => {
  test('events are stored with ids, newest first, per target, paged', () => {
    const s = openSqliteStore(freshPath());
    const a = monitored('a.test:443');
    const b = monitored('b.test:443');
    const stored: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = i % 2 ? b : a;
      const out = s.recordCheck(t, unreachable(t, T0 + i), T0 + i, [
        event(t.id, T0 + i, `first ${i}`),
        event(t.id, T0 + i, `second ${i}`),
      ]);
      assert.equal(out.events.length, 2);
      assert.ok(out.events.every((e) => e.id > 0 && e.targetId === t.id));
      stored.push(...out.events.map((e) => e.id));
    }
    const all: number[] = [];
    let cursor: string | null = null;
    do {
      const page = s.events({ limit: 3, ...(cursor ? { cursor } : {}) });
      all.push(...page.items.map((e) => e.id));
      cursor = page.next;
    } while (cursor);
    assert.deepEqual(all, [...stored].reverse());
    const ofB = s.events({ targetId: b.id, limit: 500 }).items;
    assert.equal(ofB.length, 6);
    assert.ok(ofB.every((e) => e.targetId === b.id && e.group === 'web' && e.oldStatus === 'ok'));
    assert.equal(ofB[0]?.message, 'second 5');
    s.close();
  });

  test('schedule state is saved, overwritten and loaded', () => {
    const s = openSqliteStore(freshPath(), { now: () => T0 });
    s.saveSchedule('web/a', T0 + 1000, 0);
    s.saveSchedule('web/b', T0 + 2000, 3);
    s.saveSchedule('web/a', T0 + 5000, 1);
    assert.deepEqual(
      [...s.loadSchedule()],
      [
        ['web/a', { nextRunAt: T0 + 5000, consecutiveErrors: 1 }],
        ['web/b', { nextRunAt: T0 + 2000, consecutiveErrors: 3 }],
      ],
    );
    s.close();
  });

  test('retainTargets: targets no longer configured serve nothing and lose their schedule', () => {
    const s = openSqliteStore(freshPath());
    const a = monitored('a.test:443');
    const b = monitored('b.test:443');
    for (const t of [a, b]) {
      s.recordCheck(
        t,
        resultOf(t, { sent: [pki.leaf, pki.intermediate], anchors: [pki.root], at: T0 }),
        T0,
        [],
      );
      s.saveSchedule(t.id, T0, 0);
    }
    s.retainTargets([a.id]);
    assert.deepEqual(s.certificate(pki.leaf.parsed.sha256)?.servedBy, [a.id]);
    assert.deepEqual([...s.loadSchedule().keys()], [a.id]);
    assert.equal(s.lastCheck(b.id)?.checkedAt, T0, 'history stays');
    s.retainTargets([]);
    assert.deepEqual(s.certificates({ served: true }).items, []);
    s.close();
  });

  test('a result reads back as recorded; equal bodies are stored once, deflated; prune drops unused bodies', () => {
    const path = freshPath();
    const s = openSqliteStore(path);
    const t = monitored('codec.test:443');
    const base = resultOf(t, { sent: [pki.leaf, pki.intermediate], anchors: [pki.root], at: T0 });
    const recorded = [0, 1, 2, 3].map((i) => ({
      ...base,
      durationMs: 10 + i,
      timings: { dnsMs: i, connectMs: 1, starttlsMs: 0, handshakeMs: 2 + i, totalMs: 5 + i },
      chain: base.chain.map((c) => ({ ...c, daysRemaining: c.daysRemaining - i })),
    }));
    for (const [i, r] of recorded.entries()) s.recordCheck(t, r, T0 + i * DAY, []);
    const later = resultOf(t, { sent: [leaf2, pki.intermediate], anchors: [pki.root], at: T0 + 9 * DAY });
    s.recordCheck(t, later, T0 + 9 * DAY, []);
    assert.deepEqual(
      s.history(t.id, { limit: 10 }).items.map((c) => c.result),
      [later, ...[...recorded].reverse()],
    );
    const raw = rawDb(path, { readonly: true });
    const bodies = raw.prepare<[], { body: Buffer }>('SELECT body FROM bodies').all();
    assert.equal(bodies.length, 2, 'four checks differing only in volatile fields share one body');
    const json = JSON.stringify(base);
    assert.ok(
      bodies.every((b) => b.body.length < json.length / 2),
      'deflated',
    );
    raw.close();
    s.prune(T0 + 5 * DAY);
    const after = rawDb(path, { readonly: true });
    assert.equal(
      after.prepare('SELECT count(*) FROM bodies').pluck().get(),
      1,
      'the old body went with its checks',
    );
    assert.equal(
      after.prepare('SELECT count(*) FROM body_certs WHERE sha256 = ?').pluck().get(pki.leaf.parsed.sha256),
      0,
    );
    after.close();
    assert.deepEqual(s.lastCheck(t.id)?.result, later);
    s.close();
  });

  test('prune: old checks and events go; latest checks and served certificates stay', () => {
    const s = openSqliteStore(freshPath());
    const a = monitored('a.test:443');
    const b = monitored('b.test:443');
    const chain = (t: typeof a, leaf: IssuedCert, at: number) =>
      s.recordCheck(t, resultOf(t, { sent: [leaf, pki.intermediate], anchors: [pki.root], at }), at, [
        event(t.id, at, `at ${at}`),
      ]);
    chain(a, other, T0); // other: seen only here, long ago
    for (let d = 1; d <= 10; d++) chain(a, pki.leaf, T0 + d * DAY);
    chain(b, leaf2, T0 + DAY); // b's only check, and old
    // b is now down for a long time: its latest check has no chain.
    for (let d = 2; d <= 10; d++) s.recordCheck(b, unreachable(b, T0 + d * DAY), T0 + d * DAY, []);
    const deleted = s.prune(T0 + 8 * DAY);
    const aLeft = s.history(a.id, { limit: 500 }).items.map((c) => c.checkedAt);
    assert.deepEqual(
      aLeft,
      [10, 9, 8].map((d) => T0 + d * DAY),
    );
    const bLeft = s.history(b.id, { limit: 500 }).items.map((c) => c.checkedAt);
    assert.deepEqual(
      bLeft,
      [10, 9, 8, 1].map((d) => T0 + d * DAY),
      'b keeps its latest check with a chain',
    );
    assert.equal(s.lastCheckWithChain(b.id)?.result.chain[0]?.sha256, leaf2.parsed.sha256);
    assert.ok(s.certificate(leaf2.parsed.sha256), 'still served by b');
    assert.ok(s.certificate(pki.leaf.parsed.sha256));
    assert.equal(s.certificate(other.parsed.sha256), null, 'unserved and unseen since the cut: pruned');
    const events = s.events({ limit: 500 }).items;
    // b's only status-changed (day 1) stays: it dates b's status (reminders read it).
    assert.deepEqual(
      events.map((e) => [e.targetId, (e.at - T0) / DAY]),
      [
        [b.id, 1], // recorded last, so newest by id
        [a.id, 10],
        [a.id, 9],
        [a.id, 8],
      ],
    );
    // 8 of a's checks, 6 of b's, 8 events (a: days 0..7), one certificate.
    assert.equal(deleted, 8 + 6 + 8 + 1);
    assert.equal(s.prune(T0 + 8 * DAY), 0, 'idempotent');
    s.close();
  });
});
