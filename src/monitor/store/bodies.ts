/*
 * The `bodies` table (migration 3): a result body is stored once per distinct content,
 * deflated, with the certificates its path names in `body_certs` (what the inventory's prune
 * keeps). Used by the store for every check and by migration 3 for the rows it converts.
 */
import type Database from 'better-sqlite3';
import { compressBody, type SplitResult } from './resultCodec.js';

/** Stores a split result's body once (by hash); returns its row id. */
export function bodyWriter(db: Database.Database): (split: SplitResult) => number {
  const find = db.prepare<[Buffer], { id: number }>('SELECT id FROM bodies WHERE hash = ?');
  const insert = db.prepare('INSERT INTO bodies (hash, body) VALUES (?, ?)');
  const cert = db.prepare('INSERT OR IGNORE INTO body_certs (sha256, body_id) VALUES (?, ?)');
  return (split) => {
    const found = find.get(split.hash);
    if (found) return found.id;
    const id = Number(insert.run(split.hash, compressBody(split.bodyJson)).lastInsertRowid);
    for (const sha of split.chainSha256) cert.run(sha, id);
    return id;
  };
}
