/*
 * Rows as SQLite returns them, and their mapping to the model's records: the one place that
 * knows how a column encodes a field (JSON text, 0/1 booleans, milliseconds as integers).
 */
import type { ChainEntry } from '../../model/chainEntry.js';
import type { Status, TargetResult } from '../../model/result.js';
import type { CertificateRecord, CheckRecord, EventType, MonitorEvent } from '../model.js';
import { decodeBody, joinResult } from './resultCodec.js';

export interface CheckRow {
  readonly id: number;
  readonly target_id: string;
  readonly checked_at: number;
  readonly status: Status;
  readonly duration_ms: number;
  readonly up: number;
  /** The volatile fields (resultCodec.ts). */
  readonly extra: string;
  readonly body_id: number;
  /** The deflated body (resultCodec.ts). */
  readonly body: Buffer;
}

export interface CertificateRow {
  readonly sha256: string;
  readonly subject: string;
  readonly issuer: string;
  readonly serial: string;
  readonly not_before: string;
  readonly not_after: string;
  readonly not_after_ms: number;
  readonly sans: string;
  readonly key_type: string;
  readonly key_bits: number | null;
  readonly key_curve: string | null;
  readonly spki_sha256: string | null;
  readonly is_ca: number;
  readonly first_seen: number;
  readonly last_seen: number;
  /** JSON array of target ids (from served_by). */
  readonly served_by: string;
}

export interface EventRow {
  readonly id: number;
  readonly type: EventType;
  readonly target_id: string;
  readonly target: string;
  readonly grp: string;
  readonly at: number;
  readonly message: string;
  readonly old_status: Status | null;
  readonly new_status: Status;
  readonly certificates: string;
  readonly findings: string;
}

/** Decoded bodies by row id, shared across the rows of one page (bodies repeat). */
export type BodyCache = Map<number, ReturnType<typeof decodeBody>>;

export function checkOf(r: CheckRow, bodies: BodyCache = new Map()): CheckRecord {
  let body = bodies.get(r.body_id);
  if (!body) {
    body = decodeBody(r.body);
    bodies.set(r.body_id, body);
  }
  const result = joinResult(body, r.extra);
  return {
    id: r.id,
    targetId: r.target_id,
    checkedAt: r.checked_at,
    status: r.status,
    durationMs: r.duration_ms,
    up: r.up === 1,
    result,
    chainSha256: result.chain.map((c) => c.sha256),
  };
}

export function certificateOf(r: CertificateRow): CertificateRecord {
  return {
    sha256: r.sha256,
    subject: r.subject,
    issuer: r.issuer,
    serialNumber: r.serial,
    notBefore: r.not_before,
    notAfter: r.not_after,
    subjectAltNames: JSON.parse(r.sans) as ChainEntry['subjectAltNames'],
    publicKey: {
      type: r.key_type as ChainEntry['publicKey']['type'],
      bits: r.key_bits,
      curve: r.key_curve,
      spkiSha256: r.spki_sha256 ?? '',
    },
    spkiSha256: r.spki_sha256,
    isCA: r.is_ca === 1,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    servedBy: (JSON.parse(r.served_by) as string[]).sort(),
  };
}

export function eventOf(r: EventRow): MonitorEvent {
  return {
    id: r.id,
    type: r.type,
    targetId: r.target_id,
    target: r.target,
    group: r.grp,
    at: r.at,
    message: r.message,
    oldStatus: r.old_status,
    newStatus: r.new_status,
    certificates: JSON.parse(r.certificates) as string[],
    findings: JSON.parse(r.findings) as TargetResult['findings'],
  };
}

/** The inventory columns of a chain entry, seen at `at`. */
export function certificateParams(c: ChainEntry, at: number): Record<string, string | number | null> {
  const sans = c.subjectAltNames;
  const search = [c.subject, c.issuer, c.serialNumber, ...sans.dns, ...sans.ip, ...sans.email, ...sans.uri]
    .join('\n')
    .toLowerCase();
  return {
    sha256: c.sha256,
    subject: c.subject,
    issuer: c.issuer,
    serial: c.serialNumber,
    not_before: c.notBefore,
    not_after: c.notAfter,
    not_after_ms: Date.parse(c.notAfter),
    sans: JSON.stringify({ dns: sans.dns, ip: sans.ip, email: sans.email, uri: sans.uri }),
    search,
    key_type: c.publicKey.type,
    key_bits: c.publicKey.bits,
    key_curve: c.publicKey.curve,
    // Results stored before chain entries carried it have no spkiSha256.
    spki_sha256: c.publicKey.spkiSha256 || null,
    is_ca: c.isCA ? 1 : 0,
    at,
  };
}
