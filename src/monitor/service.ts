/*
 * The monitoring service's core (`certvet serve`): monitored targets checked on schedule through
 * the library's checkers (one per group, built by the CLI's plan from the config), each result
 * compared with the previous one (change events), stored (history, inventory, events), announced
 * to the notifiers and exported as metrics. Reload swaps the plan without losing state or
 * history; stop finishes the checks in flight (each bounded by its deadline) and persists the
 * schedule. The HTTP layer (src/monitor/http.ts) only reads from here.
 */
import type { Checker, TargetInput } from '../check/checker.js';
import type { TargetResult } from '../model/result.js';
import { detectEvents, type EventStore } from './events.js';
import { createServiceMetrics, type SeriesSource } from './metrics.js';
import type { CheckRecord, MonitorEvent, MonitoredTarget, StatusSince, Store, TargetState } from './model.js';
import { Scheduler } from './scheduler.js';
import { endpointUp } from './up.js';

export interface MonitorGroup {
  readonly name: string;
  readonly checker: Checker;
  readonly targets: readonly { readonly monitored: MonitoredTarget; readonly input: TargetInput }[];
}

/** What the service runs: built from the config by src/cli/servePlan.ts (or in code). */
export interface MonitorPlan {
  readonly groups: readonly MonitorGroup[];
  /** Named check options for /probe (`module=`). */
  readonly modules: ReadonlyMap<string, Checker>;
  /** The checker /probe uses without a module. */
  readonly probeChecker: Checker;
  /** Glob patterns over the target text: nothing else is probed. */
  readonly probeAllow: readonly string[];
  readonly concurrency: number;
  readonly jitter: number;
  readonly retentionDays: number;
}

/** Where events go besides the store (src/monitor/notify/). */
export interface EventSink {
  notify(events: readonly MonitorEvent[]): void;
  /** Delivers what is queued, giving up (and reporting) what is left after `timeoutMs`. */
  flush?(o: { timeoutMs: number }): Promise<void>;
  close?(): void | Promise<void>;
}

export interface MonitorOptions {
  readonly store: Store;
  readonly notifier?: EventSink;
  readonly now?: () => number;
  readonly random?: () => number;
  /** One line per noteworthy thing (never key material). */
  readonly log?: (line: string) => void;
}

export interface Monitor {
  readonly store: Store;
  /** Every monitored target with its latest check, in config order. */
  targets(): TargetState[];
  target(id: string): TargetState | null;
  /** Checks a target now (waits for a check already running); null when unknown. */
  runNow(id: string): Promise<CheckRecord | null>;
  /** Swaps in a new plan: targets kept keep their state and schedule; removed ones stop. */
  reload(plan: MonitorPlan): void;
  readonly plan: MonitorPlan;
  /** The /metrics exposition. */
  metrics(): Promise<{ body: string; contentType: string }>;
  /**
   * Stops scheduling, waits for checks in flight (each bounded by its deadline), delivers the
   * queued notifications for up to `flushMs` (default 10 s), closes the store.
   */
  stop(o?: { flushMs?: number }): Promise<void>;
}

/** A check the store could not keep: shown and exported from memory until the next one. */
function unstoredRecord(targetId: string, result: TargetResult, checkedAt: number): CheckRecord {
  return {
    id: 0,
    targetId,
    checkedAt,
    status: result.status,
    durationMs: result.durationMs,
    up: endpointUp(result),
    result,
    chainSha256: result.chain.map((c) => c.sha256),
  };
}

