/*
 * The service's Store over one SQLite file (better-sqlite3: synchronous, so every method is a
 * bounded amount of work on the calling thread; statements are prepared once per store).
 *
 * Semantics worth knowing (DESIGN.md §9, src/monitor/model.ts):
 * - recordCheck writes the history row (its result split by resultCodec.ts: the body, which
 *   holds the path, stored once per distinct body and deflated; the volatile fields on the
 *   row), the inventory rows (first/last seen) and the events in one transaction.
 * - served-by is the target's latest *received* chain: a check that got no certificate (the
 *   endpoint is down: `error` with an empty chain) leaves it as it was, since an outage is not
 *   a rotation. A check with a chain replaces it. retainTargets() clears it for targets no
 *   longer configured (and drops their schedule rows).
 * - Lists are newest first (history, events) or soonest expiry first (certificates), paged by
 *   keyset cursors (never OFFSET); a page holds at most 500 rows.
 * - prune(before) deletes checks and events older than `before`, but never a target's latest
 *   check nor its latest check that received a chain (events.ts compares with it across an
 *   outage), nor its latest `status-changed` and `reminder` events (they date its status and
 *   its last reminder), and inventory rows only when unseen since `before`, not served and not on a kept
 *   check's path.
 * - lastCheckWithChain() and statusSince() are additions to the Store interface (optional
 *   there, see events.ts).
 */
import type Database from 'better-sqlite3';
import type { Status, TargetResult } from '../../model/result.js';
import type {
  CertificateQuery,
  CertificateRecord,
  CheckRecord,
  MonitorEvent,
  MonitoredTarget,
  NotificationRecord,
  Page,
  StatusSince,
  Store,
} from '../model.js';
import { endpointUp } from '../up.js';
import { bodyWriter } from './bodies.js';
import { decodeCursor, encodeCursor, pageSize } from './cursor.js';
import { openDatabase } from './open.js';
import { type SplitResult, splitResult } from './resultCodec.js';
import {
  type BodyCache,
  type CertificateRow,
  type CheckRow,
  certificateOf,
  certificateParams,
  checkOf,
  type EventRow,
  eventOf,
} from './rows.js';

export interface SqliteStore extends Store {
  /** The database file. */
  readonly path: string;
  /** The latest check of a target that received certificates (non-empty chain), or null. */
  lastCheckWithChain(targetId: string): CheckRecord | null;
  /**
   * Since when a target has had its current status (its latest `status-changed` event, else its
   * oldest kept check) and when it was last reminded of it (its latest `reminder` event); null
   * when the target has no check.
   */
  statusSince(targetId: string): StatusSince | null;
}

export interface SqliteStoreOptions {
  /** The clock for bookkeeping columns (schedule updates); checks carry their own time. */
  readonly now?: () => number;
}

const CHECK_COLUMNS = `c.id, c.target_id, c.checked_at, c.status, c.duration_ms, c.up, c.extra, c.body_id,
  (SELECT b.body FROM bodies b WHERE b.id = c.body_id) AS body`;
const CERT_COLUMNS = `c.sha256, c.subject, c.issuer, c.serial, c.not_before, c.not_after, c.not_after_ms,
  c.sans, c.key_type, c.key_bits, c.key_curve, c.spki_sha256, c.is_ca, c.first_seen, c.last_seen,
  (SELECT json_group_array(s.target_id) FROM served_by s WHERE s.sha256 = c.sha256) AS served_by`;
const EVENT_COLUMNS = `id, type, target_id, target, grp, at, message, old_status, new_status, certificates, findings`;
const NO_CURSOR = Number.MAX_SAFE_INTEGER;

/** Whether the endpoint answered a handshake: certificates came and no finding says it failed. */

/** "0a:1b:…" as typed from a browser's certificate viewer is the serial "0a1b…". */
function needleOf(q: string): string {
  const t = q.trim().toLowerCase().slice(0, 256);
  return /^([0-9a-f]{2}:)+[0-9a-f]{2}$/.test(t) ? t.replaceAll(':', '') : t;
}

