/**
 * The dashboard of `certvet serve`, end to end in Debian's Chromium (playwright-core, no browser
 * download): real TLS servers on 127.0.0.1 (a good chain, an expired leaf, and a leaf whose
 * subject is markup with bidi controls), the built CLI serving them from a config in a
 * temporary directory, then in the browser: the fleet summary, the table's filters, a target's
 * chain and findings, a rotation seen in the event feed, and the hostile subject shown as text
 * (no script runs, no console error, no CSP violation). Screenshots go to test-artifacts/.
 *
 * Chromium missing fails the test with how to install it, unless CERTVET_SKIP_BROWSER=1.
 * Also, without a browser: the page's escaping helper against the CLI's sanitiser, the expiry
 * timeline's bucketing, and the fixed set of files the service serves.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { Browser, Page } from 'playwright-core';
import { type IssuedCert, issue, privateKeyPem } from '../src/lab/pki.js';
import { dashboardFile, dashboardPaths } from '../src/monitor/dashboard/assets.js';
import { neutralize } from '../src/report/sanitize.js';
import {
  CHROMIUM,
  launchChromium,
  type ServeProcess,
  startServeProcess,
  until,
} from './support/serveProcess.js';

// The page's globals, as the functions evaluated in the browser use them (the project compiles
// without the DOM library).
interface PageNode {
  readonly textContent: string | null;
  querySelector(s: string): PageNode | null;
}
declare const document: {
  querySelector(s: string): PageNode | null;
  querySelectorAll(s: string): ArrayLike<PageNode>;
  addEventListener(type: string, f: (e: { violatedDirective: string; blockedURI: string }) => void): void;
};
declare const window: unknown;

const DAY = 86400_000;
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const APP_JS = new URL('../../dashboard/app.js', import.meta.url).href;

/** A subject that is markup (it would run script if inserted as HTML) with bidi controls. */
const XSS_CN = '<img src=x onerror=window.__xss=1>\u202etxt.exe\u202c';
const XSS_SUBJECT = `CN=${XSS_CN}, O=<script>window.__xss=2</script>\u2066x\u2069`;

interface DashboardApp {
  visible(s: string): string;
  daysUntil(iso: string, now?: number): number;
  elapsedFraction(a: string, b: string, now?: number): number;
  expiryBuckets(
    certs: readonly { notAfter: string; isCA: boolean }[],
    now?: number,
    days?: number,
  ): { xs: number[]; leaves: number[]; cas: number[]; expired: number };
}

describe('dashboard helpers (no browser)', () => {
  let app: DashboardApp;
  before(async () => {
    app = (await import(APP_JS)) as DashboardApp;
  });

  test('visible() makes the same characters visible as the CLI sanitiser, the same way', () => {
    for (const s of [
      XSS_SUBJECT,
      'plain',
      '\u0000\u0007\u001b[2J\u007f\u0085\u009b',
      '\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\ufffe\uffff',
      'lone \ud800 high, lone \udc00 low, pair \ud83d\ude00',
      'Ünïcödé 日本 ok',
    ])
      assert.equal(app.visible(s), neutralize(s), JSON.stringify(s));
    assert.equal(app.visible('a\u202eb'), 'a\\u202eb');
    assert.equal(app.visible('\u001b'), '\\x1b');
    const utf16 = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)) });
    fc.assert(
      fc.property(utf16, (s) => app.visible(s) === neutralize(s)),
      { numRuns: 2000 },
    );
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => app.visible(s) === neutralize(s)));
    assert.equal(app.visible(null as unknown as string), '');
  });

  test('expiry buckets: by UTC day over 90 days, leaves and CAs apart, expired counted aside', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    const b = app.expiryBuckets(
      [
        { notAfter: '2026-03-01T18:00:00Z', isCA: false },
        { notAfter: '2026-03-11T00:00:00Z', isCA: true },
        { notAfter: '2026-03-11T23:59:59Z', isCA: false },
        { notAfter: '2026-02-01T00:00:00Z', isCA: false },
        { notAfter: '2027-01-01T00:00:00Z', isCA: true },
        { notAfter: 'not a date', isCA: false },
      ],
      now,
    );
    assert.equal(b.xs.length, 91);
    assert.equal(b.xs[0], Date.parse('2026-03-01T00:00:00Z') / 1000);
    assert.equal(b.leaves[0], 1);
    assert.equal(b.cas[10], 1);
    assert.equal(b.leaves[10], 1);
    assert.equal(b.expired, 1);
    assert.equal(
      b.leaves.reduce((a, x) => a + x, 0) + b.cas.reduce((a, x) => a + x, 0),
      3,
      'the one beyond 90 days is not drawn',
    );
    assert.equal(app.daysUntil('2026-03-03T12:00:00Z', now), 2);
    assert.equal(app.daysUntil('2026-02-28T12:00:00Z', now), -1);
    assert.equal(app.elapsedFraction('2026-02-01T12:00:00Z', '2026-03-29T12:00:00Z', now), 0.5);
    assert.equal(app.elapsedFraction('2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', now), 0);
  });

  test('the service serves a fixed set of files, with their content types, and nothing else', () => {
    const types: Record<string, RegExp> = {
      '/index.html': /^text\/html/,
      '/app.js': /^text\/javascript/,
      '/app.css': /^text\/css/,
      '/vendor/uplot.js': /^text\/javascript/,
      '/vendor/uplot.css': /^text\/css/,
    };
    assert.deepEqual(dashboardPaths().sort(), Object.keys(types).sort());
    for (const [p, type] of Object.entries(types)) {
      const f = dashboardFile(p);
      assert.ok(f, p);
      assert.match(f.type, type);
      assert.ok(f.body.length > 100, p);
    }
    assert.match(String(dashboardFile('/vendor/uplot.js')!.body), /uPlot/);
    assert.match(String(dashboardFile('/index.html')!.body), /<script type="module" src="\/app.js">/);
    for (const p of [
      '/',
      '/../package.json',
      '/vendor/../app.js',
      '/app.js/',
      '/APP.JS',
      '/etc/passwd',
      '/vendor/uPlot.iife.min.js',
    ])
      assert.equal(dashboardFile(p), null, p);
    // No inline script or style in the page: the CSP allows neither.
    const html = String(dashboardFile('/index.html')!.body);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
    assert.doesNotMatch(html, /\sstyle=|<style|\son[a-z]+=/i);
    assert.doesNotMatch(
      String(dashboardFile('/app.js')!.body),
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/,
    );
  });
});

