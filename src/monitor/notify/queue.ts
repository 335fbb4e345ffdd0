/*
 * One channel's delivery queue. The scheduler must never wait on a slow receiver, so events
 * are queued (bounded: when full the oldest is dropped and reported, nothing vanishes
 * silently) and delivered one at a time, in order, by a background loop: each attempt bounded,
 * retryable failures retried with exponential back-off and jitter (a receiver's Retry-After is
 * honoured up to a cap), an optional per-minute rate limit. Every event ends in exactly one
 * report: onSent, or onError with the reason (the last attempt's failure, the overflow, or the
 * abandonment when the notifier is closed or flush's deadline passes).
 */
import type { MonitorEvent } from '../model.js';
import {
  NotifyAbandonedError,
  NotifyError,
  NotifyHttpStatusError,
  NotifyNetworkError,
  NotifyQueueFullError,
} from './errors.js';

export interface AttemptContext {
  /** Stable across the retries of one event on one channel (the webhook's X-Certvet-Delivery). */
  readonly deliveryId: string;
  readonly attempt: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

export type Deliver = (event: MonitorEvent, ctx: AttemptContext) => Promise<void>;

export interface QueueOptions {
  readonly name: string;
  readonly deliver: Deliver;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly queueSize: number;
  readonly maxPerMinute: number | null;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly newId: () => string;
  readonly report: {
    sent(event: MonitorEvent): void;
    failed(event: MonitorEvent, error: NotifyError): void;
  };
}

interface Item {
  readonly event: MonitorEvent;
  readonly deliveryId: string;
}

export class ChannelQueue {
  private readonly items: Item[] = [];
  private running = false;
  private closed = false;
  private ac = new AbortController();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly recent: number[] = [];

  constructor(private readonly o: QueueOptions) {}

  get pending(): number {
    return this.items.length + (this.running ? 1 : 0);
  }

  push(event: MonitorEvent): void {
    if (this.closed) {
      this.o.report.failed(event, new NotifyAbandonedError(this.o.name, 'the notifier is closed', null));
      return;
    }
    if (this.items.length >= this.o.queueSize) {
      const dropped = this.items.shift();
      if (dropped)
        this.o.report.failed(dropped.event, new NotifyQueueFullError(this.o.name, this.o.queueSize));
    }
    this.items.push({ event, deliveryId: this.o.newId() });
    if (!this.running) void this.run();
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (!this.running && this.items.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Gives up on everything queued and in flight (each reported); the queue stays usable unless `close`. */
  abandon(why: string, close = false): void {
    if (close) this.closed = true;
    const waiting = this.items.splice(0);
    for (const it of waiting)
      this.o.report.failed(it.event, new NotifyAbandonedError(this.o.name, why, null));
    this.ac.abort(why);
    this.ac = new AbortController();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (let it = this.items.shift(); it; it = this.items.shift()) await this.deliverOne(it);
    } finally {
      this.running = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async deliverOne(it: Item): Promise<void> {
    const signal = this.ac.signal;
    let last: NotifyError | null = null;
    for (let attempt = 0; attempt <= this.o.retries; attempt++) {
      if (attempt > 0 && last) await sleep(this.delay(attempt - 1, last), signal);
      await this.rateLimit(signal);
      if (signal.aborted) break;
      try {
        await this.o.deliver(it.event, {
          deliveryId: it.deliveryId,
          attempt,
          timeoutMs: this.o.timeoutMs,
          signal,
        });
        this.o.report.sent(it.event);
        return;
      } catch (e) {
        if (signal.aborted) break;
        last = asNotifyError(this.o.name, e);
        if (!last.retryable || attempt === this.o.retries) {
          this.o.report.failed(it.event, last);
          return;
        }
      }
    }
    const why = typeof signal.reason === 'string' ? signal.reason : 'the notifier stopped';
    this.o.report.failed(it.event, new NotifyAbandonedError(this.o.name, why, last));
  }

  /** Exponential back-off with ±20% jitter; a Retry-After (capped) wins when it is longer. */
  private delay(retryIndex: number, last: NotifyError): number {
    const base = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** retryIndex);
    const jittered = base * (0.8 + Math.random() * 0.4);
    const asked = last instanceof NotifyHttpStatusError ? last.retryAfterMs : null;
    return Math.min(this.o.maxBackoffMs, Math.max(jittered, asked ?? 0));
  }

  private async rateLimit(signal: AbortSignal): Promise<void> {
    const max = this.o.maxPerMinute;
    if (max === null) return;
    for (;;) {
      const now = Date.now();
      while (this.recent.length && (this.recent[0] ?? 0) <= now - 60_000) this.recent.shift();
      if (this.recent.length < max) {
        this.recent.push(now);
        return;
      }
      await sleep((this.recent[0] ?? now) + 60_000 - now, signal);
      if (signal.aborted) return;
    }
  }
}

function asNotifyError(channel: string, e: unknown): NotifyError {
  if (e instanceof NotifyError) return e;
  return new NotifyNetworkError(channel, e instanceof Error ? e.message : String(e), { cause: e });
}

/** Resolves after `ms` or as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
