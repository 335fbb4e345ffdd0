/*
 * Opaque pagination cursors for the store's keyset pagination: the sort key of the last row of
 * a page, tagged with the list it belongs to, as base64url JSON. Opaque to callers (the API
 * hands them out as is); a cursor that does not decode, or belongs to another list, is a
 * StoreError, which the API turns into a 400.
 */
import { StoreError } from './errors.js';

export type CursorKind = 'history' | 'events' | 'certificates';
export type CursorKey = readonly (string | number)[];

export function encodeCursor(kind: CursorKind, key: CursorKey): string {
  return Buffer.from(JSON.stringify([kind, ...key]), 'utf8').toString('base64url');
}

/** The key inside `cursor`, checked against the shape the list expects (`types`). */
export function decodeCursor(
  kind: CursorKind,
  cursor: string,
  types: readonly ('string' | 'number')[],
): CursorKey {
  let parsed: unknown;
  try {
    if (cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  const ok =
    Array.isArray(parsed) &&
    parsed[0] === kind &&
    parsed.length === types.length + 1 &&
    types.every((t, i) => typeof parsed[i + 1] === t && (t === 'string' || Number.isFinite(parsed[i + 1])));
  if (!ok)
    throw new StoreError('CERTVET_STORE_CURSOR', `not a cursor of this ${kind} list: ${cursor.slice(0, 80)}`);
  return (parsed as unknown[]).slice(1) as CursorKey;
}

/** Page sizes: `limit` as asked, within 1..max (default `dflt`). */
export function pageSize(limit: number | undefined, dflt = 50, max = 500): number {
  if (limit === undefined || !Number.isFinite(limit)) return dflt;
  return Math.min(max, Math.max(1, Math.floor(limit)));
}