interface Endpoint {
  server: tls.Server;
  port: number;
}

async function serveTls(leaf: IssuedCert, chain: readonly IssuedCert[]): Promise<Endpoint> {
  const server = tls.createServer(
    { key: await privateKeyPem(leaf.key), cert: [leaf, ...chain].map((c) => c.pem).join('') },
    (s) => {
      s.on('error', () => {});
      s.end();
    },
  );
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

const skipBrowser = process.env.CERTVET_SKIP_BROWSER === '1' ? 'CERTVET_SKIP_BROWSER=1' : false;

describe('dashboard end to end in Chromium', { skip: skipBrowser, timeout: 90_000 }, () => {
  let dir: string;
  let root: IssuedCert;
  let inter: IssuedCert;
  const endpoints: Endpoint[] = [];
  let good: Endpoint;
  let service: ServeProcess | null = null;
  let base = '';
  let browser: Browser | null = null;
  let page: Page;
  const consoleErrors: string[] = [];

  const diagnostics = () => `\n--- service output ---\n${(service?.output() ?? '').slice(-4000)}`;

  async function api<T>(path: string, init?: RequestInit): Promise<T> {
    const r = await fetch(`${base}/api/v1${path}`, init);
    assert.ok(r.ok, `${path}: ${r.status}`);
    return (await r.json()) as T;
  }

  const waitFor = <T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 20_000) =>
    until(what, fn, { ms, diagnostics });

  before(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `Chromium is not installed at ${CHROMIUM}: the dashboard test drives Debian's Chromium. Install it with ` +
          '`apt-get update && apt-get install -y chromium` (.ci/run does this), or set CERTVET_SKIP_BROWSER=1 to skip this test.',
      );
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'certvet-dashboard-'));
    const now = Date.now();
    root = await issue({
      subject: 'CN=certvet dashboard test root, O=certvet tests',
      ca: true,
      notBefore: new Date(now - 400 * DAY),
    });
    inter = await issue({
      subject: 'CN=certvet dashboard test intermediate, O=certvet tests',
      ca: true,
      issuer: root,
      notBefore: new Date(now - 365 * DAY),
      notAfter: new Date(now + 80 * DAY),
    });
    const goodLeaf = await issue({
      subject: 'CN=good.test',
      issuer: inter,
      dns: ['good.test'],
      notAfter: new Date(now + 45 * DAY),
    });
    const expiredLeaf = await issue({
      subject: 'CN=expired.test',
      issuer: inter,
      dns: ['expired.test'],
      notBefore: new Date(now - 60 * DAY),
      notAfter: new Date(now - 2 * DAY),
    });
    const xssLeaf = await issue({
      subject: XSS_SUBJECT,
      issuer: inter,
      dns: ['xss.test'],
      notAfter: new Date(now + 20 * DAY),
    });
    good = await serveTls(goodLeaf, [inter]);
    const expired = await serveTls(expiredLeaf, [inter]);
    const xss = await serveTls(xssLeaf, [inter]);
    endpoints.push(good, expired, xss);
    writeFileSync(join(dir, 'root.pem'), root.pem);
    writeFileSync(
      join(dir, 'certvet.yaml'),
      [
        'listen: 127.0.0.1:0',
        'store: ./certvet.db',
        'defaults: { interval: 2s, timeout: 5s, revocation: "off", warnDays: 30, critDays: 7, jitter: 0 }',
        'groups:',
        '  - name: web',
        '    ca: [root.pem]',
        '    labels: { team: edge }',
        '    targets:',
        `      - { target: "good.test:${good.port}", resolve: 127.0.0.1 }`,
        `      - { target: "xss.test:${xss.port}", resolve: 127.0.0.1 }`,
        '  - name: legacy',
        '    ca: [root.pem]',
        '    targets:',
        `      - { target: "expired.test:${expired.port}", resolve: 127.0.0.1 }`,
        '',
      ].join('\n'),
    );
    service = await startServeProcess(['serve', '-c', join(dir, 'certvet.yaml')], { cwd: dir });
    base = service.base;
    browser = await launchChromium();
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      colorScheme: 'light',
    });
    // Loopback only: anything else the page asks for is refused (and would fail the test below).
    await context.route(/^(?!http:\/\/127\.0\.0\.1:\d+\/)/, (r) => {
      consoleErrors.push(`request beyond the service: ${r.request().url()}`);
      return r.abort();
    });
    await context.addInitScript(() => {
      const w = window as unknown as { __csp: string[] };
      w.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    if (service && service.proc.exitCode === null && service.proc.signalCode === null)
      service.proc.kill('SIGKILL');
    for (const e of endpoints) e.server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('fleet, filters, a target, a rotation in the event feed, a hostile subject as text', async () => {
    type Summary = Record<'total' | 'ok' | 'warning' | 'critical' | 'error' | 'pending', number>;
    type Item = { id: string; target: string; status: string | null };
    // Every target checked once.
    const list = await waitFor('the first checks', async () => {
      const l = await api<{ items: Item[]; summary: Summary }>('/targets');
      return l.summary.pending === 0 ? l : null;
    });
    assert.equal(list.summary.total, 3);
    const byName = (n: string) => list.items.find((i) => i.target.startsWith(n))!;
    assert.equal(byName('good.test').status, 'ok', diagnostics());
    assert.equal(byName('xss.test').status, 'warning', diagnostics());
    assert.ok(['critical', 'error'].includes(byName('expired.test').status!), diagnostics());

    const detail = await api<{ last: { result: { chain: { subject: string }[] } } }>(
      `/targets/${byName('xss.test').id}`,
    );
    const apiSubject = detail.last.result.chain[0]!.subject;
    assert.ok(apiSubject.includes('\u202e') && apiSubject.includes('<img'), apiSubject);

    // The page and its headers.
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);

    // Fleet summary by status.
    await page.goto(`${base}/`);
    await page.waitForFunction(() => document.querySelector('#sum-total .count')?.textContent === '3');
    const counts = await page.evaluate(() =>
      Object.fromEntries(
        ['total', 'ok', 'warning', 'critical', 'error', 'pending'].map((s) => [
          s,
          Number(document.querySelector(`#sum-${s} .count`)?.textContent),
        ]),
      ),
    );
    assert.deepEqual(counts, { ...list.summary });
    const rows = page.locator('#targets tbody tr[data-id]');
    await page.waitForFunction(() => document.querySelectorAll('#targets tbody tr[data-id]').length === 3);

    // The expiry timeline: a uPlot chart, and the intermediate (not only leaves) among the soonest.
    await page.waitForSelector('#expiry-chart canvas');
    await page.waitForFunction(() =>
      document.querySelector('#expiry-table')?.textContent?.includes('intermediate'),
    );
    const timeline = (await page.textContent('#expiry-table'))!;
    assert.match(timeline, /CN=good\.test/);
    assert.match(timeline, /CA/);
    assert.match((await page.textContent('#expiry-note'))!, /already expired/);

    // The hostile subject in the table: text, with its bidi controls made visible.
    const tableText = (await page.textContent('#targets tbody'))!;
    assert.ok(tableText.includes(neutralize(apiSubject)), tableText);
    assert.ok(tableText.includes('<img src') && tableText.includes('\\u202e'), tableText);
    assert.ok(!/[\u202a-\u202e\u2066-\u2069]/.test(tableText), 'no raw bidi control on the page');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-fleet.png'), fullPage: true });

    // Filters: by group, by text, by status (a summary card).
    await page.selectOption('#filter-group', 'legacy');
    await page.waitForFunction(() => document.querySelectorAll('#targets tbody tr[data-id]').length === 1);
    assert.match((await rows.first().textContent())!, /expired\.test/);
    await page.selectOption('#filter-group', '');
    await page.waitForFunction(() => document.querySelectorAll('#targets tbody tr[data-id]').length === 3);
    await page.fill('#filter-text', 'good');
    // Wait on the content, not only the count: the legacy filter also left one row.
    await page.waitForFunction(() => {
      const shown = document.querySelectorAll('#targets tbody tr[data-id]');
      return shown.length === 1 && /good\.test/.test(shown[0]?.textContent ?? '');
    });
    assert.match((await rows.first().textContent())!, /good\.test/);
    await page.fill('#filter-text', '');
    await page.waitForFunction(() => document.querySelectorAll('#targets tbody tr[data-id]').length === 3);
    await page.click('#sum-warning');
    await page.waitForFunction(() => {
      const shown = document.querySelectorAll('#targets tbody tr[data-id]');
      return shown.length === 1 && /xss\.test/.test(shown[0]?.textContent ?? '');
    });
    assert.match((await rows.first().textContent())!, /xss\.test/);
    assert.match(page.url(), /status=warning/);
    // Sorting by target name, both ways.
    await page.click('#sum-total');
    await page.waitForFunction(() => document.querySelectorAll('#targets tbody tr[data-id]').length === 3);
    await page.click('th[data-key="target"]');
    const asc = await page.$$eval('#targets tbody tr[data-id] .target-link', (a) =>
      a.map((x) => x.textContent),
    );
    assert.deepEqual(
      asc.map((t) => t!.split(':')[0]),
      ['expired.test', 'good.test', 'xss.test'],
    );
    await page.click('th[data-key="target"]');
    const desc = await page.$$eval('#targets tbody tr[data-id] .target-link', (a) =>
      a.map((x) => x.textContent),
    );
    assert.deepEqual(desc, [...asc].reverse());

    // A target: its chain leaf → root (sources), findings, history.
    await page.click('a.target-link:has-text("xss.test")');
    await page.waitForFunction(
      () =>
        document.querySelector('#target-name')?.textContent?.startsWith('xss.test') &&
        document.querySelector('#chain li.cert'),
    );
    const chain = await page.$$eval('#chain li.cert', (lis) =>
      lis.map((li) => ({
        role: li.querySelector('.role')?.textContent,
        source: li.querySelector('.badge.source')?.textContent,
        subject: li.querySelector('.subject')?.textContent,
        bar: !!li.querySelector('.validity .bar .fill'),
      })),
    );
    assert.deepEqual(
      chain.map((c) => [c.role, c.source]),
      [
        ['#0 leaf', 'sent by the server'],
        ['#1 intermediate', 'sent by the server'],
        ['#2 root', 'trust store'],
      ],
    );
    assert.ok(chain.every((c) => c.bar));
    assert.equal(
      chain[0]!.subject,
      neutralize(apiSubject),
      'the subject, as text, its controls made visible',
    );
    assert.ok(chain[0]!.subject!.includes('<img src') && chain[0]!.subject!.includes('\\u202e'));
    assert.match((await page.textContent('#findings-list'))!, /expires-soon|expir/i);
    await page.waitForSelector('#history table tbody tr');
    assert.equal(
      await page.locator('#view img, #view script').count(),
      0,
      'no element came from certificate text',
    );
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-target-xss.png'), fullPage: true });

    // The expired target's findings.
    await page.goto(`${base}/#/target/${byName('expired.test').id}`);
    // The hash route renders after goto returns: wait for this target's page, not the last one's.
    await page.waitForFunction(
      () =>
        document.querySelector('#target-name')?.textContent?.startsWith('expired.test') &&
        document.querySelector('#findings-list'),
    );
    assert.match((await page.textContent('#findings-list'))!, /expired/);

    // Rotation: the good server gets a new leaf; "check now" on its page; the event feed says so.
    const newLeaf = await issue({
      subject: 'CN=good.test',
      issuer: inter,
      dns: ['good.test'],
      notAfter: new Date(Date.now() + 89 * DAY),
    });
    good.server.setSecureContext({ key: await privateKeyPem(newLeaf.key), cert: newLeaf.pem + inter.pem });
    await page.goto(`${base}/#/target/${byName('good.test').id}`);
    await page.waitForFunction(
      () =>
        document.querySelector('#target-name')?.textContent?.startsWith('good.test') &&
        document.querySelector('#chain li.cert'),
    );
    await page.click('#check-now');
    await page.waitForFunction(() =>
      /checked at/.test(document.querySelector('#check-note')?.textContent ?? ''),
    );
    await page.waitForFunction(
      (sha) => document.querySelector('#chain li.cert .facts')?.textContent?.includes(sha),
      await sha256Hex(newLeaf.der),
    );
    await page.waitForSelector('#target-events .event-item[data-type="rotated"]');
    await page.click('nav a[data-nav="events"]');
    await page.waitForSelector('#event-feed .event-item[data-type="rotated"]');
    const rotated = (await page.textContent('#event-feed .event-item[data-type="rotated"]'))!;
    assert.match(rotated, /good\.test/);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-events.png'), fullPage: true });

    // The inventory: search finds the hostile certificate, shown as text.
    await page.click('nav a[data-nav="certificates"]');
    await page.waitForSelector('#cert-search');
    await page.fill('#cert-search', 'xss.test');
    await page.waitForFunction(() => {
      const rows = document.querySelectorAll('#certificates tbody tr');
      return rows.length === 1 && rows[0]!.textContent!.includes('onerror');
    });
    await page.fill('#cert-search', 'good.test');
    await page.waitForFunction(
      () => document.querySelectorAll('#certificates tbody tr .cert-link').length === 2,
    );
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-certificates.png'), fullPage: true });
    await page.click('#certificates tbody tr:last-child .cert-link');
    await page.waitForSelector('#certificate h1');
    assert.match((await page.textContent('#certificate'))!, /served by\s*good\.test/);

    // Nothing ran, nothing was blocked, nothing failed.
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined);
    assert.deepEqual(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp), []);
    assert.deepEqual(consoleErrors, []);

    // SIGTERM: the service finishes and exits 0.
    await browser!.close();
    browser = null;
    service!.proc.kill('SIGTERM');
    assert.equal(await service!.exited, 0, diagnostics());
  });
});