export function startMonitor(initial: MonitorPlan, o: MonitorOptions): Monitor {
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const store = o.store;
  let plan = initial;
  let byId = new Map<string, { monitored: MonitoredTarget; input: TargetInput; checker: Checker }>();
  const last = new Map<string, CheckRecord>();
  let stopping = false;

  const index = (p: MonitorPlan) => {
    const m = new Map<string, { monitored: MonitoredTarget; input: TargetInput; checker: Checker }>();
    for (const g of p.groups) for (const t of g.targets) m.set(t.monitored.id, { ...t, checker: g.checker });
    return m;
  };

  const labelNames = (p: MonitorPlan) => [
    ...new Set(p.groups.flatMap((g) => g.targets.flatMap((t) => Object.keys(t.monitored.labels)))),
  ];
  const sources = function* (): Generator<SeriesSource> {
    for (const { monitored } of byId.values()) {
      const c = last.get(monitored.id);
      if (c)
        yield {
          target: monitored.target,
          group: monitored.group,
          labels: monitored.labels,
          result: c.result,
          checkedAt: c.checkedAt,
        };
    }
  };
  const metrics = createServiceMetrics({ sources, labelNames: labelNames(plan), now });

  // What this process announced, per target: the store dates reminders, but a store that
  // cannot write (or read) must not make a reminder go out at every check.
  const announced = new Map<string, { changedAt?: number; remindedAt?: number }>();
  const remember = (id: string, events: readonly MonitorEvent[]) => {
    for (const e of events)
      if (e.type === 'status-changed' || e.type === 'reminder') {
        const a = announced.get(id) ?? {};
        if (e.type === 'status-changed') a.changedAt = e.at;
        else a.remindedAt = e.at;
        announced.set(id, a);
      }
  };
  /** The later of what the store says and what this process announced. */
  const statusSince = (targetId: string, fromStore: StatusSince | null): StatusSince | null => {
    const a = announced.get(targetId);
    const since = Math.max(fromStore?.since ?? -1, a?.changedAt ?? -1);
    const reminded = Math.max(fromStore?.remindedAt ?? -1, a?.remindedAt ?? -1);
    return since < 0 ? null : { since, remindedAt: reminded < 0 ? null : reminded };
  };
  // What detectEvents reads: the store with this process's memory over it, or (when the store
  // cannot be read) the memory alone.
  const full = store as Store & EventStore;
  const withMemory: EventStore = {
    keySeenBefore: (spki, sha) => full.keySeenBefore(spki, sha),
    ...(full.lastCheckWithChain ? { lastCheckWithChain: (t: string) => full.lastCheckWithChain!(t) } : {}),
    statusSince: (t) => statusSince(t, full.statusSince?.(t) ?? null),
  };
  const memoryOnly: EventStore = {
    keySeenBefore: () => false,
    statusSince: (t) => statusSince(t, null),
  };

  const check = async (id: string): Promise<{ error: boolean }> => {
    const t = byId.get(id);
    if (!t) return { error: false };
    let result: TargetResult;
    try {
      result = await t.checker.check(t.input);
    } catch (e) {
      // check() does not throw for the endpoint's faults; anything else is logged, and the
      // target is left as it was (an error streak, so it backs off).
      o.log?.(`check of ${t.monitored.target} failed: ${(e as Error).message}`);
      return { error: true };
    }
    const at = now();
    let previous = last.get(id) ?? null;
    let events: MonitorEvent[];
    try {
      previous ??= store.lastCheck(id);
      events = detectEvents(t.monitored, previous, result, at, withMemory);
    } catch (e) {
      // A store that cannot be read must not silence a change: compare with what is in memory
      // (no key-reuse check, reminders only from what this process announced).
      o.log?.(
        `could not read the store for ${t.monitored.target} (events from memory only): ${(e as Error).message}`,
      );
      metrics.storeError();
      events = detectEvents(t.monitored, previous, result, at, memoryOnly);
    }
    remember(id, events);
    let stored: { check: CheckRecord; events: MonitorEvent[] };
    try {
      stored = store.recordCheck(t.monitored, result, at, events);
    } catch (e) {
      // Fail closed: the check happened, so what it found is shown, exported and announced even
      // though the store could not keep it (a full disk must not leave a revoked endpoint
      // reported as ok). The record has id 0 (not stored); so do its events, which are
      // delivered but cannot be recorded with their deliveries.
      o.log?.(`could not store the check of ${t.monitored.target}: ${(e as Error).message}`);
      metrics.storeError();
      stored = { check: unstoredRecord(id, result, at), events };
    }
    // A target removed by a reload while it was being checked is stored but not shown.
    if (byId.get(id) === t) {
      last.set(id, stored.check);
      metrics.observeDuration(t.monitored.target, t.monitored.group, result.durationMs / 1000);
    }
    if (stored.events.length) o.notifier?.notify(stored.events);
    return { error: result.status === 'error' };
  };

  const scheduler = new Scheduler({
    concurrency: plan.concurrency,
    jitter: plan.jitter,
    now,
    random,
    run: check,
    onScheduled: (id, e) => {
      try {
        store.saveSchedule(id, e.nextRunAt, e.consecutiveErrors);
      } catch (err) {
        o.log?.(`could not save the schedule: ${(err as Error).message}`);
      }
    },
  });

  const apply = (p: MonitorPlan) => {
    const next = index(p);
    const saved = store.loadSchedule();
    for (const [id, t] of byId)
      if (!next.has(id)) {
        scheduler.remove(id);
        last.delete(id);
        announced.delete(id);
        metrics.forget(t.monitored.target, t.monitored.group);
      }
    for (const [id, t] of next) {
      if (!last.has(id)) {
        const prev = store.lastCheck(id);
        if (prev) last.set(id, prev);
      }
      const s = saved.get(id);
      scheduler.upsert(id, t.monitored.intervalSec * 1000, s);
    }
    byId = next;
    store.retainTargets([...next.keys()]);
  };
  apply(plan);
  scheduler.start();

  // Retention: history older than the configured days, pruned at start and every hour.
  const prune = () => {
    try {
      const n = store.prune(now() - plan.retentionDays * 86400_000);
      if (n) o.log?.(`retention: pruned ${n} old rows`);
    } catch (e) {
      o.log?.(`retention: ${(e as Error).message}`);
    }
  };
  prune();
  const pruneTimer = setInterval(prune, 3600_000);
  pruneTimer.unref();

  const stateOf = (id: string): TargetState | null => {
    const t = byId.get(id);
    if (!t) return null;
    const e = scheduler.entry(id);
    return {
      target: t.monitored,
      last: last.get(id) ?? null,
      nextRunAt: e?.nextRunAt ?? now(),
      consecutiveErrors: e?.consecutiveErrors ?? 0,
    };
  };

  return {
    store,
    get plan() {
      return plan;
    },
    targets: () => [...byId.keys()].map((id) => stateOf(id)!),
    target: stateOf,
    async runNow(id) {
      if (stopping || !(await scheduler.runNow(id))) return null;
      return last.get(id) ?? null;
    },
    reload(p) {
      plan = p;
      // Only the gauges follow the new label names: the histogram keeps its counts.
      metrics.relabel(labelNames(p));
      apply(p);
      o.log?.(`reloaded: ${byId.size} targets in ${p.groups.length} groups`);
    },
    metrics: async () => ({
      body: await metrics.registry.metrics(),
      contentType: metrics.registry.contentType,
    }),
    async stop(so = {}) {
      stopping = true;
      clearInterval(pruneTimer);
      await scheduler.stop();
      try {
        await o.notifier?.flush?.({ timeoutMs: so.flushMs ?? 10_000 });
      } finally {
        await o.notifier?.close?.();
        const checkers = [...plan.groups.map((g) => g.checker), ...plan.modules.values(), plan.probeChecker];
        for (const c of new Set(checkers)) await c.close();
        store.close();
      }
    },
  };
}
