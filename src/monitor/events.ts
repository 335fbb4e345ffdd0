/*
 * The change-event detector: compares a target's new result with what the store holds and says
 * what changed (DESIGN.md §9 events). Pure apart from the store lookups it is given; time comes
 * in as `now` (the check's time), never from the clock.
 *
 * Decisions:
 * - First check of a target (no previous): `status-changed` (from null) only when the status is
 *   not ok — a target that is broken from the moment it is monitored must be announced, or
 *   nobody hears of it; a healthy one is not news — and `expiry-threshold` for every
 *   certificate already inside a threshold,
 *   `revoked` for every revoked certificate, and `key-reused` when the leaf's key is known from
 *   another certificate: those are news whether or not we watched the target before.
 * - A check that received no certificate (an `error` with an empty chain) raises only
 *   `status-changed`: no certificate was received, so nothing was rotated or re-chained.
 * - Certificate comparisons (rotated, issuer-changed, chain-changed, thresholds, revoked) are
 *   made against the latest check that *had* a chain: `previous` when it has one, else
 *   `store.lastCheckWithChain` (SqliteStore has it; a store without it skips them). So
 *   certificate A, an outage, then certificate B is one `rotated` event, not none.
 * - Thresholds are levels — none, warning (< warnDays), critical (< critDays), expired — computed
 *   for each certificate of the path from its notAfter at each check's own time; an event is
 *   raised when a certificate's level goes up (a certificate not on the compared path counts as
 *   "none" before, so one first seen inside a threshold raises it once).
 * - `key-reused` concerns leaves only (CAs re-certify their keys by design) and a leaf new to the
 *   target (first check or rotated) whose SPKI the inventory knows from another certificate.
 * - `revoked`: a certificate revoked now (a `revoked` finding's certIndex, or its revocation
 *   status) that was not revoked on the compared check.
 * - `reminder`: the target's status is not ok, is the same as at the previous check, and has
 *   gone unannounced for the target's `renotifySec`: the later of its last `status-changed`
 *   (else its oldest kept check) and its last `reminder` is at least that long ago
 *   (`store.statusSince`; a store without it sends no reminders). So an ongoing problem is
 *   repeated at that interval, across restarts, and a change of status starts the count anew.
 */
import type { ChainEntry } from '../model/chainEntry.js';
import type { TargetResult } from '../model/result.js';
import type { CheckRecord, EventType, MonitorEvent, MonitoredTarget, StatusSince, Store } from './model.js';

/** What detectEvents reads from the store (lastCheckWithChain is optional: see above). */
export type EventStore = Pick<Store, 'keySeenBefore'> & {
  lastCheckWithChain?(targetId: string): CheckRecord | null;
  statusSince?(targetId: string): StatusSince | null;
};

const DAY_MS = 86400_000;

type Level = 0 | 1 | 2 | 3;
const LEVEL_NAME = ['', 'warning', 'critical', 'expired'] as const;

/** Whole days until notAfter at `at` (as the check pipeline counts them). */
export function daysLeft(entry: Pick<ChainEntry, 'notAfter'>, at: number): number {
  return Math.floor((Date.parse(entry.notAfter) - at) / DAY_MS);
}

function levelOf(entry: ChainEntry, at: number, t: MonitoredTarget): Level {
  if (Date.parse(entry.notAfter) <= at) return 3;
  const days = daysLeft(entry, at);
  if (days < t.critDays) return 2;
  if (days < t.warnDays) return 1;
  return 0;
}

/** "the leaf certificate", "intermediate #1", "the root certificate". */
function roleOf(chain: readonly ChainEntry[], i: number): string {
  if (i === 0) return 'the leaf certificate';
  const c = chain[i]!;
  if (i === chain.length - 1 && c.isCA && c.selfSigned) return 'the root certificate';
  return `intermediate #${i}`;
}

/** A sentence that starts with a role ("the leaf certificate …") starts with a capital. */
function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function dateOf(iso: string): string {
  return iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
}