async function sha256Hex(der: Uint8Array): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(der).digest('hex');
}

describe('dashboard behind auth.tokens, in Chromium', { skip: skipBrowser, timeout: 60_000 }, () => {
  test('the page loads without a token, asks for one, and shows the fleet once given', async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium)`);
    const token = 'dashboard-token-0123456789';
    const dir = mkdtempSync(join(tmpdir(), 'certvet-dashboard-auth-'));
    const root = await issue({ subject: 'CN=auth test root', ca: true });
    const leaf = await issue({ subject: 'CN=auth.test', issuer: root, dns: ['auth.test'] });
    const ep = await serveTls(leaf, []);
    writeFileSync(join(dir, 'root.pem'), root.pem);
    writeFileSync(
      join(dir, 'certvet.yaml'),
      `listen: 127.0.0.1:0\nstore: ./certvet.db\ndefaults: { interval: 60s, revocation: "off" }\ngroups:\n  - { name: web, ca: [root.pem], targets: [ { target: "auth.test:${ep.port}", resolve: 127.0.0.1 } ] }\nauth: { tokens: [ { env: DASH_TOKEN } ] }\n`,
    );
    const svc = await startServeProcess(['serve', '-c', join(dir, 'certvet.yaml')], {
      cwd: dir,
      env: { DASH_TOKEN: token },
    });
    let browser: Browser | null = null;
    try {
      const base = svc.base;
      browser = await launchChromium();
      const page = await browser.newPage();
      await page.goto(`${base}/`);
      await page.waitForSelector('#token-form', { timeout: 10_000 });
      await page.fill('#token-input', token);
      await page.click('#token-submit');
      await page.waitForFunction(
        () =>
          (document as unknown as { body: { textContent: string } }).body.textContent.includes('auth.test:'),
        undefined,
        { timeout: 15_000 },
      );
      const stored = await page.evaluate(() =>
        (
          globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }
        ).sessionStorage.getItem('certvet-token'),
      );
      assert.equal(stored, token, 'kept for this tab only');
      assert.equal(await page.url().includes(token), false, 'never in the URL');
    } finally {
      await browser?.close().catch(() => {});
      svc.proc.kill('SIGTERM');
      await svc.exited;
      ep.server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
