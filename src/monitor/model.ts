/*
 * The monitoring service's model (`certvet serve`, DESIGN.md §9): what is monitored, what a
 * check left behind, the certificate inventory and the change events. The store
 * (src/monitor/store/), the event detector (src/monitor/events.ts), the notifiers
 * (src/monitor/notify/), the HTTP API and the dashboard all speak these types; the checks
 * themselves are the library's TargetResult (src/model/result.ts), made by one createChecker.
 */
import type { ChainEntry } from '../model/chainEntry.js';
import type { Status, TargetResult } from '../model/result.js';

/** A target as the service monitors it: one entry of a group, with a stable id. */
export interface MonitoredTarget {
  /** Stable across restarts and reloads: derived from the group name and the target text. */
  readonly id: string;
  readonly group: string;
  /** The target as configured (the `check -f` grammar: "host:port", "smtp://host", …). */
  readonly target: string;
  /** Seconds between checks (the group's interval, else the defaults'). */
  readonly intervalSec: number;
  /** Labels from the group (exported as Prometheus labels and shown in the dashboard). */
  readonly labels: Readonly<Record<string, string>>;
  /** Thresholds that make `expiry-threshold` events. */
  readonly warnDays: number;
  readonly critDays: number;
  /**
   * Seconds after which an ongoing problem (a status other than ok that has not changed) is
   * announced again with a `reminder` event; null or absent: never.
   */
  readonly renotifySec?: number | null;
}

/** One check of one target, as stored. */
export interface CheckRecord {
  /** Store-assigned, increasing; 0 for a check the store could not keep (src/monitor/service.ts). */
  readonly id: number;
  readonly targetId: string;
  /** Milliseconds since the epoch, when the check finished. */
  readonly checkedAt: number;
  readonly status: Status;
  readonly durationMs: number;
  /** Whether a handshake completed (the endpoint answered with certificates). */
  readonly up: boolean;
  /** The whole result as the library gave it (findings, chain, tls, timings…). */
  readonly result: TargetResult;
  /** SHA-256 (hex) of each certificate of `result.chain`, leaf first. */
  readonly chainSha256: readonly string[];
}

/** The certificate inventory: one row per certificate ever seen, by SHA-256. */
export interface CertificateRecord {
  readonly sha256: string;
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly subjectAltNames: ChainEntry['subjectAltNames'];
  /** The key: type/bits/curve, and the SHA-256 of the SubjectPublicKeyInfo (key reuse). */
  readonly publicKey: ChainEntry['publicKey'];
  readonly spkiSha256: string | null;
  readonly isCA: boolean;
  /** Milliseconds since the epoch. */
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** Target ids that served it in their latest check (it is "still served" while non-empty). */
  readonly servedBy: readonly string[];
}

export const EVENT_TYPES = [
  'status-changed',
  'expiry-threshold',
  'rotated',
  'issuer-changed',
  'chain-changed',
  'key-reused',
  'revoked',
  'reminder',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A change noticed between two checks of a target (or the first check). */
export interface MonitorEvent {
  /** Store-assigned once stored; 0 before. */
  readonly id: number;
  readonly type: EventType;
  readonly targetId: string;
  /** The target as configured, and its group. */
  readonly target: string;
  readonly group: string;
  /** Milliseconds since the epoch. */
  readonly at: number;
  /** A plain sentence saying what changed (escaped where it is shown, never here). */
  readonly message: string;
  readonly oldStatus: Status | null;
  readonly newStatus: Status;
  /** The certificates concerned (SHA-256 hex): e.g. the old and the new leaf for `rotated`. */
  readonly certificates: readonly string[];
  /** The findings of the check that raised it. */
  readonly findings: TargetResult['findings'];
}

/** One delivery of an event through a notification channel, as recorded. */
export interface NotificationRecord {
  readonly eventId: number;
  readonly channel: string;
  /**
   * `sent`: the receiver accepted it; `failed`: given up (the error says why, secrets removed);
   * `suppressed`: not sent, because the channel had just been told the same (the error field
   * says when).
   */
  readonly outcome: 'sent' | 'failed' | 'suppressed';
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly error: string | null;
}

/** The latest state of a target: what the API's target list and /metrics are built from. */
export interface TargetState {
  readonly target: MonitoredTarget;
  readonly last: CheckRecord | null;
  /** When the next check is due (ms since the epoch). */
  readonly nextRunAt: number;
  /** Consecutive checks with status `error` (the scheduler backs off on them). */
  readonly consecutiveErrors: number;
}

/** How long a target has had its status, and when it was last reminded of it (ms since the epoch). */
export interface StatusSince {
  readonly since: number;
  readonly remindedAt: number | null;
}

/** A page of a list: `next` is the cursor for the following page, null at the end. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next: string | null;
}

export interface CertificateQuery {
  /** Substring of the subject, a SAN, the issuer or the serial (case-insensitive). */
  readonly q?: string;
  /** Only certificates whose notAfter falls before this (ms since the epoch). */
  readonly expiresBefore?: number;
  /** Only certificates still served. */
  readonly served?: boolean;
  readonly limit?: number;
  readonly cursor?: string;
}

/**
 * The service's persistence (SQLite by default; an interface so that a shared database can be
 * added). Every method is synchronous and bounded: lists are paged.
 */
export interface Store {
  /**
   * Records one check: the history row, the inventory rows of its chain (first/last seen,
   * served-by), and the events given, in one transaction. Returns the stored check and events
   * (with their ids).
   */
  recordCheck(
    target: MonitoredTarget,
    result: TargetResult,
    checkedAt: number,
    events: readonly MonitorEvent[],
  ): { check: CheckRecord; events: MonitorEvent[] };
  /** The latest check of a target, or null. */
  lastCheck(targetId: string): CheckRecord | null;
  /** A target's checks, newest first. */
  history(targetId: string, o?: { limit?: number; cursor?: string }): Page<CheckRecord>;
  certificate(sha256: string): CertificateRecord | null;
  certificates(q?: CertificateQuery): Page<CertificateRecord>;
  /** Whether a key (SPKI SHA-256) was seen before in a certificate other than `exceptSha256`. */
  keySeenBefore(spkiSha256: string, exceptSha256: string): boolean;
  /** Events, newest first; of one target when `targetId` is given. */
  events(o?: { targetId?: string; limit?: number; cursor?: string }): Page<MonitorEvent>;
  /** Records how a notification of a stored event went. */
  recordNotification(n: NotificationRecord): void;
  /** The deliveries of an event, oldest first. */
  notifications(eventId: number): NotificationRecord[];
  /** Scheduling state that must survive a restart: next run time and error streak per target. */
  saveSchedule(targetId: string, nextRunAt: number, consecutiveErrors: number): void;
  loadSchedule(): Map<string, { nextRunAt: number; consecutiveErrors: number }>;
  /** The targets configured now: the ones not in this list stop being "served by" anything. */
  retainTargets(targetIds: readonly string[]): void;
  /**
   * Deletes check history (and events) older than `beforeMs`; never the inventory rows of
   * certificates still served, nor the latest check of a target. Returns rows deleted.
   */
  prune(beforeMs: number): number;
  close(): void;
}
