/*
 * The service's notifier: the events each check produced go in through notify(), which only
 * filters and queues (it never blocks or throws into the scheduler); each channel delivers
 * from its own bounded queue in the background (queue.ts). flush() is for SIGTERM: it waits
 * until everything queued was delivered or given up on, and with a deadline gives up on the
 * rest (each reported). Channels are built, and their secrets read, here: a channel that
 * cannot be built is a NotifyConfigError at start-up, not a failure at the first incident.
 *
 * Deduplication: the events themselves are one per change (src/monitor/events.ts: a status
 * change, a threshold crossed, a rotation; ongoing problems come back only as `reminder`s at
 * the configured interval). What can still repeat is a change back and forth — a load
 * balancer whose backends serve two certificates "rotates" at every check — so each channel
 * remembers, for its `dedupWindow`, the rotation-like events it took (DEDUP_EVENT_TYPES) and
 * reports a repeat as suppressed instead of sending it. The memory is the process's: a restart
 * forgets it (at most one repeat is then sent).
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { MonitorEvent } from '../model.js';
import {
  DEDUP_EVENT_TYPES,
  NOTIFY_DEFAULTS,
  type NotifyChannelConfig,
  type SlackChannelConfig,
  STATUS_RANK,
  type WebhookChannelConfig,
} from './config.js';
import { NotifyConfigError, type NotifyError } from './errors.js';
import { mailMessage, slackMessage, testEvent, webhookBody } from './format.js';
import { type FetchLike, postJson } from './http.js';
import { ChannelQueue, type Deliver } from './queue.js';
import { readEnvSecret, readFileSecret, type SecretSource } from './secrets.js';
import { createSmtpSender } from './smtp.js';

export interface NotifierOptions {
  /** A delivery failed for good, was dropped from a full queue, or was given up on. */
  onError?(channel: string, event: MonitorEvent, error: NotifyError): void;
  /** A delivery was accepted by the receiver. */
  onSent?(channel: string, event: MonitorEvent): void;
  /** An event was not sent: the channel took the same one at `previousAt` (its `dedupWindow`). */
  onSuppressed?(channel: string, event: MonitorEvent, previousAt: number): void;
  /** The clock for Retry-After dates and the test message (ms since the epoch). */
  now?: () => number;
  /** The HTTP client (default: the global fetch). */
  fetchImpl?: FetchLike;
  /** Where `*Env` secrets are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Relative `*File` paths are resolved against this (default: the working directory). */
  baseDir?: string;
  /** First retry delay (default 1 s), doubled on each retry. */
  backoffMs?: number;
  /** Cap of any one delay, Retry-After included (default 60 s). */
  maxBackoffMs?: number;
}

export interface FlushOptions {
  /** Give up on whatever is still queued or in flight after this long. */
  timeoutMs?: number;
  /** Or when this aborts. */
  signal?: AbortSignal;
}

export interface Notifier {
  /** The channel names, in config order. */
  readonly channels: readonly string[];
  /** Queues the events for every channel whose filters accept them; returns at once. */
  notify(events: readonly MonitorEvent[]): void;
  /** Resolves when everything queued so far was delivered or given up on; never rejects. */
  flush(o?: FlushOptions): Promise<void>;
  /**
   * Sends a test message to one channel now, bypassing its filters and queue (one attempt):
   * `certvet serve --test-notify NAME`. Rejects with the NotifyError.
   */
  sendTest(channel: string): Promise<void>;
  /** Gives up on anything pending (reported) and releases connections; later events are reported as abandoned. */
  close(): Promise<void>;
}

interface Channel {
  readonly config: NotifyChannelConfig;
  readonly queue: ChannelQueue;
  readonly deliver: (
    event: MonitorEvent,
    test: boolean,
    deliveryId: string,
    signal: AbortSignal,
  ) => Promise<void>;
  readonly timeoutMs: number;
  readonly close: () => void;
  /**
   * Dedup key → the event this channel last took under it, oldest first (a key taken again
   * moves to the end), so expired entries are swept from the front.
   */
  readonly taken: Map<string, MonitorEvent>;
}

