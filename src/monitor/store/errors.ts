/*
 * The store's one error class. Callers (serve's start-up, the API) branch on `code`, which is
 * stable; the message is for people and names the database file where there is one.
 */

export type StoreErrorCode =
  /** The file cannot be opened or is not an SQLite database (corrupt, wrong file, a directory). */
  | 'CERTVET_STORE_OPEN'
  /** The database was written by a newer certvet (its user_version is above this code's). */
  | 'CERTVET_STORE_NEWER'
  /** A schema migration failed; the database was left at the version before it. */
  | 'CERTVET_STORE_MIGRATION'
  /** better-sqlite3's native addon could not be loaded (built for another Node ABI, missing). */
  | 'CERTVET_STORE_BINDING'
  /** A pagination cursor that this store did not hand out (or for another list). */
  | 'CERTVET_STORE_CURSOR';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;
  /** The database file concerned, when there is one. */
  readonly path: string | null;

  constructor(code: StoreErrorCode, message: string, o: { path?: string | null; cause?: unknown } = {}) {
    super(message, o.cause === undefined ? undefined : { cause: o.cause });
    this.code = code;
    this.path = o.path ?? null;
  }
}