/** "CN=x (serial 0a1b, valid 2026-01-01 00:00:00 UTC to 2026-04-01 00:00:00 UTC)". */
function describe(c: ChainEntry): string {
  return `${c.subject} (serial ${c.serialNumber}, valid ${dateOf(c.notBefore)} to ${dateOf(c.notAfter)})`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 || n === -1 ? '' : 's'}`;
}

/** "3 days", "5 hours", "12 minutes": the largest whole unit of a span. */
function span(ms: number): string {
  if (ms >= DAY_MS) return plural(Math.floor(ms / DAY_MS), 'day');
  if (ms >= 3600_000) return plural(Math.floor(ms / 3600_000), 'hour');
  return plural(Math.max(0, Math.floor(ms / 60_000)), 'minute');
}

/** SHA-256 of every certificate of `result` that it reports revoked. */
function revokedOf(result: TargetResult): Set<string> {
  const out = new Set<string>();
  for (const c of result.chain) if (c.revocation?.status === 'revoked') out.add(c.sha256);
  for (const f of result.findings)
    if (f.code === 'revoked') {
      const c = result.chain[f.certIndex ?? 0];
      if (c) out.add(c.sha256);
    }
  return out;
}

export function detectEvents(
  target: MonitoredTarget,
  previous: CheckRecord | null,
  result: TargetResult,
  now: number,
  store: EventStore,
): MonitorEvent[] {
  const events: MonitorEvent[] = [];
  const chain = result.chain;
  const leaf = chain[0];
  const raise = (type: EventType, message: string, certificates: readonly string[]) =>
    events.push({
      id: 0,
      type,
      targetId: target.id,
      target: target.target,
      group: target.group,
      at: now,
      message,
      oldStatus: previous?.status ?? null,
      newStatus: result.status,
      certificates,
      findings: result.findings,
    });
  const name = target.target;

  if (previous ? previous.status !== result.status : result.status !== 'ok') {
    const worst = result.findings.find((f) => f.severity === result.status) ?? result.findings[0];
    raise(
      'status-changed',
      `${name} ${previous ? `changed from ${previous.status} to ${result.status}` : `is ${result.status} at its first check`}${leaf ? `; it serves ${describe(leaf)}` : '; no certificate was received'}${worst ? `: ${worst.message}` : ''}.`,
      leaf ? [leaf.sha256] : [],
    );
  }
  const every = (target.renotifySec ?? 0) * 1000;
  if (every > 0 && previous && previous.status === result.status && result.status !== 'ok') {
    const s = store.statusSince?.(target.id);
    if (s && now - Math.max(s.since, s.remindedAt ?? 0) >= every) {
      const worst = result.findings.find((f) => f.severity === result.status) ?? result.findings[0];
      const state = result.status === 'error' ? 'in error (it could not be checked)' : result.status;
      raise(
        'reminder',
        `${name} has been ${state} since ${dateOf(new Date(s.since).toISOString())} (${span(now - s.since)})${leaf ? `; it serves ${describe(leaf)}` : ''}${worst ? `: ${worst.message}` : ''}.`,
        leaf ? [leaf.sha256] : [],
      );
    }
  }
  // Nothing received: nothing about certificates can have changed.
  if (!leaf) return events;

  const base =
    previous && previous.result.chain.length > 0
      ? previous
      : previous
        ? (store.lastCheckWithChain?.(target.id) ?? null)
        : null;
  // With a previous check but no way to find its last chain, certificate comparisons are skipped.
  const comparable = previous === null || base !== null;
  const before = base?.result.chain ?? [];
  const oldLeaf = before[0];

  if (oldLeaf && oldLeaf.sha256 !== leaf.sha256) {
    raise('rotated', `${name} now serves ${describe(leaf)} instead of ${describe(oldLeaf)}.`, [
      oldLeaf.sha256,
      leaf.sha256,
    ]);
    if (oldLeaf.issuer !== leaf.issuer)
      raise(
        'issuer-changed',
        `The leaf certificate of ${name} is now issued by ${leaf.issuer} instead of ${oldLeaf.issuer}: ${describe(leaf)} replaced ${describe(oldLeaf)}.`,
        [oldLeaf.sha256, leaf.sha256],
      );
  } else if (oldLeaf) {
    const was = before.slice(1).map((c) => c.sha256);
    const is = chain.slice(1).map((c) => c.sha256);
    if (was.join() !== is.join()) {
      const path = (c: readonly ChainEntry[]) =>
        c.length > 1
          ? c
              .slice(1)
              .map((e) => `${e.subject} (serial ${e.serialNumber}, valid to ${dateOf(e.notAfter)})`)
              .join(' → ')
          : 'no issuer certificate';
      const changed = [...is.filter((h) => !was.includes(h)), ...was.filter((h) => !is.includes(h))];
      raise(
        'chain-changed',
        `${name} still serves ${describe(leaf)}, but its path above the leaf changed from ${path(before)} to ${path(chain)}.`,
        [leaf.sha256, ...changed],
      );
    }
  }

  const newLeaf = comparable && (!oldLeaf || oldLeaf.sha256 !== leaf.sha256);
  const spki = leaf.publicKey.spkiSha256;
  if (newLeaf && spki && store.keySeenBefore(spki, leaf.sha256))
    raise(
      'key-reused',
      `${name} serves ${describe(leaf)}, whose public key (SPKI SHA-256 ${spki}) was already used by another certificate.`,
      [leaf.sha256],
    );

  if (comparable) {
    const beforeAt = base?.checkedAt ?? now;
    const beforeBySha = new Map(before.map((c) => [c.sha256, c] as const));
    const reported = new Set<string>();
    chain.forEach((c, i) => {
      if (reported.has(c.sha256)) return;
      reported.add(c.sha256);
      const level = levelOf(c, now, target);
      const old = beforeBySha.get(c.sha256);
      const was: Level = old ? levelOf(old, beforeAt, target) : 0;
      if (level <= was) return;
      const days = daysLeft(c, now);
      const what = `${capital(roleOf(chain, i))} of ${name}, ${describe(c)},`;
      const message =
        level === 3
          ? `${what} expired on ${dateOf(c.notAfter)}.`
          : `${what} expires on ${dateOf(c.notAfter)}, in ${plural(days, 'day')}: inside the ${LEVEL_NAME[level]} threshold of ${plural(level === 2 ? target.critDays : target.warnDays, 'day')}.`;
      raise('expiry-threshold', message, [c.sha256]);
    });

    const revokedBefore = base ? revokedOf(base.result) : new Set<string>();
    const revokedNow = revokedOf(result);
    chain.forEach((c, i) => {
      if (!revokedNow.has(c.sha256) || revokedBefore.has(c.sha256)) return;
      revokedBefore.add(c.sha256); // once per certificate, even when the path lists it twice
      const finding = result.findings.find((f) => f.code === 'revoked' && (f.certIndex ?? 0) === i);
      const info = c.revocation;
      const why = finding
        ? finding.message
        : `${info?.source ?? 'its revocation source'} says so${info?.reason ? ` (reason ${info.reason})` : ''}, checked ${info?.checkedAt ? dateOf(info.checkedAt) : 'now'}`;
      raise('revoked', `${capital(roleOf(chain, i))} of ${name}, ${describe(c)}, is revoked: ${why}.`, [
        c.sha256,
      ]);
    });
  }
  return events;
}