function prepareStatements(db: Database.Database) {
  const p = <R = unknown>(sql: string) => db.prepare<unknown[], R>(sql);
  return {
    upsertTarget: p(`INSERT INTO targets (id, grp, target, first_seen, last_seen)
      VALUES (@id, @grp, @target, @at, @at)
      ON CONFLICT (id) DO UPDATE SET grp = excluded.grp, target = excluded.target,
        first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`),
    upsertCert: p(`INSERT INTO certificates (sha256, subject, issuer, serial, not_before, not_after,
        not_after_ms, sans, search, key_type, key_bits, key_curve, spki_sha256, is_ca, first_seen, last_seen)
      VALUES (@sha256, @subject, @issuer, @serial, @not_before, @not_after, @not_after_ms, @sans, @search,
        @key_type, @key_bits, @key_curve, @spki_sha256, @is_ca, @at, @at)
      ON CONFLICT (sha256) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen),
        last_seen = max(last_seen, excluded.last_seen),
        spki_sha256 = coalesce(spki_sha256, excluded.spki_sha256)`),
    insertCheck:
      p(`INSERT INTO checks (target_id, checked_at, status, duration_ms, up, chain_len, body_id, extra)
      VALUES (@target_id, @checked_at, @status, @duration_ms, @up, @chain_len, @body_id, @extra)`),
    clearServed: p('DELETE FROM served_by WHERE target_id = ?'),
    insertServed: p('INSERT OR IGNORE INTO served_by (target_id, sha256, position) VALUES (?, ?, ?)'),
    insertEvent: p(`INSERT INTO events (type, target_id, target, grp, at, message, old_status, new_status,
        certificates, findings, check_id)
      VALUES (@type, @target_id, @target, @grp, @at, @message, @old_status, @new_status, @certificates,
        @findings, @check_id)`),
    lastCheck: p<CheckRow>(
      `SELECT ${CHECK_COLUMNS} FROM checks c WHERE c.target_id = ? ORDER BY c.id DESC LIMIT 1`,
    ),
    lastCheckWithChain: p<CheckRow>(`SELECT ${CHECK_COLUMNS} FROM checks c INDEXED BY checks_with_chain
      WHERE c.target_id = ? AND c.chain_len > 0 ORDER BY c.id DESC LIMIT 1`),
    lastAnnounced: p<{ changed: number | null; reminded: number | null }>(`SELECT
        (SELECT max(at) FROM events INDEXED BY events_by_target_type
          WHERE target_id = ? AND type = 'status-changed') AS changed,
        (SELECT max(at) FROM events INDEXED BY events_by_target_type
          WHERE target_id = ? AND type = 'reminder') AS reminded`),
    // The oldest kept check: the lowest id (ids grow with time), found through the index.
    firstCheckAt: p<{ at: number }>(
      'SELECT checked_at AS at FROM checks WHERE target_id = ? ORDER BY id LIMIT 1',
    ),
    history: p<CheckRow>(`SELECT ${CHECK_COLUMNS} FROM checks c WHERE c.target_id = ? AND c.id < ?
      ORDER BY c.id DESC LIMIT ?`),
    certificate: p<CertificateRow>(`SELECT ${CERT_COLUMNS} FROM certificates c WHERE c.sha256 = ?`),
    keySeen: p<{ one: number }>(`SELECT 1 AS one FROM certificates INDEXED BY certificates_spki
      WHERE spki_sha256 = ? AND sha256 <> ? LIMIT 1`),
    events: p<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id < ? ORDER BY id DESC LIMIT ?`),
    targetEvents: p<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE target_id = ? AND id < ?
      ORDER BY id DESC LIMIT ?`),
    saveSchedule: p(`INSERT INTO schedule (target_id, next_run_at, consecutive_errors, updated_at)
      VALUES (?, ?, ?, ?) ON CONFLICT (target_id) DO UPDATE SET next_run_at = excluded.next_run_at,
        consecutive_errors = excluded.consecutive_errors, updated_at = excluded.updated_at`),
    loadSchedule: p<{ target_id: string; next_run_at: number; consecutive_errors: number }>(
      'SELECT target_id, next_run_at, consecutive_errors FROM schedule',
    ),
    unserve: p('DELETE FROM served_by WHERE target_id NOT IN (SELECT value FROM json_each(?))'),
    unschedule: p('DELETE FROM schedule WHERE target_id NOT IN (SELECT value FROM json_each(?))'),
    // A target's latest status-changed and reminder events stay: they date its current status
    // and its last reminder (statusSince), however old.
    pruneEvents: p(`DELETE FROM events WHERE at < ?
      AND id NOT IN (SELECT max(id) FROM events WHERE type IN ('status-changed', 'reminder')
        GROUP BY target_id, type)`),
    pruneChecks: p(`DELETE FROM checks WHERE checked_at < ?
      AND id NOT IN (SELECT max(id) FROM checks GROUP BY target_id)
      AND id NOT IN (SELECT max(id) FROM checks WHERE chain_len > 0 GROUP BY target_id)`),
    // A body no kept check uses (its body_certs rows go with it, ON DELETE CASCADE).
    pruneBodies: p(`DELETE FROM bodies
      WHERE NOT EXISTS (SELECT 1 FROM checks k INDEXED BY checks_by_body WHERE k.body_id = bodies.id)`),
    pruneCertificates: p(`DELETE FROM certificates WHERE last_seen < ?
      AND NOT EXISTS (SELECT 1 FROM served_by s WHERE s.sha256 = certificates.sha256)
      AND NOT EXISTS (SELECT 1 FROM body_certs k WHERE k.sha256 = certificates.sha256)`),
  };
}

