/*
 * When each monitored target is checked. Per-target interval with jitter; one global
 * concurrency limit; never two checks of one target at once; exponential back-off for targets
 * whose checks end in `error` (the interval, then twice, four times … capped at the larger of
 * the interval and an hour); `runNow` for the API. Times come from an injected clock, so the
 * logic is tested without waiting. Written here, not taken from a job library: the rules above
 * (and recovering the schedule from the store without a thundering herd) are the product.
 */

export interface ScheduleEntry {
  intervalMs: number;
  nextRunAt: number;
  consecutiveErrors: number;
  running: Promise<void> | null;
}

export interface SchedulerOptions {
  readonly concurrency: number;
  /** Random spread of each run time, as a fraction of the interval (0 to 0.5). */
  readonly jitter: number;
  readonly now: () => number;
  readonly random: () => number;
  /** Checks one target; resolves with whether it ended in `error`. Never rejects. */
  readonly run: (id: string) => Promise<{ error: boolean }>;
  /** After each run: the target's schedule as it now stands (the service persists it). */
  readonly onScheduled?: (id: string, entry: Readonly<ScheduleEntry>) => void;
}

const BACKOFF_CAP_MS = 3600_000;

/** The delay before the next check after `errors` consecutive `error` results. */
export function backoffDelay(intervalMs: number, errors: number): number {
  if (errors <= 1) return intervalMs;
  return Math.min(intervalMs * 2 ** (errors - 1), Math.max(intervalMs, BACKOFF_CAP_MS));
}

export class Scheduler {
  private readonly entries = new Map<string, ScheduleEntry>();
  private timer: NodeJS.Timeout | null = null;
  private running = 0;
  private stopped = true;

  constructor(private readonly o: SchedulerOptions) {}

  private jittered(ms: number): number {
    const j = this.o.jitter * ms;
    return Math.max(0, Math.round(ms - j + 2 * j * this.o.random()));
  }

  /**
   * Adds a target or updates its interval. `restored`: the schedule from the store (after a
   * restart or reload). A target never checked starts within a few seconds (the concurrency
   * limit paces a large first round); one overdue after a restart within the first part of
   * its interval (at most a minute), spread at random, so a restart does not check all at once.
   */
  upsert(id: string, intervalMs: number, restored?: { nextRunAt: number; consecutiveErrors: number }): void {
    const now = this.o.now();
    const window = restored ? Math.min(intervalMs, 60_000) : Math.min(intervalMs, 5000);
    const spread = () => now + Math.round(this.o.random() * window);
    const existing = this.entries.get(id);
    if (existing) {
      if (existing.intervalMs !== intervalMs) {
        existing.intervalMs = intervalMs;
        existing.nextRunAt = Math.min(existing.nextRunAt, now + this.jittered(intervalMs));
      }
    } else {
      const next = restored?.nextRunAt;
      this.entries.set(id, {
        intervalMs,
        nextRunAt: next !== undefined && next > now && next <= now + intervalMs * 2 ? next : spread(),
        consecutiveErrors: restored?.consecutiveErrors ?? 0,
        running: null,
      });
    }
    this.arm();
  }

  /** Stops scheduling a target (a check in flight finishes). */
  remove(id: string): void {
    this.entries.delete(id);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  entry(id: string): Readonly<ScheduleEntry> | undefined {
    return this.entries.get(id);
  }

  /** Checks a target now (or waits for the check already running); false when unknown. */
  async runNow(id: string): Promise<boolean> {
    const e = this.entries.get(id);
    if (!e) return false;
    await (e.running ?? this.launch(id, e));
    return true;
  }

  /** Starts scheduling. */
  start(): void {
    this.stopped = false;
    this.arm();
  }

  /** Stops starting checks and waits for those in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.all([...this.entries.values()].map((e) => e.running));
  }

  /** Starts whatever is due now (the timer does this by itself; tests with a fake clock call it). */
  poll(): void {
    this.arm();
  }

  private launch(id: string, e: ScheduleEntry): Promise<void> {
    this.running++;
    const p = this.o
      .run(id)
      .catch(() => ({ error: true }))
      .then(({ error }) => {
        this.running--;
        e.running = null;
        e.consecutiveErrors = error ? e.consecutiveErrors + 1 : 0;
        const delay = error ? backoffDelay(e.intervalMs, e.consecutiveErrors) : e.intervalMs;
        e.nextRunAt = this.o.now() + this.jittered(delay);
        if (this.entries.get(id) === e) this.o.onScheduled?.(id, e);
        this.arm();
      });
    e.running = p;
    return p;
  }

  /** Starts what is due (up to the concurrency limit) and sets the timer for the next one. */
  private arm(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const now = this.o.now();
    const due = [...this.entries.entries()]
      .filter(([, e]) => !e.running && e.nextRunAt <= now)
      .sort((a, b) => a[1].nextRunAt - b[1].nextRunAt);
    for (const [id, e] of due) {
      if (this.running >= this.o.concurrency) break;
      void this.launch(id, e);
    }
    let next = Number.POSITIVE_INFINITY;
    for (const e of this.entries.values()) if (!e.running && e.nextRunAt < next) next = e.nextRunAt;
    if (next === Number.POSITIVE_INFINITY || this.running >= this.o.concurrency) return;
    // Re-armed at least every minute, so a clock step is noticed.
    this.timer = setTimeout(() => this.arm(), Math.min(Math.max(0, next - now), 60_000));
  }
}
