/*
 * The service's HTTP surface (hono on Node's http server, 127.0.0.1 by default): /metrics,
 * /probe (blackbox_exporter's multi-target pattern), the JSON API under /api/v1/, /healthz,
 * /readyz, POST /-/reload, and the dashboard at / (src/monitor/dashboard/). Every list is paged
 * and bounded; bearer tokens, when configured, guard everything but the health endpoints. The
 * monitor may be absent: `serve --probe-allow` without a config is a stateless exporter.
 */
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import type { Checker } from '../check/checker.js';
import type { TargetResult } from '../model/result.js';
import { probeExposition } from './metrics.js';
import type { CertificateQuery, CheckRecord, TargetState } from './model.js';
import type { ProbeAllowList } from './probeAllow.js';
import type { Monitor } from './service.js';

export interface HttpOptions {
  readonly monitor: Monitor | null;
  /** The /probe checkers: named modules, and the default. */
  readonly probe: () => {
    readonly allow: ProbeAllowList;
    readonly modules: ReadonlyMap<string, Checker>;
    readonly fallback: Checker;
  };
  /** Bearer tokens; empty: no authentication. */
  readonly tokens: () => readonly string[];
  /** POST /-/reload (and SIGHUP): re-reads the config; rejects with a message to show. */
  readonly reload?: () => Promise<void>;
  /** Serves the dashboard's files (path below /), or null when there is no such file. */
  readonly dashboard?: (path: string) => { body: string | Uint8Array; type: string } | null;
  readonly now?: () => number;
}

const MAX_LIMIT = 500;

/** `limit` from the query: 1 to 500, default 100. */
function limitOf(c: Context): number {
  const v = Number(c.req.query('limit') ?? 100);
  return Number.isInteger(v) && v > 0 ? Math.min(v, MAX_LIMIT) : 100;
}

/** A target as the API lists it: its configuration, schedule and a summary of its latest check. */
function summary(s: TargetState) {
  const r = s.last?.result;
  const leaf = r?.chain[0];
  return {
    id: s.target.id,
    group: s.target.group,
    target: s.target.target,
    labels: s.target.labels,
    intervalSec: s.target.intervalSec,
    status: s.last?.status ?? null,
    up: s.last?.up ?? null,
    checkedAt: s.last ? new Date(s.last.checkedAt).toISOString() : null,
    nextRunAt: new Date(s.nextRunAt).toISOString(),
    consecutiveErrors: s.consecutiveErrors,
    durationMs: s.last?.durationMs ?? null,
    findings: r ? r.findings.map((f) => ({ code: f.code, severity: f.severity, message: f.message })) : [],
    leaf: leaf
      ? { subject: leaf.subject, issuer: leaf.issuer, notAfter: leaf.notAfter, sha256: leaf.sha256 }
      : null,
    /** Certificates on the reported path, and the earliest notAfter among them (the dashboard). */
    chainLength: r ? r.chain.length : 0,
    chainNotAfter: r?.chain.length
      ? r.chain.reduce(
          (min, x) => (Date.parse(x.notAfter) < Date.parse(min) ? x.notAfter : min),
          r.chain[0]!.notAfter,
        )
      : null,
  };
}

function check(c: CheckRecord) {
  return {
    id: c.id,
    targetId: c.targetId,
    checkedAt: new Date(c.checkedAt).toISOString(),
    status: c.status,
    up: c.up,
    durationMs: c.durationMs,
    chainSha256: c.chainSha256,
    result: c.result,
  };
}

function bearerOk(header: string | undefined, tokens: readonly string[]): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  let ok = false;
  for (const t of tokens) {
    const want = Buffer.from(t);
    if (want.length === given.length && timingSafeEqual(want, given)) ok = true;
  }
  return ok;
}

/** The scrape's own timeout (Prometheus sends it), less a margin; bounded to 1 s … 120 s. */
function probeTimeoutMs(c: Context): number {
  const header = Number(c.req.header('x-prometheus-scrape-timeout-seconds'));
  const ms = Number.isFinite(header) && header > 0 ? header * 1000 - 500 : 10_000;
  return Math.max(1000, Math.min(ms, 120_000));
}

