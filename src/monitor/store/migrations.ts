/*
 * The store's schema, as numbered migrations. A database records the last one applied in
 * `PRAGMA user_version`; opening applies the missing ones in order, each in its own IMMEDIATE
 * transaction (so two processes opening a fresh file do not both migrate it, and a failed
 * migration leaves the previous version intact). A database whose version is above the last
 * migration known here was written by a newer certvet: it is refused, never "downgraded".
 *
 * Migrations are append-only: a released one is never edited, a change is a new version.
 * Migration 3 encodes old rows with today's resultCodec.ts: a change to that format is a new
 * migration that rewrites the bodies, never an edit of the codec alone.
 */
import type Database from 'better-sqlite3';
import type { TargetResult } from '../../model/result.js';
import { bodyWriter } from './bodies.js';
import { StoreError } from './errors.js';
import { splitResult } from './resultCodec.js';

export interface Migration {
  readonly version: number;
  readonly description: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'targets, check history with its path, certificate inventory, served-by, events, schedule',
    up(db) {
      db.exec(`
        CREATE TABLE targets (
          id          TEXT PRIMARY KEY,
          grp         TEXT NOT NULL,
          target      TEXT NOT NULL,
          first_seen  INTEGER NOT NULL,
          last_seen   INTEGER NOT NULL
        );

        CREATE TABLE certificates (
          sha256       TEXT PRIMARY KEY,
          subject      TEXT NOT NULL,
          issuer       TEXT NOT NULL,
          serial       TEXT NOT NULL,
          not_before   TEXT NOT NULL,
          not_after    TEXT NOT NULL,
          not_after_ms INTEGER NOT NULL,
          sans         TEXT NOT NULL,          -- JSON: { dns, ip, email, uri }
          search       TEXT NOT NULL,          -- lower-cased subject, SANs, issuer, serial
          key_type     TEXT NOT NULL,
          key_bits     INTEGER,
          key_curve    TEXT,
          spki_sha256  TEXT,
          is_ca        INTEGER NOT NULL,
          first_seen   INTEGER NOT NULL,
          last_seen    INTEGER NOT NULL
        );
        CREATE INDEX certificates_spki ON certificates (spki_sha256);
        CREATE INDEX certificates_expiry ON certificates (not_after_ms, sha256);

        CREATE TABLE checks (
          id          INTEGER PRIMARY KEY AUTOINCREMENT,
          target_id   TEXT NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
          checked_at  INTEGER NOT NULL,
          status      TEXT NOT NULL CHECK (status IN ('ok', 'warning', 'critical', 'error')),
          duration_ms REAL NOT NULL,
          up          INTEGER NOT NULL,
          chain_len   INTEGER NOT NULL,
          result      TEXT NOT NULL          -- the TargetResult, JSON
        );
        CREATE INDEX checks_by_target ON checks (target_id, id);
        CREATE INDEX checks_with_chain ON checks (target_id, id) WHERE chain_len > 0;
        CREATE INDEX checks_by_time ON checks (checked_at);

        -- The path of each check, leaf first, by certificate.
        CREATE TABLE check_chain (
          check_id  INTEGER NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
          position  INTEGER NOT NULL,
          sha256    TEXT NOT NULL REFERENCES certificates (sha256),
          PRIMARY KEY (check_id, position)
        ) WITHOUT ROWID;
        CREATE INDEX check_chain_by_cert ON check_chain (sha256);

        -- What each target serves: its latest chain (see sqliteStore.ts for checks without one).
        CREATE TABLE served_by (
          target_id TEXT NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
          sha256    TEXT NOT NULL REFERENCES certificates (sha256),
          position  INTEGER NOT NULL,
          PRIMARY KEY (target_id, sha256)
        ) WITHOUT ROWID;
        CREATE INDEX served_by_cert ON served_by (sha256);

        CREATE TABLE events (
          id           INTEGER PRIMARY KEY AUTOINCREMENT,
          type         TEXT NOT NULL,
          target_id    TEXT NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
          target       TEXT NOT NULL,
          grp          TEXT NOT NULL,
          at           INTEGER NOT NULL,
          message      TEXT NOT NULL,
          old_status   TEXT,
          new_status   TEXT NOT NULL,
          certificates TEXT NOT NULL,          -- JSON array of SHA-256 hex
          findings     TEXT NOT NULL,          -- JSON array of findings
          check_id     INTEGER REFERENCES checks (id) ON DELETE SET NULL
        );
        CREATE INDEX events_by_target ON events (target_id, id);
        CREATE INDEX events_by_time ON events (at);
        CREATE INDEX events_by_check ON events (check_id);

        CREATE TABLE schedule (
          target_id          TEXT PRIMARY KEY,
          next_run_at        INTEGER NOT NULL,
          consecutive_errors INTEGER NOT NULL,
          updated_at         INTEGER NOT NULL
        );
      `);
    },
  },
  {
    version: 2,
    description: 'notification deliveries',
    up(db) {
      db.exec(`
        CREATE TABLE notifications (
          id       INTEGER PRIMARY KEY,
          event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
          channel  TEXT NOT NULL,
          outcome  TEXT NOT NULL CHECK (outcome IN ('sent', 'failed')),
          at       INTEGER NOT NULL,
          error    TEXT
        );
        CREATE INDEX notifications_by_event ON notifications (event_id, id);
      `);
    },
  },
  {
    version: 3,
    description:
      'compact history: deduplicated, deflated result bodies (resultCodec.ts) instead of JSON per check',
    up(db) {
      db.exec(`
        CREATE TABLE bodies (
          id   INTEGER PRIMARY KEY,
          hash BLOB NOT NULL UNIQUE,        -- SHA-256 of the body's JSON
          body BLOB NOT NULL                -- deflate-raw of that JSON
        );
        -- The certificates a body's path names: what the inventory's prune must keep.
        CREATE TABLE body_certs (
          sha256  TEXT NOT NULL,
          body_id INTEGER NOT NULL REFERENCES bodies (id) ON DELETE CASCADE,
          PRIMARY KEY (sha256, body_id)
        ) WITHOUT ROWID;
        CREATE INDEX body_certs_by_body ON body_certs (body_id);
        ALTER TABLE checks ADD COLUMN body_id INTEGER REFERENCES bodies (id);
        ALTER TABLE checks ADD COLUMN extra TEXT;
      `);
      // In batches: better-sqlite3 runs no other statement while one is being iterated.
      const batch = db.prepare<[number], { id: number; result: string }>(
        'SELECT id, result FROM checks WHERE id > ? ORDER BY id LIMIT 500',
      );
      const store = bodyWriter(db);
      const update = db.prepare('UPDATE checks SET body_id = ?, extra = ? WHERE id = ?');
      for (let after = 0, rows = batch.all(after); rows.length > 0; rows = batch.all(after)) {
        for (const r of rows) {
          const split = splitResult(JSON.parse(r.result) as TargetResult);
          update.run(store(split), split.extra, r.id);
          after = r.id;
        }
      }
      db.exec(`
        DROP TABLE check_chain;
        ALTER TABLE checks DROP COLUMN result;
        CREATE INDEX checks_by_body ON checks (body_id);
      `);
    },
  },
  {
    version: 4,
    description:
      "notification outcome 'suppressed' (a channel's duplicate, not sent); events by target and type (reminders)",
    up(db) {
      // SQLite cannot alter a CHECK constraint: the table is rebuilt with the wider one.
      db.exec(`
        CREATE TABLE notifications_v4 (
          id       INTEGER PRIMARY KEY,
          event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
          channel  TEXT NOT NULL,
          outcome  TEXT NOT NULL CHECK (outcome IN ('sent', 'failed', 'suppressed')),
          at       INTEGER NOT NULL,
          error    TEXT
        );
        INSERT INTO notifications_v4 (id, event_id, channel, outcome, at, error)
          SELECT id, event_id, channel, outcome, at, error FROM notifications
          WHERE event_id IN (SELECT id FROM events);
        DROP TABLE notifications;
        ALTER TABLE notifications_v4 RENAME TO notifications;
        CREATE INDEX notifications_by_event ON notifications (event_id, id);
        CREATE INDEX events_by_target_type ON events (target_id, type, at);
      `);
    },
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings `db` to SCHEMA_VERSION (or refuses it: newer than this code). `path` is for messages.
 * Returns the version found before migrating.
 */
export function migrate(
  db: Database.Database,
  path: string,
  migrations: readonly Migration[] = MIGRATIONS,
): number {
  const latest = migrations.reduce((v, m) => Math.max(v, m.version), 0);
  const found = userVersion(db);
  const refuseNewer = (v: number) =>
    new StoreError(
      'CERTVET_STORE_NEWER',
      `${path}: the database is at schema version ${v}, newer than this certvet understands (${latest}); upgrade certvet or use another store file`,
      { path },
    );
  if (found > latest) throw refuseNewer(found);
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  for (const m of ordered) {
    const apply = db.transaction(() => {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      const now = userVersion(db);
      if (now > latest) throw refuseNewer(now);
      if (now >= m.version) return;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    });
    try {
      apply.immediate();
    } catch (e) {
      if (e instanceof StoreError) throw e;
      throw new StoreError(
        'CERTVET_STORE_MIGRATION',
        `${path}: schema migration ${m.version} (${m.description}) failed: ${(e as Error).message}`,
        { path, cause: e },
      );
    }
  }
  return found;
}