export function openSqliteStore(path: string, o: SqliteStoreOptions = {}): SqliteStore {
  const db = openDatabase(path);
  const now = o.now ?? Date.now;
  return new SqliteStoreImpl(db, path, now);
}

class SqliteStoreImpl implements SqliteStore {
  readonly #db: Database.Database;
  readonly #now: () => number;
  readonly #s: ReturnType<typeof prepareStatements>;
  readonly #certQueries = new Map<string, Database.Statement<unknown[], CertificateRow>>();
  readonly #record: Database.Transaction<
    (
      target: MonitoredTarget,
      result: TargetResult,
      checkedAt: number,
      events: readonly MonitorEvent[],
    ) => { check: CheckRecord; events: MonitorEvent[] }
  >;
  readonly #prune: Database.Transaction<(before: number) => number>;
  #notifyInsert: Database.Statement<unknown[]> | undefined;
  #notifySelect:
    | Database.Statement<
        [number],
        {
          event_id: number;
          channel: string;
          outcome: NotificationRecord['outcome'];
          at: number;
          error: string | null;
        }
      >
    | undefined;
  readonly #retain: Database.Transaction<(ids: string) => void>;
  readonly #storeBody: (split: SplitResult) => number;

  constructor(
    db: Database.Database,
    readonly path: string,
    now: () => number,
  ) {
    this.#db = db;
    this.#now = now;
    this.#s = prepareStatements(db);
    this.#storeBody = bodyWriter(db);
    this.#record = db.transaction(
      (target: MonitoredTarget, result: TargetResult, checkedAt: number, events: readonly MonitorEvent[]) =>
        this.#recordInTransaction(target, result, checkedAt, events),
    );
    this.#prune = db.transaction((before: number) => {
      const s = this.#s;
      const events = s.pruneEvents.run(before).changes;
      const checks = s.pruneChecks.run(before).changes;
      // Bodies are storage, not records: they are not counted.
      if (checks > 0) s.pruneBodies.run();
      return events + checks + s.pruneCertificates.run(before).changes;
    });
    this.#retain = db.transaction((ids: string) => {
      this.#s.unserve.run(ids);
      this.#s.unschedule.run(ids);
    });
  }

  #recordInTransaction(
    target: MonitoredTarget,
    result: TargetResult,
    checkedAt: number,
    events: readonly MonitorEvent[],
  ): { check: CheckRecord; events: MonitorEvent[] } {
    const s = this.#s;
    s.upsertTarget.run({ id: target.id, grp: target.group, target: target.target, at: checkedAt });
    const chain = result.chain;
    const unique = new Map(chain.map((c, i) => [c.sha256, i] as const).reverse());
    for (const c of chain) s.upsertCert.run(certificateParams(c, checkedAt));
    const up = endpointUp(result);
    const split = splitResult(result);
    const checkId = Number(
      s.insertCheck.run({
        target_id: target.id,
        checked_at: checkedAt,
        status: result.status,
        duration_ms: result.durationMs,
        up: up ? 1 : 0,
        chain_len: chain.length,
        body_id: this.#storeBody(split),
        extra: split.extra,
      }).lastInsertRowid,
    );
    if (chain.length > 0) {
      s.clearServed.run(target.id);
      for (const [sha, i] of unique) s.insertServed.run(target.id, sha, i);
    }
    const stored = events.map((e): MonitorEvent => {
      const ev = { ...e, targetId: target.id, target: target.target, group: target.group };
      const id = s.insertEvent.run({
        type: ev.type,
        target_id: ev.targetId,
        target: ev.target,
        grp: ev.group,
        at: ev.at,
        message: ev.message,
        old_status: ev.oldStatus,
        new_status: ev.newStatus,
        certificates: JSON.stringify(ev.certificates),
        findings: JSON.stringify(ev.findings),
        check_id: checkId,
      }).lastInsertRowid;
      return { ...ev, id: Number(id) };
    });
    const check: CheckRecord = {
      id: checkId,
      targetId: target.id,
      checkedAt,
      status: result.status as Status,
      durationMs: result.durationMs,
      up,
      result,
      chainSha256: chain.map((c) => c.sha256),
    };
    return { check, events: stored };
  }

  recordCheck(
    target: MonitoredTarget,
    result: TargetResult,
    checkedAt: number,
    events: readonly MonitorEvent[],
  ): { check: CheckRecord; events: MonitorEvent[] } {
    return this.#record.immediate(target, result, checkedAt, events);
  }

  lastCheck(targetId: string): CheckRecord | null {
    const row = this.#s.lastCheck.get(targetId);
    return row ? checkOf(row) : null;
  }

  lastCheckWithChain(targetId: string): CheckRecord | null {
    const row = this.#s.lastCheckWithChain.get(targetId);
    return row ? checkOf(row) : null;
  }

  statusSince(targetId: string): StatusSince | null {
    const a = this.#s.lastAnnounced.get(targetId, targetId)!;
    const since = a.changed ?? this.#s.firstCheckAt.get(targetId)?.at ?? null;
    return since === null ? null : { since, remindedAt: a.reminded };
  }

  history(targetId: string, o: { limit?: number; cursor?: string } = {}): Page<CheckRecord> {
    const limit = pageSize(o.limit);
    const before = o.cursor ? (decodeCursor('history', o.cursor, ['number'])[0] as number) : NO_CURSOR;
    const rows = this.#s.history.all(targetId, before, limit + 1);
    // A page's checks mostly share a few bodies: each is inflated once.
    const bodies: BodyCache = new Map();
    const items = rows.slice(0, limit).map((r) => checkOf(r, bodies));
    const last = items.at(-1);
    return { items, next: rows.length > limit && last ? encodeCursor('history', [last.id]) : null };
  }

  certificate(sha256: string): CertificateRecord | null {
    const row = this.#s.certificate.get(sha256.toLowerCase());
    return row ? certificateOf(row) : null;
  }

  certificates(q: CertificateQuery = {}): Page<CertificateRecord> {
    const limit = pageSize(q.limit);
    const where: string[] = [];
    const params: (string | number)[] = [];
    const needle = q.q === undefined ? '' : needleOf(q.q);
    if (needle) {
      where.push('instr(c.search, ?) > 0');
      params.push(needle);
    }
    if (q.expiresBefore !== undefined) {
      where.push('c.not_after_ms < ?');
      params.push(q.expiresBefore);
    }
    if (q.served !== undefined)
      where.push(`${q.served ? '' : 'NOT '}EXISTS (SELECT 1 FROM served_by s WHERE s.sha256 = c.sha256)`);
    if (q.cursor) {
      const [at, sha] = decodeCursor('certificates', q.cursor, ['number', 'string']);
      where.push('(c.not_after_ms, c.sha256) > (?, ?)');
      params.push(at as number, sha as string);
    }
    const sql = `SELECT ${CERT_COLUMNS} FROM certificates c INDEXED BY certificates_expiry
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY c.not_after_ms, c.sha256 LIMIT ?`;
    let stmt = this.#certQueries.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare<unknown[], CertificateRow>(sql);
      this.#certQueries.set(sql, stmt);
    }
    const rows = stmt.all(...params, limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(certificateOf),
      next:
        rows.length > limit && last ? encodeCursor('certificates', [last.not_after_ms, last.sha256]) : null,
    };
  }

  keySeenBefore(spkiSha256: string, exceptSha256: string): boolean {
    if (!spkiSha256) return false;
    return this.#s.keySeen.get(spkiSha256, exceptSha256) !== undefined;
  }

  events(o: { targetId?: string; limit?: number; cursor?: string } = {}): Page<MonitorEvent> {
    const limit = pageSize(o.limit);
    const before = o.cursor ? (decodeCursor('events', o.cursor, ['number'])[0] as number) : NO_CURSOR;
    const rows =
      o.targetId === undefined
        ? this.#s.events.all(before, limit + 1)
        : this.#s.targetEvents.all(o.targetId, before, limit + 1);
    const items = rows.slice(0, limit).map(eventOf);
    const last = items.at(-1);
    return { items, next: rows.length > limit && last ? encodeCursor('events', [last.id]) : null };
  }

  recordNotification(n: NotificationRecord): void {
    // An event pruned in the meantime has nothing to attach the delivery to.
    this.#notifyInsert ??= this.#db.prepare(
      'INSERT INTO notifications (event_id, channel, outcome, at, error) SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM events WHERE id = ?)',
    );
    this.#notifyInsert.run(n.eventId, n.channel, n.outcome, n.at, n.error, n.eventId);
  }

  notifications(eventId: number): NotificationRecord[] {
    // Prepared once: the API asks for every event of a page.
    this.#notifySelect ??= this.#db.prepare(
      'SELECT event_id, channel, outcome, at, error FROM notifications WHERE event_id = ? ORDER BY id LIMIT 100',
    ) as Database.Statement<
      [number],
      {
        event_id: number;
        channel: string;
        outcome: NotificationRecord['outcome'];
        at: number;
        error: string | null;
      }
    >;
    return this.#notifySelect.all(eventId).map((r) => ({
      eventId: r.event_id,
      channel: r.channel,
      outcome: r.outcome,
      at: r.at,
      error: r.error,
    }));
  }

  saveSchedule(targetId: string, nextRunAt: number, consecutiveErrors: number): void {
    this.#s.saveSchedule.run(targetId, nextRunAt, consecutiveErrors, this.#now());
  }

  loadSchedule(): Map<string, { nextRunAt: number; consecutiveErrors: number }> {
    const out = new Map<string, { nextRunAt: number; consecutiveErrors: number }>();
    for (const r of this.#s.loadSchedule.all())
      out.set(r.target_id, { nextRunAt: r.next_run_at, consecutiveErrors: r.consecutive_errors });
    return out;
  }

  retainTargets(targetIds: readonly string[]): void {
    this.#retain.immediate(JSON.stringify(targetIds));
  }

  prune(beforeMs: number): number {
    return this.#prune.immediate(beforeMs);
  }

  close(): void {
    if (!this.#db.open) return;
    try {
      this.#db.pragma('optimize');
    } finally {
      this.#db.close();
    }
  }
}
