/*
 * `certvet serve` end to end, as a process: real TLS servers on 127.0.0.1, a YAML config, a
 * SQLite store in a temporary directory. It checks the targets on schedule, exports them on
 * /metrics (certificate series for an expired certificate too), answers /probe only for what
 * probe.allow permits, records a rotation as an event when a server changes its certificate,
 * reloads on SIGHUP (a removed target stops being exported, history stays), guards the API with
 * a bearer token, exits 0 on SIGTERM and, started again on the same store, still has the history.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tls from 'node:tls';
import { buildCrl } from '../src/lab/crlBuilder.js';
import { type IssuedCert, issue, privateKeyPem } from '../src/lab/pki.js';
import { CLI } from './support/cli.js';
import { type ServeProcess, startServeProcess, until } from './support/serveProcess.js';

const DAY = 86400_000;
const TOKEN = 'test-token-0123456789abcdef';

interface Served {
  readonly server: tls.Server;
  readonly port: number;
  rotate(leaf: IssuedCert): Promise<void>;
}

async function serveTls(leaf: IssuedCert, chain: readonly IssuedCert[]): Promise<Served> {
  const ctx = async (l: IssuedCert) => ({
    key: await privateKeyPem(l.key),
    cert: [l, ...chain].map((c) => c.pem).join(''),
  });
  const server = tls.createServer(await ctx(leaf), (s) => s.end());
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    port: (server.address() as { port: number }).port,
    rotate: async (l) => server.setSecureContext(await ctx(l)),
  };
}

type Service = ServeProcess;

function startServe(config: string): Promise<Service> {
  return startServeProcess(['serve', '-c', config], { env: { CERTVET_TEST_TOKEN: TOKEN } });
}

describe('certvet serve, as a process', { timeout: 120_000 }, () => {
  let dir: string;
  let root: IssuedCert;
  let ica: IssuedCert;
  let good: Served;
  let expired: Served;
  let rotating: Served;
  let firstRotatingLeaf: IssuedCert;
  let svc: Service | null = null;
  let hook: HttpServer;
  let hookPort = 0;
  const hookBodies: { event: string; target: string; oldStatus: string | null; newStatus: string }[] = [];
  const auth = { authorization: `Bearer ${TOKEN}` };
  const get = (path: string, headers: Record<string, string> = auth) =>
    fetch(`${svc!.base}${path}`, { headers });
  const getJson = async <T>(path: string): Promise<T> => (await (await get(path)).json()) as T;

  const leaf = (name: string, extra: object = {}) =>
    issue({ subject: `CN=${name}`, issuer: ica, dns: [name], ips: ['127.0.0.1'], ...extra });
  const config = (targets: string[]) => `listen: 127.0.0.1:0
store: ./certvet.db
defaults: { interval: 60s, timeout: 5s, revocation: off, concurrency: 4 }
groups:
  - name: web
    ca: ca.pem
    labels: { team: platform }
    targets: [${targets.join(', ')}]
probe: { allow: [ "127.0.0.1:${'*'}" ] }
modules: { strict: { ca: ca.pem, warnDays: 3650 } }
auth: { tokens: [ { env: CERTVET_TEST_TOKEN } ] }
notify:
  - { name: hook, type: webhook, url: "http://127.0.0.1:${hookPort}/hook", events: [rotated], dedupWindow: 1h }
  - { name: broken, type: webhook, url: "http://127.0.0.1:${hookPort}/broken", events: [rotated], retries: 0, dedupWindow: 1h }
`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-serve-'));
    // The webhook receiver: /hook takes events, /broken always fails.
    hook = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (req.url === '/hook') {
          hookBodies.push(JSON.parse(body) as (typeof hookBodies)[number]);
          res.writeHead(204).end();
        } else res.writeHead(500).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookPort = (hook.address() as { port: number }).port;
    root = await issue({ subject: 'CN=Serve Root,O=certvet test', ca: true });
    ica = await issue({ subject: 'CN=Serve Issuing CA,O=certvet test', ca: true, issuer: root, pathLen: 0 });
    writeFileSync(join(dir, 'ca.pem'), root.pem);
    good = await serveTls(await leaf('good.test'), [ica]);
    expired = await serveTls(
      await leaf('expired.test', {
        notBefore: new Date(Date.now() - 30 * DAY),
        notAfter: new Date(Date.now() - DAY),
      }),
      [ica],
    );
    firstRotatingLeaf = await leaf('rotating.test');
    rotating = await serveTls(firstRotatingLeaf, [ica]);
    writeFileSync(
      join(dir, 'certvet.yaml'),
      config([`127.0.0.1:${good.port}`, `127.0.0.1:${expired.port}`, `127.0.0.1:${rotating.port}`]),
    );
    svc = await startServe(join(dir, 'certvet.yaml'));
  });
  after(async () => {
    if (svc && svc.proc.exitCode === null) svc.proc.kill('SIGKILL');
    for (const s of [good, expired, rotating]) if (s) await new Promise((r) => s.server.close(r));
    await new Promise((r) => hook.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  interface TargetsPage {
    items: {
      id: string;
      target: string;
      status: string | null;
      up: boolean | null;
      labels: Record<string, string>;
    }[];
    summary: Record<string, number>;
  }
  const checked = () =>
    until('every target checked', async () => {
      const p = await getJson<TargetsPage>('/api/v1/targets');
      return p.items.length === 3 && p.items.every((t) => t.status !== null) ? p : null;
    });

  test('the targets are checked on schedule and listed with their status', async () => {
    const p = await checked();
    const by = Object.fromEntries(p.items.map((t) => [t.target.split(':')[1], t]));
    assert.equal(by[String(good.port)]!.status, 'ok');
    assert.equal(by[String(expired.port)]!.status, 'critical');
    assert.equal(by[String(good.port)]!.up, true);
    assert.deepEqual(by[String(good.port)]!.labels, { team: 'platform' });
    assert.equal(p.summary.total, 3);
    assert.equal(p.summary.critical, 1);
    const one = await getJson<{ last: { result: { chain: { subject: string }[] } } }>(
      `/api/v1/targets/${p.items[0]!.id}`,
    );
    assert.ok(one.last.result.chain.length >= 2);
    assert.equal((await get('/api/v1/targets/nope')).status, 404);
  });

  test('/metrics: the textfile series, certificate series whatever the verdict, up, histogram', async () => {
    await checked();
    const text = await (await get('/metrics')).text();
    const e = `target="127.0.0.1:${expired.port}"`;
    assert.match(text, new RegExp(`certvet_target_status\\{${e},group="web",label_team="platform"\\} 2`));
    assert.match(text, new RegExp(`certvet_target_up\\{${e}[^}]*\\} 1`));
    assert.match(
      text,
      new RegExp(
        `certvet_cert_days_remaining\\{${e}[^}]*index="0",subject="CN=expired.test",issuer="[^"]+",serial="[0-9A-F]+",sha256="[0-9a-f]{64}"\\} -\\d+`,
      ),
    );
    assert.match(text, new RegExp(`certvet_cert_not_after_timestamp_seconds\\{${e}[^}]*index="1"`));
    assert.match(text, new RegExp(`certvet_findings\\{${e}[^}]*code="expired",severity="critical"\\} 1`));
    assert.match(text, /certvet_check_duration_seconds_bucket\{/);
    assert.match(text, /certvet_last_check_timestamp_seconds\{/);
    assert.match(text, /certvet_process_/);
  });

  test('/probe: allowed targets only, a module, the scrape timeout header', async () => {
    const r = await get(`/probe?target=127.0.0.1:${good.port}`, {
      ...auth,
      'x-prometheus-scrape-timeout-seconds': '5',
    });
    assert.equal(r.status, 200);
    const text = await r.text();
    assert.match(text, /certvet_probe_success 1/);
    assert.match(text, /certvet_probe_duration_seconds \d/);
    assert.match(text, /certvet_cert_days_remaining\{target="127\.0\.0\.1:\d+",index="0"/);
    const mod = await (await get(`/probe?target=127.0.0.1:${good.port}&module=strict`)).text();
    assert.match(mod, /certvet_probe_success 1/, 'warnDays 3650 makes it a warning, still a success');
    assert.match(mod, /code="expires-soon"/);
    assert.equal((await get('/probe?target=10.0.0.1:443')).status, 403);
    assert.equal((await get(`/probe?target=127.0.0.1:${good.port}&module=nope`)).status, 400);
    const bad = await (await get(`/probe?target=127.0.0.1:${expired.port}`)).text();
    assert.match(bad, /certvet_probe_success 0/);
    assert.match(bad, /certvet_cert_days_remaining\{/, 'certificate series even when the probe fails');
  });

  test('a bearer token guards everything but the health endpoints', async () => {
    assert.equal((await get('/api/v1/targets', {})).status, 401);
    assert.equal((await get('/metrics', { authorization: 'Bearer wrong-token-0123456789' })).status, 401);
    assert.equal((await get('/healthz', {})).status, 200);
    assert.equal((await get('/readyz', {})).status, 200);
    // The dashboard's files hold no data: they load without a token (the page asks for one).
    assert.equal((await get('/', {})).status, 200);
    assert.equal((await get('/app.js', {})).status, 200);
    assert.equal((await get('/api/v1/events', {})).status, 401);
  });

  test('a rotated certificate becomes a `rotated` event; run-now checks at once', async () => {
    const p = await checked();
    const id = p.items.find((t) => t.target.endsWith(`:${rotating.port}`))!.id;
    await rotating.rotate(await leaf('rotating.test'));
    const run = await fetch(`${svc!.base}/api/v1/targets/${id}/check`, { method: 'POST', headers: auth });
    assert.equal(run.status, 200);
    const events = await getJson<{ items: { type: string; targetId: string; message: string }[] }>(
      `/api/v1/targets/${id}/events`,
    );
    const rotated = events.items.find((e) => e.type === 'rotated');
    assert.ok(rotated, JSON.stringify(events.items));
    assert.match(rotated.message, /rotating\.test/);
    const history = await getJson<{ items: unknown[] }>(`/api/v1/targets/${id}/history`);
    assert.ok(history.items.length >= 2);
    const certs = await getJson<{ items: { subject: string }[] }>('/api/v1/certificates?q=rotating');
    assert.equal(certs.items.length, 2, 'both leaves are in the inventory');
    // The webhook got it, and both deliveries are recorded with the event.
    await until('the webhook', async () => hookBodies.some((b) => b.event === 'rotated'));
    const body = hookBodies.find((b) => b.event === 'rotated')!;
    assert.equal(body.target, `127.0.0.1:${rotating.port}`);
    const deliveries = await until('both deliveries recorded', async () => {
      const ev = await getJson<{
        items: {
          type: string;
          notifications: { channel: string; outcome: string; error: string | null }[];
        }[];
      }>(`/api/v1/targets/${id}/events`);
      const n = ev.items.find((e) => e.type === 'rotated')?.notifications ?? [];
      return n.length >= 2 ? n : null;
    }).catch((e: Error) => {
      throw new Error(`${e.message}; the service said: ${svc!.stderr()}`);
    });
    assert.deepEqual(deliveries.map((d) => [d.channel, d.outcome]).sort(), [
      ['broken', 'failed'],
      ['hook', 'sent'],
    ]);
    assert.match(deliveries.find((d) => d.channel === 'broken')!.error ?? '', /500/);

    // Back to the first certificate (a load balancer's other backend): a second `rotated` event,
    // held back by hook's dedupWindow and recorded as suppressed; broken never delivered the
    // first, so it tries the repeat (and fails again).
    await rotating.rotate(firstRotatingLeaf);
    const again = await fetch(`${svc!.base}/api/v1/targets/${id}/check`, { method: 'POST', headers: auth });
    assert.equal(again.status, 200);
    const held = await until('the repeat recorded as suppressed', async () => {
      const ev = await getJson<{
        items: {
          id: number;
          type: string;
          notifications: { channel: string; outcome: string; error: string | null }[];
        }[];
      }>(`/api/v1/targets/${id}/events`);
      const rotations = ev.items.filter((e) => e.type === 'rotated');
      return rotations.length >= 2 && rotations[0]!.notifications.length >= 2
        ? rotations[0]!.notifications
        : null;
    });
    assert.deepEqual(held.map((d) => [d.channel, d.outcome]).sort(), [
      ['broken', 'failed'],
      ['hook', 'suppressed'],
    ]);
    assert.match(
      held.find((d) => d.channel === 'hook')!.error ?? '',
      /the same rotated event was queued for this channel at \d{4}-.*dedupWindow/,
    );
    assert.equal(hookBodies.filter((b) => b.event === 'rotated').length, 1, 'sent once');
  });

  test('SIGHUP reloads: a removed target stops being exported, the others keep their history', async () => {
    const before = await checked();
    writeFileSync(
      join(dir, 'certvet.yaml'),
      config([`127.0.0.1:${good.port}`, `127.0.0.1:${rotating.port}`]),
    );
    svc!.proc.kill('SIGHUP');
    await until('the reload', async () => (await getJson<TargetsPage>('/api/v1/targets')).items.length === 2);
    const text = await (await get('/metrics')).text();
    assert.doesNotMatch(text, new RegExp(`target="127\\.0\\.0\\.1:${expired.port}"`));
    const id = before.items.find((t) => t.target.endsWith(`:${rotating.port}`))!.id;
    const history = await getJson<{ items: unknown[] }>(`/api/v1/targets/${id}/history`);
    assert.ok(history.items.length >= 2, 'history kept across the reload');
    // A broken config is reported and the running one kept.
    writeFileSync(join(dir, 'certvet.yaml'), 'groups: [ { name: web } ]\n');
    svc!.proc.kill('SIGHUP');
    await until('the failed reload to be reported', async () => /reload failed/.test(svc!.stderr()));
    assert.equal((await getJson<TargetsPage>('/api/v1/targets')).items.length, 2);
    const r = await fetch(`${svc!.base}/-/reload`, { method: 'POST', headers: auth });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, /groups\.0/);
    writeFileSync(
      join(dir, 'certvet.yaml'),
      config([`127.0.0.1:${good.port}`, `127.0.0.1:${rotating.port}`]),
    );
  });

  test('SIGTERM exits 0; started again on the same store, the history is there', async () => {
    const p = await checked().catch(async () => getJson<TargetsPage>('/api/v1/targets'));
    const id = p.items.find((t) => t.target.endsWith(`:${rotating.port}`))!.id;
    svc!.proc.kill('SIGTERM');
    assert.equal(await svc!.exited, 0, svc!.stderr());
    svc = await startServe(join(dir, 'certvet.yaml'));
    const history = await getJson<{ items: unknown[] }>(`/api/v1/targets/${id}/history`);
    assert.ok(history.items.length >= 2, 'history survived the restart');
    const events = await getJson<{ items: { type: string }[] }>('/api/v1/events');
    assert.ok(events.items.some((e) => e.type === 'rotated'));
    svc.proc.kill('SIGTERM');
    assert.equal(await svc.exited, 0);
  });
});

describe('certvet demo --serve', { timeout: 60_000 }, () => {
  test('monitors the lab, serves the dashboard and the API, exits 0 on SIGTERM', async () => {
    const proc = spawn(process.execPath, [CLI, 'demo', '--serve', '--listen', '127.0.0.1:0'], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => proc.on('close', r));
    try {
      const base = await until(
        'the dashboard URL',
        async () => /Dashboard: (http:\/\/\S+?)\/ /.exec(out)?.[1],
      );
      const page = await until('every lab endpoint checked', async () => {
        const p = (await (await fetch(`${base}/api/v1/targets`)).json()) as {
          items: { status: string | null }[];
        };
        return p.items.length > 10 && p.items.every((t) => t.status !== null) ? p : null;
      });
      const statuses = new Set(page.items.map((t) => t.status));
      assert.ok(statuses.has('ok') && statuses.has('critical'), [...statuses].join());
      const html = await (await fetch(`${base}/`)).text();
      assert.match(html, /<!doctype html>/i);
      assert.match(await (await fetch(`${base}/metrics`)).text(), /certvet_target_status\{/);
    } finally {
      proc.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });
});

describe('certvet serve: revoked and expired while it runs', { timeout: 60_000 }, () => {
  test('a CRL that starts listing the leaf gives `revoked`; a certificate that expires gives `expiry-threshold`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certvet-serve-rev-'));
    let crl: Uint8Array = new Uint8Array();
    const repo = createHttpServer((req, res) => {
      if (req.url !== '/ica.crl') return void res.writeHead(404).end();
      // max-age=0: every check fetches it again, so the new CRL counts at once.
      res
        .writeHead(200, { 'content-type': 'application/pkix-crl', 'cache-control': 'max-age=0' })
        .end(Buffer.from(crl));
    });
    await new Promise<void>((r) => repo.listen(0, '127.0.0.1', r));
    const crlUrl = `http://127.0.0.1:${(repo.address() as { port: number }).port}/ica.crl`;
    const root = await issue({ subject: 'CN=Rev Root', ca: true });
    const ica = await issue({ subject: 'CN=Rev Issuing CA', ca: true, issuer: root, pathLen: 0 });
    crl = await buildCrl({ issuer: ica, entries: [] });
    const victim = await issue({
      subject: 'CN=victim.test',
      issuer: ica,
      dns: ['victim.test'],
      ips: ['127.0.0.1'],
      crlUrls: [crlUrl],
    });
    // Valid for a few more seconds: critical (expires-soon) first, then expired.
    const brief = await issue({
      subject: 'CN=brief.test',
      issuer: ica,
      dns: ['brief.test'],
      ips: ['127.0.0.1'],
      crlUrls: [crlUrl],
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 4000),
    });
    const a = await serveTls(victim, [ica]);
    const b = await serveTls(brief, [ica]);
    writeFileSync(join(dir, 'ca.pem'), root.pem);
    writeFileSync(
      join(dir, 'certvet.yaml'),
      `listen: 127.0.0.1:0
store: ./certvet.db
defaults: { interval: 60s, timeout: 5s, revocation: soft }
groups:
  - { name: rev, ca: ca.pem, targets: ["127.0.0.1:${a.port}", "127.0.0.1:${b.port}"] }
`,
    );
    const svc = await startServe(join(dir, 'certvet.yaml'));
    try {
      const getJson = async <T>(p: string): Promise<T> =>
        (await (await fetch(`${svc.base}${p}`)).json()) as T;
      const page = await until('both checked', async () => {
        const p = await getJson<{ items: { id: string; target: string; status: string | null }[] }>(
          '/api/v1/targets',
        );
        return p.items.every((t) => t.status !== null) ? p : null;
      });
      const idOf = (port: number) => page.items.find((t) => t.target.endsWith(`:${port}`))!.id;
      assert.equal(page.items.find((t) => t.target.endsWith(`:${a.port}`))!.status, 'ok');
      crl = await buildCrl({
        issuer: ica,
        entries: [{ serial: victim.parsed.serialHex, revokedAt: new Date(), reason: 1 }],
      });
      const run = async (id: string) => fetch(`${svc.base}/api/v1/targets/${id}/check`, { method: 'POST' });
      await run(idOf(a.port));
      const events = await getJson<{ items: { type: string; message: string }[] }>(
        `/api/v1/targets/${idOf(a.port)}/events`,
      );
      assert.ok(
        events.items.some((e) => e.type === 'revoked'),
        JSON.stringify(events.items),
      );
      assert.match(
        await (await fetch(`${svc.base}/metrics`)).text(),
        new RegExp(`certvet_cert_revoked\\{target="127\\.0\\.0\\.1:${a.port}"[^}]*index="0"[^}]*\\} 1`),
      );
      await new Promise((r) =>
        setTimeout(r, Math.max(0, brief.parsed.notAfter.seconds * 1000 - Date.now() + 1500)),
      );
      await run(idOf(b.port));
      const bev = await getJson<{ items: { type: string; message: string }[] }>(
        `/api/v1/targets/${idOf(b.port)}/events`,
      );
      assert.ok(
        bev.items.some((e) => e.type === 'expiry-threshold' && /expired/.test(e.message)),
        JSON.stringify(bev.items),
      );
    } finally {
      svc.proc.kill('SIGTERM');
      await svc.exited;
      for (const s of [a, b]) await new Promise((r) => s.server.close(r));
      await new Promise((r) => repo.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