export function buildApp(o: HttpOptions): Hono {
  const app = new Hono();
  const now = o.now ?? Date.now;
  const json = (c: Context, body: unknown, status = 200) =>
    c.body(JSON.stringify(body), status as 200, { 'content-type': 'application/json; charset=utf-8' });
  const notFound = (c: Context, what: string) => json(c, { error: `${what} not found` }, 404);

  app.use('*', async (c, next) => {
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
    const p = c.req.path;
    if (p === '/healthz' || p === '/readyz') return next();
    // The dashboard's own files hold no data (it asks the API, with the token the user gives).
    if (c.req.method === 'GET' && o.dashboard?.(p === '/' ? '/index.html' : p)) return next();
    const tokens = o.tokens();
    if (tokens.length && !bearerOk(c.req.header('authorization'), tokens)) {
      c.header('www-authenticate', 'Bearer realm="certvet"');
      return json(c, { error: 'a bearer token is required' }, 401);
    }
    return next();
  });

  app.get('/healthz', (c) => c.text('ok\n'));
  app.get('/readyz', (c) => c.text('ready\n'));

  app.get('/metrics', async (c) => {
    if (!o.monitor) {
      const { Registry, collectDefaultMetrics } = await import('prom-client');
      const r = new Registry();
      collectDefaultMetrics({ register: r, prefix: 'certvet_process_' });
      return c.body(await r.metrics(), 200, { 'content-type': r.contentType });
    }
    const m = await o.monitor.metrics();
    return c.body(m.body, 200, { 'content-type': m.contentType });
  });

  app.get('/probe', async (c) => {
    const target = c.req.query('target');
    const moduleName = c.req.query('module');
    const p = o.probe();
    if (!target) return c.text('the "target" parameter is required\n', 400);
    if (!p.allow.allows(target))
      return c.text(
        `"${target.slice(0, 200)}" is not allowed by probe.allow\n`.replace(/[^\x20-\x7e\n]/g, '?'),
        403,
      );
    let checker = p.fallback;
    if (moduleName !== undefined) {
      const m = p.modules.get(moduleName);
      if (!m)
        return c.text(`unknown module "${moduleName.slice(0, 64)}"\n`.replace(/[^\x20-\x7e\n]/g, '?'), 400);
      checker = m;
    }
    const t0 = performance.now();
    let result: TargetResult | null = null;
    try {
      result = await checker.check(target, { signal: AbortSignal.timeout(probeTimeoutMs(c)) });
    } catch (e) {
      return c.text(`cannot probe: ${(e as Error).message}\n`.replace(/[^\x20-\x7e\n]/g, '?'), 400);
    }
    const success = result.status === 'ok' || result.status === 'warning';
    const out = await probeExposition(result, success, (performance.now() - t0) / 1000, now());
    return c.body(out.body, 200, { 'content-type': out.contentType });
  });

  app.post('/-/reload', async (c) => {
    if (!o.reload) return json(c, { error: 'nothing to reload: no config file' }, 400);
    try {
      await o.reload();
      return json(c, { reloaded: true });
    } catch (e) {
      return json(c, { error: (e as Error).message }, 400);
    }
  });

  const api = new Hono();
  api.use('*', async (c, next) => {
    if (!o.monitor) return json(c, { error: 'no monitor: certvet serve runs as a stateless exporter' }, 404);
    return next();
  });
  api.get('/targets', (c) => {
    const m = o.monitor!;
    const status = c.req.query('status');
    const group = c.req.query('group');
    const q = c.req.query('q')?.toLowerCase();
    const all = m
      .targets()
      .filter((s) => (status ? (s.last?.status ?? 'pending') === status : true))
      .filter((s) => (group ? s.target.group === group : true))
      .filter((s) => (q ? s.target.target.toLowerCase().includes(q) : true));
    const start = Math.max(0, Number(c.req.query('cursor') ?? 0) || 0);
    const limit = limitOf(c);
    const items = all.slice(start, start + limit).map(summary);
    const counts = { total: 0, ok: 0, warning: 0, critical: 0, error: 0, pending: 0 };
    for (const s of m.targets()) {
      counts.total++;
      counts[s.last?.status ?? 'pending']++;
    }
    return json(c, {
      items,
      next: start + limit < all.length ? String(start + limit) : null,
      summary: counts,
      /** The configured group names, in config order (the dashboard's group filter). */
      groups: [...new Set(m.targets().map((s) => s.target.group))],
    });
  });
  api.get('/targets/:id', (c) => {
    const s = o.monitor!.target(c.req.param('id'));
    if (!s) return notFound(c, 'target');
    return json(c, { ...summary(s), last: s.last ? check(s.last) : null });
  });
  api.post('/targets/:id/check', async (c) => {
    const id = c.req.param('id');
    if (!o.monitor!.target(id)) return notFound(c, 'target');
    const r = await o.monitor!.runNow(id);
    return json(c, r ? check(r) : { error: 'the service is stopping' }, r ? 200 : 503);
  });
  api.get('/targets/:id/history', (c) => {
    const id = c.req.param('id');
    if (!o.monitor!.target(id)) return notFound(c, 'target');
    const cursor = c.req.query('cursor');
    const page = o.monitor!.store.history(id, { limit: limitOf(c), ...(cursor ? { cursor } : {}) });
    return json(c, { items: page.items.map(check), next: page.next });
  });
  /** Events with how their notifications went. */
  const withDeliveries = (page: ReturnType<Monitor['store']['events']>) => ({
    ...page,
    items: page.items.map((e) => ({ ...e, notifications: o.monitor!.store.notifications(e.id) })),
  });
  api.get('/targets/:id/events', (c) => {
    const id = c.req.param('id');
    if (!o.monitor!.target(id)) return notFound(c, 'target');
    const cursor = c.req.query('cursor');
    return json(
      c,
      withDeliveries(
        o.monitor!.store.events({ targetId: id, limit: limitOf(c), ...(cursor ? { cursor } : {}) }),
      ),
    );
  });
  api.get('/events', (c) => {
    const cursor = c.req.query('cursor');
    return json(
      c,
      withDeliveries(o.monitor!.store.events({ limit: limitOf(c), ...(cursor ? { cursor } : {}) })),
    );
  });
  api.get('/certificates', (c) => {
    const q: CertificateQuery = {
      limit: limitOf(c),
      ...(c.req.query('q') ? { q: c.req.query('q')! } : {}),
      ...(c.req.query('cursor') ? { cursor: c.req.query('cursor')! } : {}),
      ...(c.req.query('served') !== undefined ? { served: c.req.query('served') !== 'false' } : {}),
      ...(c.req.query('expiresWithinDays') !== undefined &&
      Number.isFinite(Number(c.req.query('expiresWithinDays')))
        ? { expiresBefore: now() + Number(c.req.query('expiresWithinDays')) * 86400_000 }
        : {}),
    };
    return json(c, o.monitor!.store.certificates(q));
  });
  api.get('/certificates/:sha256', (c) => {
    const cert = o.monitor!.store.certificate(c.req.param('sha256').toLowerCase());
    return cert ? json(c, cert) : notFound(c, 'certificate');
  });
  app.route('/api/v1', api);

  app.get('/*', (c) => {
    const file = o.dashboard?.(c.req.path === '/' ? '/index.html' : c.req.path);
    if (!file) return c.text('not found\n', 404);
    c.header(
      'content-security-policy',
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    return c.body(typeof file.body === 'string' ? file.body : Buffer.from(file.body), 200, {
      'content-type': file.type,
    });
  });
  return app;
}

export interface HttpServer {
  /** The address it listens on ("127.0.0.1:9219", "[::1]:9219"). */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on `listen` (HOST:PORT; port 0 picks one). */
export async function listenHttp(app: Hono, listen: string): Promise<HttpServer> {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(i + 1));
  const server = createAdaptorServer({ fetch: app.fetch });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    address: addr.family === 'IPv6' ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
