/*
 * Notifications of `certvet serve` against real receivers on 127.0.0.1: an HTTP server taking
 * webhook and Slack posts (bodies, filters, HMAC, retry after 503, none after 400, Retry-After,
 * redirects refused, a receiver that never answers, a full queue, flush's deadline) and an
 * SMTP server (smtp-server) with STARTTLS and AUTH, whose received message is checked and
 * whose refusals must not leak the password. Nothing leaves loopback: every URL and host is
 * an IP literal.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { makeChain, privateKeyPem } from '../src/lab/pki.js';
import type { MonitorEvent } from '../src/monitor/model.js';
import {
  type NotifyChannelInput,
  notifyChannelSchema,
  notifyListSchema,
} from '../src/monitor/notify/config.js';
import {
  NotifyAbandonedError,
  NotifyConfigError,
  type NotifyError,
  NotifyHttpStatusError,
  NotifyQueueFullError,
  NotifyRedirectError,
  NotifySmtpError,
  NotifyTimeoutError,
} from '../src/monitor/notify/errors.js';
import { createNotifier, type NotifierOptions } from '../src/monitor/notify/notifier.js';

const T0 = Date.parse('2031-05-06T07:08:09.000Z');

/** Events with different ids name different certificates (so a channel's dedupWindow keeps them apart). */
function event(over: Partial<MonitorEvent> = {}): MonitorEvent {
  return {
    id: 7,
    type: 'rotated',
    targetId: 'intranet/api',
    target: 'api.corp.example:443',
    group: 'intranet',
    at: T0,
    message: 'api.corp.example:443 now serves another leaf (CN=api.corp.example, expires 2031-08-01).',
    oldStatus: 'ok',
    newStatus: 'warning',
    certificates: ['aa'.repeat(32), (over.id ?? 7).toString(16).padStart(64, '0')],
    findings: [
      {
        code: 'expires-soon',
        severity: 'warning',
        message: 'CN=api.corp.example expires in 20 days',
        certIndex: 0,
      },
    ],
    ...over,
  };
}

