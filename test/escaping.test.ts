/**
 * Hostile certificate text (control characters, bidi overrides, markup, quotes) is rendered
 * harmlessly in every format by the one shared sanitiser: visible escapes in text, HTML, JUnit
 * XML and Prometheus; the exact text in JSON.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Finding } from '../src/findings/catalogue.js';
import { issue, makeChain } from '../src/lab/pki.js';
import { chainEntry } from '../src/model/chainEntryBuilder.js';
import { buildReport, statusOf, type TargetResult } from '../src/model/result.js';
import { certificateDetails, renderInspectText } from '../src/report/inspectText.js';
import { FORMATS, renderReport } from '../src/report/render.js';
import { escapeHtml, escapePrometheusLabel, escapeXml, neutralize } from '../src/report/sanitize.js';
import { colorsFor } from '../src/report/style.js';
import { renderVerifyText } from '../src/report/verifyText.js';
import { verifyCertificate } from '../src/verify/verify.js';
import type { Certificate } from '../src/x509/certificate.js';

/** What no rendered (non-JSON) output may contain raw: C0 but newline, DEL, C1, bidi controls. */
const RAW_UNSAFE =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** XML 1.0 forbids these even as character references. */
const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

const HOSTILE_CN =
  "CN=\u202eevil\u202c \u2066x\u2069\u200f <b>bold</b> & 'q' \u001b[2J\u0007\u009b31m\u0000end";
const now = new Date();

const colors = colorsFor(process.stdout, false);
let hostile: Certificate;
let chainCerts: Certificate[];
let result: TargetResult;

describe('hostile certificate text in every renderer', () => {
  before(async () => {
    const chain = await makeChain({ names: ['good.example.test'] });
    const leaf = await issue({
      subject: HOSTILE_CN,
      issuer: chain.intermediate,
      dns: ['\u001b[31mred.example.test'],
      emails: ['a\r\nb@example.test'],
      uris: ['https://x.example.test/\u0000\u001b]8;;evil\u0007'],
    });
    hostile = leaf.parsed;
    chainCerts = [leaf.parsed, chain.intermediate.parsed, chain.root.parsed];
    const v = verifyCertificate({
      leaf: leaf.parsed,
      intermediates: [chain.intermediate.parsed],
      anchors: [chain.root.parsed],
      time: now,
      expectedNames: [{ kind: 'dns', value: 'wanted.example.test' }],
    });
    const findings: Finding[] = [
      ...v.findings,
      // A policy hook's code and a server-controlled message.
      {
        code: 'custom:a"b|c\u001b',
        severity: 'warning',
        message: `server said "\u202eOK\u202c"\r\n\u001b[0m (${hostile.subject.text})`,
      } as unknown as Finding,
    ];
    assert.ok(
      v.findings.some((f) => f.code === 'hostname-mismatch'),
      'the hostile leaf is judged',
    );
    result = {
      target: 'evil\u202e.example.test:443',
      host: 'evil.example.test',
      port: 443,
      address: '127.0.0.1',
      servername: null,
      status: statusOf(findings),
      findings,
      chain: chainCerts.map((c) => chainEntry(c, 'peer', now.getTime())),
      durationMs: 5,
      tls: { protocol: 'TLSv1.3\u001b', cipher: 'TLS_AES_128_GCM_SHA256', alpn: null, ocspStapled: false },
    };
  });

  test('the certificate really carries the hostile text', () => {
    assert.ok(hostile.subject.text.includes('\u202eevil'));
    assert.ok(hostile.subject.text.includes('\u001b[2J'));
  });

  for (const format of FORMATS) {
    test(`${format}: no raw control or bidi character from the certificate`, () => {
      const out = renderReport(buildReport([result], now), format, colors);
      if (format === 'json' || format === 'jsonl') {
        // JSON keeps the exact text (escaped by JSON itself) for programs.
        const r = format === 'json' ? JSON.parse(out).results[0] : JSON.parse(out.trim().split('\n')[0]!);
        assert.equal(r.chain[0].subject, hostile.subject.text);
        assert.ok(!/[\u0000-\u001f]/.test(out.replace(/\n/g, '')), 'JSON escapes C0 control characters');
        return;
      }
      assert.ok(!RAW_UNSAFE.test(out), `raw unsafe character in ${format}`);
      // The same visible escapes as the text renderer.
      assert.ok(out.includes('\\u202eevil'), `${format} shows U+202E visibly`);
      assert.ok(out.includes('\\x1b[2J'), `${format} shows ESC visibly`);
      assert.ok(out.includes('\\x00end'), `${format} shows NUL visibly`);
    });
  }

  test('html: markup is escaped and "\u202eevil" cannot render as "live"', () => {
    const html = renderReport(buildReport([result], now), 'html', colors);
    assert.ok(!html.includes('<b>bold'));
    assert.ok(html.includes('&#60;b\\&#62;bold'));
    assert.ok(html.includes('server said &#34;\\u202eOK'));
    assert.ok(!html.includes('\u202e'));
    assert.ok(!html.includes('\u2066'));
  });

  test('junit: valid XML characters only, attributes quoted safely', () => {
    const xml = renderReport(buildReport([result], now), 'junit', colors);
    assert.ok(!XML_FORBIDDEN.test(xml));
    // Every attribute value is a closed quoted string without raw < or &.
    for (const m of xml.matchAll(/\s([a-z]+)="([^"]*)"/g)) assert.ok(!/[<&](?!#\d+;)/.test(m[2]!), m[0]);
  });

  test('prometheus: every sample line follows the exposition format', () => {
    const prom = renderReport(buildReport([result], now), 'prometheus', colors);
    const label = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\["\\\\n])*"';
    const sample = new RegExp(`^[a-zA-Z_:][a-zA-Z0-9_:]*(?:\\{${label}(?:,${label})*\\})? -?[0-9.e+-]+$`);
    for (const line of prom.trimEnd().split('\n')) {
      if (line.startsWith('#')) continue;
      assert.match(line, sample);
    }
    assert.ok(!prom.includes('\r') && !prom.includes('\u001b'));
    assert.match(prom, /code="custom:a\\"b\|c\\\\x1b",severity="warning"\} 1/);
  });

  test('verify and inspect text renderers', () => {
    const v = renderVerifyText(result, colors, 'profile rfc5280, name \u202ex');
    const i = renderInspectText(certificateDetails(hostile, 'hostile\u202e.pem', 0, now.getTime()), colors);
    for (const out of [v, i]) {
      assert.ok(!RAW_UNSAFE.test(out));
      assert.ok(out.includes('\\u202eevil'));
    }
    assert.ok(i.includes('\\x1b[31mred.example.test'), 'SANs escaped');
  });

  test('one sanitiser behind every escaper', () => {
    const s = '\u202e\u0000\u001b\u009b\r\n\u2028\ud800';
    const n = neutralize(s);
    assert.equal(n, '\\u202e\\x00\\x1b\\x9b\\x0d\\x0a\\u2028\\ud800');
    assert.equal(escapeHtml(s), n);
    assert.equal(escapeXml(s), n);
    assert.equal(escapePrometheusLabel(s), n.replace(/\\/g, '\\\\'));
    // Paired surrogates (emoji) are text, not escaped.
    assert.equal(neutralize('ok \ud83d\udd12'), 'ok \ud83d\udd12');
  });
});