/** Same type, target and certificates (in any order): a rotation back and forth is one key. */
function dedupKey(e: MonitorEvent): string {
  return `${e.type}\0${e.targetId}\0${[...e.certificates].sort().join(',')}`;
}

export function createNotifier(channels: readonly NotifyChannelConfig[], o: NotifierOptions = {}): Notifier {
  const now = o.now ?? Date.now;
  const fetchImpl: FetchLike = o.fetchImpl ?? ((input, init) => fetch(input, init));
  const src: SecretSource = { env: o.env ?? process.env, baseDir: o.baseDir ?? process.cwd() };
  const names = new Set<string>();
  for (const c of channels) {
    if (names.has(c.name)) throw new NotifyConfigError(c.name, 'the channel name is used twice');
    names.add(c.name);
  }

  const safe = <A extends unknown[]>(f: ((...a: A) => void) | undefined, ...a: A) => {
    try {
      f?.(...a);
    } catch {
      // A reporting hook that throws must not stop deliveries.
    }
  };

  const built: Channel[] = [];
  try {
    for (const config of channels) built.push(buildChannel(config));
  } catch (e) {
    for (const b of built) b.close();
    throw e;
  }

  function buildChannel(config: NotifyChannelConfig): Channel {
    const timeoutMs = config.timeout ?? NOTIFY_DEFAULTS.timeoutMs;
    let deliver: Channel['deliver'];
    let close = () => {};
    if (config.type === 'smtp') {
      const sender = createSmtpSender(config, timeoutMs, src);
      const prefix = config.subjectPrefix ?? NOTIFY_DEFAULTS.subjectPrefix;
      deliver = (event, test, _id, signal) =>
        sender.send(mailMessage(event, prefix, test), timeoutMs, signal);
      close = () => sender.close();
    } else {
      deliver = httpDeliver(config, timeoutMs);
    }
    const taken = new Map<string, MonitorEvent>();
    const queue = new ChannelQueue({
      name: config.name,
      deliver: ((event, ctx) => deliver(event, false, ctx.deliveryId, ctx.signal)) satisfies Deliver,
      timeoutMs,
      retries: config.retries ?? NOTIFY_DEFAULTS.retries,
      queueSize: config.queueSize ?? NOTIFY_DEFAULTS.queueSize,
      maxPerMinute: config.maxPerMinute ?? null,
      backoffMs: o.backoffMs ?? 1000,
      maxBackoffMs: o.maxBackoffMs ?? 60_000,
      newId: randomUUID,
      report: {
        sent: (event) => safe(o.onSent, config.name, event),
        failed: (event, error) => {
          // An event that never arrived holds nothing back: its next repeat is sent.
          if (DEDUP_EVENT_TYPES.has(event.type)) {
            const key = dedupKey(event);
            if (taken.get(key) === event) taken.delete(key);
          }
          safe(o.onError, config.name, event, error);
        },
      },
    });
    return { config, queue, deliver, timeoutMs, close, taken };
  }

  function httpDeliver(
    config: WebhookChannelConfig | SlackChannelConfig,
    timeoutMs: number,
  ): Channel['deliver'] {
    const url =
      config.url ??
      (config.urlEnv !== undefined
        ? readEnvSecret(config.name, 'urlEnv', config.urlEnv, src)
        : readFileSecret(config.name, 'urlFile', config.urlFile ?? '', src));
    checkHttpUrl(config.name, url);
    const headers: Record<string, string> = {};
    let secret: string | null = null;
    if (config.type === 'webhook') {
      Object.assign(headers, config.headers ?? {});
      for (const [h, env] of Object.entries(config.headersEnv ?? {}))
        headers[h] = readEnvSecret(config.name, `headersEnv.${h}`, env, src);
      if (config.secretEnv !== undefined)
        secret = readEnvSecret(config.name, 'secretEnv', config.secretEnv, src);
      else if (config.secretFile !== undefined)
        secret = readFileSecret(config.name, 'secretFile', config.secretFile, src);
    }
    return (event, test, deliveryId, signal) => {
      const body = JSON.stringify(
        config.type === 'webhook' ? webhookBody(event, test) : slackMessage(event, test),
      );
      const h: Record<string, string> = { ...headers };
      if (config.type === 'webhook') {
        h['x-certvet-event'] = event.type;
        h['x-certvet-delivery'] = deliveryId;
        if (secret !== null)
          h['x-certvet-signature-256'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
      }
      return postJson({ channel: config.name, url, body, headers: h, timeoutMs, signal, fetchImpl, now });
    };
  }

  /**
   * Whether `b` took the same event within its window and has not failed to deliver it (then
   * this one is reported as suppressed, not queued).
   */
  function duplicate(b: Channel, e: MonitorEvent): boolean {
    const window = b.config.dedupWindow ?? NOTIFY_DEFAULTS.dedupWindowMs;
    if (window <= 0 || !DEDUP_EVENT_TYPES.has(e.type)) return false;
    for (const [k, first] of b.taken) {
      if (e.at - first.at < window) break;
      b.taken.delete(k);
    }
    const key = dedupKey(e);
    const previous = b.taken.get(key);
    if (previous !== undefined && e.at >= previous.at && e.at - previous.at < window) {
      safe(o.onSuppressed, b.config.name, e, previous.at);
      return true;
    }
    b.taken.delete(key);
    b.taken.set(key, e);
    return false;
  }

  function accepts(c: NotifyChannelConfig, e: MonitorEvent): boolean {
    if (c.events && !c.events.includes(e.type)) return false;
    if (c.groups && !c.groups.includes(e.group)) return false;
    if (c.minStatus) {
      const worst = Math.max(STATUS_RANK[e.newStatus], e.oldStatus === null ? 0 : STATUS_RANK[e.oldStatus]);
      if (worst < STATUS_RANK[c.minStatus]) return false;
    }
    return true;
  }

  let closed = false;
  return {
    channels: built.map((b) => b.config.name),
    notify(events) {
      for (const e of events)
        for (const b of built) {
          try {
            if (accepts(b.config, e) && !duplicate(b, e)) b.queue.push(e);
          } catch {
            // notify() never throws into the scheduler.
          }
        }
    },
    async flush(f = {}) {
      const all = Promise.all(built.map((b) => b.queue.idle())).then(() => undefined);
      if (f.timeoutMs === undefined && !f.signal) return all;
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const deadline = new Promise<void>((resolve) => {
        if (f.timeoutMs !== undefined) timer = setTimeout(resolve, f.timeoutMs);
        onAbort = () => resolve();
        if (f.signal?.aborted) resolve();
        else f.signal?.addEventListener('abort', onAbort, { once: true });
      });
      const done = await Promise.race([all.then(() => true), deadline.then(() => false)]);
      clearTimeout(timer);
      if (onAbort) f.signal?.removeEventListener('abort', onAbort);
      if (!done) {
        for (const b of built) b.queue.abandon('flush deadline passed');
        await all;
      }
    },
    async sendTest(name) {
      const b = built.find((x) => x.config.name === name);
      if (!b)
        throw new NotifyConfigError(
          name,
          `no such channel (have: ${built.map((x) => x.config.name).join(', ')})`,
        );
      await b.deliver(testEvent(now()), true, randomUUID(), new AbortController().signal);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const b of built) b.queue.abandon('the notifier was closed', true);
      await Promise.all(built.map((b) => b.queue.idle()));
      for (const b of built) b.close();
    },
  };
}

function checkHttpUrl(channel: string, url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new NotifyConfigError(channel, 'the URL is not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new NotifyConfigError(channel, `only http and https URLs are used (got ${u.protocol})`);
}