interface Received {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly at: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** An HTTP receiver on 127.0.0.1: one handler per path, every request recorded. */
class Receiver {
  readonly received: Received[] = [];
  readonly handlers = new Map<string, Handler>();
  private readonly server: Server;
  private readonly hung = new Set<ServerResponse>();
  port = 0;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        this.received.push({
          path,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        });
        const n = this.received.filter((r) => r.path === path).length;
        const h = this.handlers.get(path);
        if (h) h(req, res, n);
        else res.writeHead(200).end('ok');
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** A path that never answers. */
  hang(path: string): void {
    this.handlers.set(path, (_req, res) => {
      this.hung.add(res);
    });
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    for (const r of this.hung) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Reports {
  readonly sent: { channel: string; event: MonitorEvent }[];
  readonly errors: { channel: string; event: MonitorEvent; error: NotifyError }[];
}

function reporting(extra: NotifierOptions = {}): { reports: Reports; options: NotifierOptions } {
  const reports: Reports = { sent: [], errors: [] };
  return {
    reports,
    options: {
      onSent: (channel, event) => reports.sent.push({ channel, event }),
      onError: (channel, event, error) => reports.errors.push({ channel, event, error }),
      backoffMs: 20,
      maxBackoffMs: 2000,
      ...extra,
    },
  };
}

const parse = (c: NotifyChannelInput) => notifyChannelSchema.parse(c);

describe('notify: webhook and Slack channels (HTTP receiver on 127.0.0.1)', () => {
  const rx = new Receiver();
  before(() => rx.start());
  after(() => rx.stop());

  test('webhook: JSON body names the event, target, statuses and findings; events filter; HMAC; headers', async () => {
    const { reports, options } = reporting({ env: { HOOK_SECRET: 's3cret-key', HOOK_TOKEN: 'Bearer t0k' } });
    const n = createNotifier(
      [
        parse({
          name: 'ops-hook',
          type: 'webhook',
          url: rx.url('/hook'),
          events: ['rotated', 'revoked'],
          headers: { 'X-Team': 'ops' },
          headersEnv: { Authorization: 'HOOK_TOKEN' },
          secretEnv: 'HOOK_SECRET',
          timeout: '2s',
        }),
      ],
      options,
    );
    n.notify([event({ type: 'status-changed', id: 1 }), event({ id: 2 })]);
    await n.flush();
    await n.close();

    const got = rx.at('/hook');
    assert.equal(got.length, 1, 'status-changed is filtered out');
    const r = got[0]!;
    const body = JSON.parse(r.body) as Record<string, unknown>;
    assert.deepEqual(body, {
      version: 1,
      id: 2,
      event: 'rotated',
      targetId: 'intranet/api',
      target: 'api.corp.example:443',
      group: 'intranet',
      at: '2031-05-06T07:08:09.000Z',
      message: event().message,
      oldStatus: 'ok',
      newStatus: 'warning',
      certificates: event({ id: 2 }).certificates,
      findings: event().findings,
    });
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-certvet-event'], 'rotated');
    assert.match(String(r.headers['x-certvet-delivery']), /^[0-9a-f-]{36}$/);
    assert.equal(r.headers['x-team'], 'ops');
    assert.equal(r.headers.authorization, 'Bearer t0k');
    const mac = createHmac('sha256', 's3cret-key').update(r.body).digest('hex');
    assert.equal(r.headers['x-certvet-signature-256'], `sha256=${mac}`);
    assert.equal(reports.sent.length, 1);
    assert.equal(reports.errors.length, 0);
  });

  test('groups and minStatus filters', async () => {
    const { options } = reporting();
    const n = createNotifier(
      [
        parse({
          name: 'f',
          type: 'webhook',
          url: rx.url('/filtered'),
          groups: ['dmz'],
          minStatus: 'warning',
        }),
      ],
      options,
    );
    n.notify([
      event({ id: 1, group: 'intranet' }),
      event({ id: 2, group: 'dmz', oldStatus: 'ok', newStatus: 'ok' }),
      event({ id: 3, group: 'dmz', oldStatus: 'critical', newStatus: 'ok' }),
      event({ id: 4, group: 'dmz', oldStatus: null, newStatus: 'error' }),
    ]);
    await n.flush();
    await n.close();
    assert.deepEqual(
      rx.at('/filtered').map((r) => (JSON.parse(r.body) as { id: number }).id),
      [3, 4],
    );
  });

  test('dedupWindow: a rotation back and forth is sent once and reported suppressed; off by default; other types never held', async () => {
    const suppressed: { channel: string; id: number; previousAt: number }[] = [];
    const { reports, options } = reporting({
      onSuppressed: (channel, e, previousAt) => suppressed.push({ channel, id: e.id, previousAt }),
    });
    const n = createNotifier(
      [
        parse({ name: 'hour', type: 'webhook', url: rx.url('/dedup-hour'), dedupWindow: '1h' }),
        parse({ name: 'short', type: 'webhook', url: rx.url('/dedup-short'), dedupWindow: '10m' }),
        parse({ name: 'default', type: 'webhook', url: rx.url('/dedup-default') }),
      ],
      options,
    );
    const [a, b] = ['aa'.repeat(32), 'bb'.repeat(32)];
    const MIN = 60_000;
    n.notify([
      event({ id: 1, at: T0, certificates: [a, b] }),
      event({ id: 2, at: T0 + MIN, certificates: [b, a] }), // back: the same pair
      event({ id: 3, at: T0 + 2 * MIN, certificates: [a, b] }),
      event({ id: 4, at: T0 + 2 * MIN, certificates: [a, b], targetId: 'intranet/other' }),
      event({ id: 5, at: T0 + 2 * MIN, certificates: [a, b], type: 'issuer-changed' }),
      event({ id: 6, at: T0 + 3 * MIN, type: 'status-changed', certificates: [a] }),
      event({ id: 7, at: T0 + 4 * MIN, type: 'status-changed', certificates: [a] }),
      event({ id: 8, at: T0 + 30 * MIN, certificates: [b, a] }),
      event({ id: 9, at: T0 + 61 * MIN, certificates: [a, b] }),
    ]);
    await n.flush();
    await n.close();
    const ids = (path: string) => rx.at(path).map((r) => (JSON.parse(r.body) as { id: number }).id);
    assert.deepEqual(ids('/dedup-hour'), [1, 4, 5, 6, 7, 9]);
    assert.deepEqual(ids('/dedup-short'), [1, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(ids('/dedup-default'), [1, 2, 3, 4, 5, 6, 7, 8, 9], 'off unless configured');
    assert.deepEqual(
      suppressed.filter((s) => s.channel === 'hour'),
      [
        { channel: 'hour', id: 2, previousAt: T0 },
        { channel: 'hour', id: 3, previousAt: T0 },
        { channel: 'hour', id: 8, previousAt: T0 },
      ],
    );
    assert.deepEqual(
      suppressed.filter((s) => s.channel === 'short').map((s) => s.id),
      [2, 3],
    );
    assert.equal(reports.sent.length, 6 + 7 + 9);
    assert.equal(reports.errors.length, 0);
    assert.throws(
      () => parse({ name: 'x', type: 'webhook', url: rx.url('/'), dedupWindow: '8d' }),
      /0 to 7d/,
    );
    assert.throws(
      () => parse({ name: 'x', type: 'webhook', url: rx.url('/'), dedupWindow: 'soon' }),
      /0 to 7d/,
    );
  });

  test('dedupWindow: the repeat of an event that could not be delivered is sent', async () => {
    rx.handlers.set('/dedup-failing', (_req, res, n) => res.writeHead(n === 1 ? 500 : 200).end());
    const suppressed: number[] = [];
    const { reports, options } = reporting({ onSuppressed: (_c, e) => suppressed.push(e.id) });
    const n = createNotifier(
      [parse({ name: 'f', type: 'webhook', url: rx.url('/dedup-failing'), dedupWindow: '1h', retries: 0 })],
      options,
    );
    const certificates = ['aa'.repeat(32), 'bb'.repeat(32)];
    n.notify([event({ id: 1, at: T0, certificates })]);
    await n.flush();
    n.notify([event({ id: 2, at: T0 + 60_000, certificates })]);
    await n.flush();
    n.notify([event({ id: 3, at: T0 + 120_000, certificates })]);
    await n.flush();
    await n.close();
    assert.deepEqual(
      reports.errors.map((e) => e.event.id),
      [1],
    );
    assert.deepEqual(
      reports.sent.map((e) => e.event.id),
      [2],
      'the failed one held nothing back',
    );
    assert.deepEqual(suppressed, [3], 'the delivered one does');
  });

  test('a 503 is retried (same delivery id) and then delivered', async () => {
    rx.handlers.set('/flaky', (_req, res, n) =>
      n === 1 ? res.writeHead(503).end('busy') : res.writeHead(204).end(),
    );
    const { reports, options } = reporting();
    const n = createNotifier([parse({ name: 'flaky', type: 'webhook', url: rx.url('/flaky') })], options);
    n.notify([event()]);
    await n.flush();
    await n.close();
    const got = rx.at('/flaky');
    assert.equal(got.length, 2);
    assert.equal(got[0]!.headers['x-certvet-delivery'], got[1]!.headers['x-certvet-delivery']);
    assert.equal(got[0]!.body, got[1]!.body);
    assert.equal(reports.sent.length, 1);
    assert.equal(reports.errors.length, 0);
  });

  test('a 400 is not retried and is reported with its status and the start of the body', async () => {
    rx.handlers.set('/bad', (_req, res) => res.writeHead(400).end('invalid_payload'));
    const { reports, options } = reporting();
    const n = createNotifier([parse({ name: 'bad', type: 'webhook', url: rx.url('/bad') })], options);
    n.notify([event()]);
    await n.flush();
    await n.close();
    assert.equal(rx.at('/bad').length, 1);
    assert.equal(reports.sent.length, 0);
    assert.equal(reports.errors.length, 1);
    const e = reports.errors[0]!;
    assert.equal(e.channel, 'bad');
    assert.ok(e.error instanceof NotifyHttpStatusError);
    assert.equal(e.error.code, 'CERTVET_NOTIFY_HTTP_STATUS');
    assert.equal(e.error.status, 400);
    assert.match(e.error.message, /HTTP 400: invalid_payload/);
    assert.ok(!e.error.message.includes('/bad'), 'only the origin of the URL is shown');
  });

  test('429 with Retry-After is honoured (within the cap); retries give up after `retries`', async () => {
    rx.handlers.set('/limited', (_req, res) => res.writeHead(429, { 'retry-after': '1' }).end());
    const { reports, options } = reporting({ maxBackoffMs: 5000 });
    const n = createNotifier(
      [parse({ name: 'lim', type: 'webhook', url: rx.url('/limited'), retries: 1 })],
      options,
    );
    n.notify([event()]);
    await n.flush();
    await n.close();
    const got = rx.at('/limited');
    assert.equal(got.length, 2);
    assert.ok(got[1]!.at - got[0]!.at >= 900, `waited ${got[1]!.at - got[0]!.at} ms`);
    assert.equal(reports.errors.length, 1);
    assert.ok(reports.errors[0]!.error instanceof NotifyHttpStatusError);
    assert.equal((reports.errors[0]!.error as NotifyHttpStatusError).status, 429);
  });

  test('a redirect is reported, not followed', async () => {
    rx.handlers.set('/moved', (_req, res) => res.writeHead(302, { location: rx.url('/elsewhere') }).end());
    const { reports, options } = reporting();
    const n = createNotifier([parse({ name: 'moved', type: 'webhook', url: rx.url('/moved') })], options);
    n.notify([event()]);
    await n.flush();
    await n.close();
    assert.equal(rx.at('/moved').length, 1);
    assert.equal(rx.at('/elsewhere').length, 0);
    assert.ok(reports.errors[0]?.error instanceof NotifyRedirectError);
    assert.equal(reports.errors[0]!.error.code, 'CERTVET_NOTIFY_REDIRECT');
  });

  test('a receiver that never answers times out per attempt and is reported through onError', async () => {
    rx.hang('/silent');
    const { reports, options } = reporting();
    const n = createNotifier(
      [parse({ name: 'silent', type: 'webhook', url: rx.url('/silent'), timeout: '200ms', retries: 1 })],
      options,
    );
    const t = Date.now();
    n.notify([event()]);
    await n.flush();
    await n.close();
    assert.ok(Date.now() - t < 3000);
    assert.equal(rx.at('/silent').length, 2, 'the timeout is retried');
    assert.equal(reports.errors.length, 1);
    const err = reports.errors[0]!.error;
    assert.ok(err instanceof NotifyTimeoutError, String(err));
    assert.equal(err.code, 'CERTVET_NOTIFY_TIMEOUT');
    assert.match(err.message, /within 200 ms/);
  });

  test('a connection refused is a network error, retried, then reported', async () => {
    const closed = new Receiver();
    await closed.start();
    const url = closed.url('/gone');
    await closed.stop();
    const { reports, options } = reporting();
    const n = createNotifier([parse({ name: 'gone', type: 'webhook', url, retries: 2 })], options);
    n.notify([event()]);
    await n.flush();
    await n.close();
    assert.equal(reports.errors.length, 1);
    assert.equal(reports.errors[0]!.error.code, 'CERTVET_NOTIFY_NETWORK');
    assert.match(reports.errors[0]!.error.message, /ECONNREFUSED/);
  });

  test('notify() returns at once; flush({ timeoutMs }) gives up on the rest and reports each', async () => {
    rx.hang('/stuck');
    const { reports, options } = reporting();
    const n = createNotifier(
      [parse({ name: 'stuck', type: 'webhook', url: rx.url('/stuck'), timeout: '30s' })],
      options,
    );
    const t0 = Date.now();
    n.notify([event({ id: 1 }), event({ id: 2 }), event({ id: 3 })]);
    assert.ok(Date.now() - t0 < 50, 'notify does not wait for delivery');
    const t1 = Date.now();
    await n.flush({ timeoutMs: 300 });
    const took = Date.now() - t1;
    assert.ok(took >= 250 && took < 2000, `flush took ${took} ms`);
    assert.equal(reports.errors.length, 3);
    for (const r of reports.errors) {
      assert.ok(r.error instanceof NotifyAbandonedError);
      assert.equal(r.error.code, 'CERTVET_NOTIFY_ABANDONED');
    }
    assert.deepEqual(reports.errors.map((r) => r.event.id).sort(), [1, 2, 3]);
    await n.close();
    n.notify([event({ id: 4 })]);
    assert.equal(reports.errors.length, 4, 'an event after close is reported, not lost');
    assert.ok(reports.errors[3]!.error instanceof NotifyAbandonedError);
  });

  test('a full queue drops the oldest waiting event and reports it', async () => {
    let release: (() => void) | undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    rx.handlers.set('/slow', (_req, res) => void gate.then(() => res.writeHead(200).end()));
    const { reports, options } = reporting();
    const n = createNotifier(
      [parse({ name: 'slow', type: 'webhook', url: rx.url('/slow'), queueSize: 2, timeout: '5s' })],
      options,
    );
    n.notify([1, 2, 3, 4, 5].map((id) => event({ id })));
    // 1 is in flight; 2..5 competed for two places: 2 and 3 were dropped.
    assert.deepEqual(
      reports.errors.map((r) => [r.event.id, r.error instanceof NotifyQueueFullError]),
      [
        [2, true],
        [3, true],
      ],
    );
    assert.equal(reports.errors[0]!.error.code, 'CERTVET_NOTIFY_QUEUE_FULL');
    release?.();
    await n.flush();
    await n.close();
    assert.deepEqual(
      reports.sent.map((s) => s.event.id),
      [1, 4, 5],
    );
  });

  test('Slack: text and blocks, with mrkdwn escaped so a subject cannot mention or link', async () => {
    const { reports, options } = reporting({ env: { SLACK_URL: rx.url('/slack/T000/B000/XXXX') } });
    const n = createNotifier([parse({ name: 'chat', type: 'slack', urlEnv: 'SLACK_URL' })], options);
    const evil = 'CN=<!here> <@U123> <https://evil.example|click me> & co\u202e';
    n.notify([
      event({
        type: 'expiry-threshold',
        message: `${evil} expires in 6 days`,
        newStatus: 'critical',
        findings: [
          { code: 'expires-soon', severity: 'critical', message: `${evil} expires in 6 days`, certIndex: 0 },
        ],
      }),
    ]);
    await n.flush();
    await n.close();
    assert.equal(reports.errors.length, 0, reports.errors.map((e) => e.error.message).join());
    const got = rx.at('/slack/T000/B000/XXXX');
    assert.equal(got.length, 1);
    const body = JSON.parse(got[0]!.body) as { text: string; blocks: { type: string }[] };
    assert.equal(typeof body.text, 'string');
    assert.ok(Array.isArray(body.blocks) && body.blocks.length >= 2);
    const all = JSON.stringify(body);
    for (const bad of ['<!here>', '<@U123>', '<https://evil', '\u202e', '& co'])
      assert.ok(!all.includes(bad), `${bad} must not reach Slack as is`);
    assert.match(
      body.text,
      /&lt;!here&gt; &lt;@U123&gt; &lt;https:\/\/evil\.example\|click me&gt; &amp; co\\u202e/,
    );
    assert.match(body.text, /expiry-threshold: api\.corp\.example:443 \(intranet\) ok → critical/);
  });

  test('sendTest posts one test message now and rejects on failure', async () => {
    rx.handlers.set('/test-bad', (_req, res) => res.writeHead(404).end());
    const n = createNotifier([
      parse({ name: 'good', type: 'webhook', url: rx.url('/test-good') }),
      parse({ name: 'bad', type: 'webhook', url: rx.url('/test-bad') }),
    ]);
    await n.sendTest('good');
    const body = JSON.parse(rx.at('/test-good')[0]!.body) as { test?: boolean; event: string };
    assert.equal(body.test, true);
    await assert.rejects(
      n.sendTest('bad'),
      (e: unknown) => e instanceof NotifyHttpStatusError && e.status === 404,
    );
    await assert.rejects(n.sendTest('nope'), NotifyConfigError);
    await n.close();
  });

  test('a hook that throws does not stop deliveries', async () => {
    const n = createNotifier([parse({ name: 'h', type: 'webhook', url: rx.url('/hooks-throw') })], {
      onSent: () => {
        throw new Error('boom');
      },
    });
    n.notify([event({ id: 1 }), event({ id: 2 })]);
    await n.flush();
    await n.close();
    assert.equal(rx.at('/hooks-throw').length, 2);
  });
});

describe('notify: channel configuration', () => {
  test('durations, defaults and unknown keys', () => {
    const c = parse({ name: 'a', type: 'webhook', url: 'https://hooks.example/x', timeout: '2m' });
    assert.equal(c.timeout, 120_000);
    assert.equal(
      parse({ name: 'a', type: 'webhook', url: 'http://127.0.0.1/', timeout: '500ms' }).timeout,
      500,
    );
    assert.equal(parse({ name: 'a', type: 'webhook', url: 'http://127.0.0.1/', timeout: 3 }).timeout, 3000);
    assert.throws(() => parse({ name: 'a', type: 'webhook', url: 'http://127.0.0.1/', timeout: 'soon' }));
    assert.throws(() =>
      notifyChannelSchema.parse({ name: 'a', type: 'webhook', url: 'http://x/', urll: 'y' }),
    );
    assert.throws(() => notifyChannelSchema.parse({ name: 'a', type: 'pager', url: 'http://x/' }));
    assert.throws(() =>
      parse({
        name: 'a',
        type: 'webhook',
        url: 'http://127.0.0.1/',
        headers: { 'X-Certvet-Signature-256': 'x' },
      }),
    );
    assert.throws(() =>
      parse({ name: 'a', type: 'webhook', url: 'http://127.0.0.1/', headers: { 'X-A': 'one\r\nX-B: two' } }),
    );
  });

  test('only http/https URLs, exactly one URL source, known events', () => {
    for (const url of ['ftp://127.0.0.1/x', 'file:///etc/passwd', 'http://user:pw@127.0.0.1/', 'not a url'])
      assert.throws(() => parse({ name: 'a', type: 'webhook', url }), url);
    assert.throws(() => parse({ name: 'a', type: 'slack' }));
    assert.throws(() => parse({ name: 'a', type: 'slack', url: 'https://hooks.example/x', urlEnv: 'X' }));
    assert.throws(() =>
      notifyChannelSchema.parse({ name: 'a', type: 'slack', url: 'https://h/', events: ['nope'] }),
    );
  });

  test('SMTP: passwords never inline; no auth in clear; names unique', () => {
    const base = {
      name: 'mail',
      type: 'smtp',
      host: '127.0.0.1',
      port: 587,
      from: 'c@x.test',
      to: ['o@x.test'],
    };
    const inline = notifyChannelSchema.safeParse({ ...base, auth: { user: 'u', password: 'hunter2' } });
    assert.equal(inline.success, false);
    assert.match(JSON.stringify(inline.error?.issues), /passwordEnv or passwordFile/);
    assert.ok(!JSON.stringify(inline.error?.issues).includes('hunter2'));
    assert.throws(() => notifyChannelSchema.parse({ ...base, auth: { user: 'u' } }));
    assert.throws(() =>
      notifyChannelSchema.parse({ ...base, starttls: false, auth: { user: 'u', passwordEnv: 'P' } }),
    );
    const ok = notifyChannelSchema.parse({ ...base, auth: { user: 'u', passwordEnv: 'P' } });
    assert.equal(ok.type === 'smtp' && ok.auth?.passwordEnv, 'P');
    assert.throws(() => notifyChannelSchema.parse({ ...base, to: [] }));
    const dup = notifyListSchema.safeParse([base, base]);
    assert.equal(dup.success, false);
    assert.match(JSON.stringify(dup.error?.issues), /used twice/);
  });

  test('a JSON Schema can be generated from it (for schema/config.schema.json)', async () => {
    const { z } = await import('zod');
    const js = z.toJSONSchema(notifyChannelSchema, { io: 'input' }) as Record<string, unknown>;
    assert.match(JSON.stringify(js), /"webhook"/);
    assert.match(JSON.stringify(js), /passwordFile/);
  });

  test('a missing secret is a configuration error when the notifier is built', () => {
    assert.throws(
      () =>
        createNotifier([parse({ name: 's', type: 'slack', urlEnv: 'CERTVET_TEST_UNSET_URL' })], { env: {} }),
      (e: unknown) => e instanceof NotifyConfigError && /CERTVET_TEST_UNSET_URL is not set/.test(e.message),
    );
    assert.throws(
      () =>
        createNotifier(
          [
            parse({
              name: 'm',
              type: 'smtp',
              host: '127.0.0.1',
              port: 25,
              from: 'a@b',
              to: ['c@d'],
              auth: { user: 'u', passwordFile: '/nonexistent/certvet-pw' },
            }),
          ],
          { env: {} },
        ),
      (e: unknown) => e instanceof NotifyConfigError && e.code === 'CERTVET_NOTIFY_CONFIG',
    );
  });
});

interface Mail {
  readonly from: string;
  readonly to: string[];
  readonly raw: string;
  readonly secure: boolean;
  readonly user: string | undefined;
}

/** Headers unfolded, the body decoded from quoted-printable when it is so encoded. */
function readMail(raw: string): { headers: Map<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  let body = raw.slice(split + 4);
  if (/quoted-printable/i.test(headers.get('content-transfer-encoding') ?? ''))
    body = Buffer.from(
      body
        .replace(/=\r\n/g, '')
        .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  return { headers, body: body.replace(/\r\n/g, '\n') };
}

describe('notify: e-mail over SMTP (smtp-server on 127.0.0.1, STARTTLS and AUTH)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certvet-notify-'));
  const mails: Mail[] = [];
  const PASSWORD = 'pa55-w0rd-Zq9';
  let server: SMTPServer;
  let port = 0;
  let caFile = '';

  before(async () => {
    const chain = await makeChain({ names: ['127.0.0.1'] });
    caFile = join(dir, 'root.pem');
    writeFileSync(caFile, chain.root.pem);
    writeFileSync(join(dir, 'smtp-password'), `${PASSWORD}\n`);
    server = new SMTPServer({
      key: await privateKeyPem(chain.leaf.key),
      cert: chain.leaf.pem + chain.intermediate.pem,
      authMethods: ['PLAIN', 'LOGIN'],
      logger: false,
      onAuth(auth, _session, cb) {
        if (auth.username === 'certvet' && auth.password === PASSWORD) cb(null, { user: 'certvet' });
        else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const env = session.envelope;
          mails.push({
            from: env.mailFrom ? env.mailFrom.address : '',
            to: env.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
            secure: session.secure,
            user: session.user,
          });
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const channel = (over: Record<string, unknown> = {}) =>
    parse({
      name: 'mail',
      type: 'smtp',
      host: '127.0.0.1',
      port,
      ca: [caFile],
      from: 'certvet <certvet@monitor.test>',
      to: ['ops@corp.test', 'oncall@corp.test'],
      auth: { user: 'certvet', passwordFile: join(dir, 'smtp-password') },
      timeout: '5s',
      ...over,
    } as NotifyChannelInput);

  test('the message names the event and the target; delivered over STARTTLS with AUTH', async () => {
    const { reports, options } = reporting();
    const n = createNotifier([channel()], options);
    n.notify([
      event({
        type: 'revoked',
        newStatus: 'critical',
        message: 'CN=api.corp.example was revoked (OCSP, keyCompromise).',
      }),
    ]);
    await n.flush();
    await n.close();
    assert.equal(reports.errors.length, 0, reports.errors.map((e) => e.error.message).join());
    assert.equal(reports.sent.length, 1);
    assert.equal(mails.length, 1);
    const m = mails[0]!;
    assert.equal(m.secure, true, 'STARTTLS was used');
    assert.equal(m.user, 'certvet');
    assert.equal(m.from, 'certvet@monitor.test');
    assert.deepEqual(m.to, ['ops@corp.test', 'oncall@corp.test']);
    const { headers, body } = readMail(m.raw);
    assert.equal(headers.get('subject'), '[certvet] revoked: api.corp.example:443 (intranet) ok -> critical');
    assert.match(headers.get('to') ?? '', /ops@corp\.test, oncall@corp\.test/);
    assert.match(body, /certvet noticed "revoked" on api\.corp\.example:443/);
    assert.match(body, /was revoked \(OCSP, keyCompromise\)/);
    assert.match(body, /Group: {3}intranet/);
    assert.match(body, /\[warning\] expires-soon \(certificate 0\)/);
    assert.match(body, /aa{63}/);
  });

  test('a refused password (read from the environment) is reported without the password', async () => {
    const wrong = 'WrOng-Secret-77';
    const { reports, options } = reporting({ env: { CERTVET_SMTP_PW: wrong } });
    const n = createNotifier(
      [channel({ auth: { user: 'certvet', passwordEnv: 'CERTVET_SMTP_PW' } })],
      options,
    );
    const before = mails.length;
    n.notify([event()]);
    await n.flush();
    await n.close();
    assert.equal(mails.length, before);
    assert.equal(reports.errors.length, 1);
    const err = reports.errors[0]!.error;
    assert.ok(err instanceof NotifySmtpError, String(err));
    assert.equal(err.code, 'CERTVET_NOTIFY_SMTP');
    assert.equal(err.responseCode, 535);
    assert.equal(err.retryable, false);
    const text = `${err.message} ${err.stack ?? ''} ${JSON.stringify(err)}`;
    for (const leak of [
      wrong,
      Buffer.from(wrong).toString('base64'),
      Buffer.from(`\0certvet\0${wrong}`).toString('base64'),
    ])
      assert.ok(!text.includes(leak), 'the password does not appear in the error');
  });

  test('a server certificate not from the configured anchors is refused (no retry, nothing sent)', async () => {
    const other = await makeChain({ names: ['127.0.0.1'] });
    const otherCa = join(dir, 'other-root.pem');
    writeFileSync(otherCa, other.root.pem);
    const { reports, options } = reporting();
    const n = createNotifier([channel({ ca: [otherCa] })], options);
    const before = mails.length;
    n.notify([event()]);
    await n.flush();
    await n.close();
    assert.equal(mails.length, before);
    assert.equal(reports.errors.length, 1);
    const err = reports.errors[0]!.error;
    assert.equal(err.code, 'CERTVET_NOTIFY_SMTP');
    assert.equal(err.retryable, false);
    assert.match(err.message, /UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
  });

  test('sendTest sends a test message', async () => {
    const n = createNotifier([channel()]);
    const before = mails.length;
    await n.sendTest('mail');
    await n.close();
    assert.equal(mails.length, before + 1);
    assert.match(
      readMail(mails.at(-1)!.raw).headers.get('subject') ?? '',
      /^\[certvet\] \[test\] status-changed/,
    );
  });
});
