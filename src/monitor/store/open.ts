/*
 * Opening the SQLite file: better-sqlite3's connection with the settings the service relies on
 * (WAL so the API reads while the scheduler writes, foreign keys, a busy timeout for a second
 * process such as `serve --check-config` or a backup), then the migrations. Every failure
 * becomes a StoreError naming the file, never a bare SQLite error.
 *
 * CERTVET_SQLITE_BINDING (a path to a better_sqlite3.node) replaces the addon built in
 * node_modules. Only the CI's Node matrix (.ci/node-matrix.sh) sets it, to run the suite on
 * other Node majors with an addon built for their ABI while node_modules keeps Node 20's.
 */
import Database from 'better-sqlite3';
import { StoreError } from './errors.js';
import { migrate } from './migrations.js';

export const BINDING_ENV = 'CERTVET_SQLITE_BINDING';

function isBindingFailure(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown };
  const msg = typeof err?.message === 'string' ? err.message : '';
  return (
    err?.code === 'ERR_DLOPEN_FAILED' ||
    /NODE_MODULE_VERSION|Could not locate the bindings file|invalid ELF header|better_sqlite3\.node/.test(msg)
  );
}

function describe(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? `${err.code}: ` : '';
  return `${code}${typeof err?.message === 'string' ? err.message : String(e)}`;
}

/** Opens (creating when absent) and migrates the database at `path`. */
export function openDatabase(path: string): Database.Database {
  const binding = process.env[BINDING_ENV];
  let db: Database.Database;
  try {
    db = new Database(path, binding ? { nativeBinding: binding } : {});
  } catch (e) {
    if (isBindingFailure(e))
      throw new StoreError(
        'CERTVET_STORE_BINDING',
        `${path}: better-sqlite3's native addon${binding ? ` (${binding}, from ${BINDING_ENV})` : ''} cannot be loaded by Node ${process.version} (ABI ${process.versions.modules}): ${describe(e)}; rebuild it for this Node (npm rebuild better-sqlite3)`,
        { path, cause: e },
      );
    throw new StoreError('CERTVET_STORE_OPEN', `${path}: cannot open the store: ${describe(e)}`, {
      path,
      cause: e,
    });
  }
  try {
    // journal_mode reads the header first: a file that is not a database fails here.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, path);
    return db;
  } catch (e) {
    db.close();
    if (e instanceof StoreError) throw e;
    throw new StoreError(
      'CERTVET_STORE_OPEN',
      `${path}: not a usable certvet store (${describe(e)}); is it an SQLite database?`,
      { path, cause: e },
    );
  }
}
