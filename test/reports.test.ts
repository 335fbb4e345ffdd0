import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChainEntry } from '../src/model/chainEntry.js';
import { buildReport, exitCodeOf, statusOf, type TargetResult } from '../src/model/result.js';
import { renderHtml } from '../src/report/html.js';
import { renderJunit } from '../src/report/junit.js';
import { renderPrometheus } from '../src/report/prometheus.js';
import { renderReport } from '../src/report/render.js';
import { escapeHtml, sanitizeForTerminal } from '../src/report/sanitize.js';
import { colorsFor } from '../src/report/style.js';

const EVIL = 'CN=<script>alert("x")</script>\u001b[2J\u202e"&\'\nnext';

const entry = (subject: string, days: number): ChainEntry => ({
  subject,
  issuer: 'CN=Issuer',
  serialNumber: '01AB',
  notBefore: '2026-01-01T00:00:00Z',
  notAfter: new Date(Date.parse('2026-11-22T00:00:00Z') + days * 86400_000)
    .toISOString()
    .replace('.000Z', 'Z'),
  daysRemaining: days,
  sha256: 'ab'.repeat(32),
  subjectAltNames: { dns: ['x.example'], ip: [], email: [], uri: [] },
  publicKey: { type: 'ec', bits: 256, curve: 'P-256', spkiSha256: 'ab'.repeat(32) },
  signatureAlgorithm: 'ecdsa-with-SHA256',
  isCA: false,
  selfSigned: false,
  source: 'peer',
});

const result = (
  target: string,
  status: TargetResult['status'],
  findings: TargetResult['findings'],
  chain: ChainEntry[] = [],
): TargetResult => ({
  target,
  host: target,
  port: 443,
  address: '127.0.0.1',
  servername: target,
  status,
  findings,
  chain,
  durationMs: 12,
  tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', alpn: null, ocspStapled: false },
});

const report = buildReport(
  [
    result('ok.example:443', 'ok', [], [entry('CN=ok.example', 80)]),
    result(
      `evil.example:443`,
      'critical',
      [{ code: 'expired', severity: 'critical', message: `the leaf ${EVIL} expired`, certIndex: 0 }],
      [entry(EVIL, -3)],
    ),
    result('down.example:443', 'error', [
      { code: 'connect-failed', severity: 'error', message: 'connection refused' },
    ]),
    result(
      'soon.example:443',
      'warning',
      [{ code: 'expires-soon', severity: 'warning', message: 'expires in 5 days', certIndex: 0 }],
      [entry('CN=soon', 5)],
    ),
  ],
  new Date('2026-11-22T00:00:00Z'),
);

describe('report renderers', () => {
  test('status and exit codes follow DESIGN.md §3', () => {
    assert.equal(statusOf([]), 'ok');
    assert.equal(statusOf([{ code: 'chain-hygiene', severity: 'info', message: '' }]), 'ok');
    assert.equal(statusOf([{ code: 'expires-soon', severity: 'warning', message: '' }]), 'warning');
    assert.equal(
      statusOf([
        { code: 'expires-soon', severity: 'warning', message: '' },
        { code: 'expired', severity: 'critical', message: '' },
      ]),
      'critical',
    );
    assert.deepEqual(report.summary, { total: 4, ok: 1, warning: 1, critical: 1, error: 1 });
    assert.equal(exitCodeOf(report), 2);
    assert.equal(exitCodeOf(buildReport([report.results[2]!])), 3);
    assert.equal(exitCodeOf(buildReport([report.results[3]!])), 1);
    assert.equal(exitCodeOf(buildReport([report.results[0]!])), 0);
  });

  test('terminal output never carries raw control or bidi characters from certificates', () => {
    const text = renderReport(report, 'text', colorsFor(process.stdout, false));
    assert.ok(!/[\u001b\u202e]/.test(text));
    assert.match(text, /\\x1b\[2J/);
    assert.match(text, /4 targets: 1 ok, 1 warning, 1 critical, 1 error/);
    assert.ok(text.indexOf('CRITICAL') < text.indexOf('OK '), 'worst first');
    assert.equal(sanitizeForTerminal('a\u0007b\u009bc\u2066'), 'a\\x07b\\x9bc\\u2066');
  });

  test('HTML is self-contained and escapes everything', () => {
    const html = renderHtml(report);
    assert.ok(!html.includes('<script>alert'), 'no injected markup');
    assert.ok(html.includes('&#60;script&#62;alert(&#34;x&#34;)'));
    assert.ok(!/[\u0000-\u0009\u000b-\u001f\u202e]/.test(html), 'no raw control or bidi characters');
    assert.ok(html.includes('\\x1b[2J\\u202e'), 'shown as the text renderer shows them');
    assert.ok(!/<(link|img|iframe)\b/i.test(html));
    assert.ok(!/src=|href=/i.test(html));
    assert.match(html, /Content-Security-Policy/);
    assert.equal(escapeHtml(`<a href='x'>&"\``), '&#60;a href=&#39;x&#39;&#62;&#38;&#34;&#96;');
  });

  test('JUnit XML: one testcase per target, failures and errors, escaped', () => {
    const xml = renderJunit(report);
    assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>/);
    assert.equal((xml.match(/<testcase /g) ?? []).length, 4);
    assert.equal((xml.match(/<failure /g) ?? []).length, 1);
    assert.equal((xml.match(/<error /g) ?? []).length, 1);
    assert.ok(!xml.includes('\u001b'), 'no control characters in XML');
    assert.ok(xml.includes('\\x1b[2J'), 'shown as the text renderer shows them');
    assert.ok(!xml.includes('<script>'));
  });

  test('Prometheus exposition: types, escaped labels, not-after timestamps', () => {
    const prom = renderPrometheus(report);
    assert.match(prom, /# TYPE certvet_target_status gauge/);
    assert.match(prom, /certvet_target_status\{target="evil\.example:443"\} 2/);
    assert.match(prom, /certvet_target_status\{target="down\.example:443"\} 3/);
    assert.match(
      prom,
      /certvet_cert_days_remaining\{target="soon\.example:443",index="0",subject="CN=soon",serial="01AB",sha256="(ab){32}"\} 5/,
    );
    for (const line of prom.split('\n')) assert.ok(!line.includes('\n'));
    assert.ok(prom.includes('\\"x\\"'), 'quotes escaped in label values');
    // The shared sanitiser shows a newline as \x0a (its backslash escaped for the label).
    assert.ok(prom.includes('\\\\x0anext'), 'newlines replaced in label values');
    assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/.test(prom), 'no raw control characters');
  });

  test('jsonl is one parseable result per line; json is the DESIGN.md §4 envelope', () => {
    const lines = renderReport(report, 'jsonl', colorsFor(process.stdout, false)).trim().split('\n');
    assert.equal(lines.length, 4);
    const j = JSON.parse(renderReport(report, 'json', colorsFor(process.stdout, false)));
    assert.equal(j.version, 1);
    assert.ok(j.generatedAt);
    for (const r of j.results)
      for (const k of [
        'target',
        'host',
        'port',
        'address',
        'servername',
        'status',
        'findings',
        'chain',
        'durationMs',
      ])
        assert.ok(k in r, k);
  });
});
