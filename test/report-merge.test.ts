/**
 * `certvet report merge`: the jsonl outputs of `check --shard K/N` runs (real handshakes with a
 * real TLS server and real refused connections) merge into the report one unsharded run gives.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { makeChain, privateKeyPem } from '../src/lab/pki.js';
import type { TargetResult } from '../src/model/result.js';
import { runCli } from './support/cli.js';

interface JsonReport {
  summary: { total: number; ok: number; warning: number; critical: number; error: number };
  results: TargetResult[];
}

/** What must not depend on how the run was split (timings do). */
const comparable = (r: TargetResult) => [
  r.target,
  r.status,
  r.findings.map((f) => f.code),
  r.chain.map((c) => c.sha256),
];

describe('certvet report merge', () => {
  let dir: string;
  let server: tls.Server;
  let targets: string[];
  const f = (name: string) => join(dir, name);
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-merge-'));
    const chain = await makeChain({ names: ['127.0.0.1'] });
    writeFileSync(f('ca.pem'), chain.root.pem);
    server = tls.createServer({
      key: await privateKeyPem(chain.leaf.key),
      cert: chain.leaf.pem + chain.intermediate.pem,
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const good = (server.address() as { port: number }).port;
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const refused = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    targets = [
      ...Array.from({ length: 12 }, (_, i) => `127.0.0.${1 + (i % 2)}:${good}`),
      ...Array.from({ length: 12 }, (_, i) => `127.0.0.${1 + (i % 4)}:${refused}`),
    ];
    // Distinct target strings (the shard split is by target text).
    targets = [...new Set(targets)].concat(
      Array.from({ length: 10 }, (_, i) => `https://127.0.0.1:${good}/path${i}`),
    );
    writeFileSync(f('targets.txt'), `${targets.join('\n')}\n`);
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('three shards merged are the whole run, in every format, with its exit status', async () => {
    const common = ['-f', f('targets.txt'), '--ca', f('ca.pem'), '--quiet', '--timeout', '5s'];
    const whole = await runCli(['check', ...common, '--format', 'json']);
    assert.equal(whole.code, 3, whole.stderr);
    const wholeJson = JSON.parse(whole.stdout) as JsonReport;
    for (let k = 1; k <= 3; k++) {
      const r = await runCli([
        'check',
        ...common,
        '--shard',
        `${k}/3`,
        '--format',
        'jsonl',
        '-o',
        f(`s${k}.jsonl`),
      ]);
      assert.ok(r.code === 0 || r.code === 3, r.stderr);
    }
    const shards = [1, 2, 3].map((k) => f(`s${k}.jsonl`));
    const merged = await runCli(['report', 'merge', ...shards, '--format', 'json']);
    assert.equal(merged.code, 3, merged.stderr);
    assert.equal(merged.stderr, '');
    const m = JSON.parse(merged.stdout) as JsonReport;
    assert.deepEqual(m.summary, wholeJson.summary);
    const key = (r: TargetResult) => JSON.stringify(comparable(r));
    assert.deepEqual(m.results.map(key).sort(), wholeJson.results.map(key).sort());
    assert.ok(m.summary.ok > 0 && m.summary.error > 0);

    const html = await runCli(['report', 'merge', ...shards, '--format', 'html', '-o', f('m.html')]);
    assert.equal(html.code, 3);
    const page = readFileSync(f('m.html'), 'utf8');
    assert.match(page, new RegExp(`${m.summary.total} targets`));
    const junit = await runCli(['report', 'merge', ...shards, '--format', 'junit']);
    assert.match(
      junit.stdout,
      new RegExp(
        `<testsuites name="certvet" tests="${m.summary.total}" failures="0" errors="${m.summary.error}"`,
      ),
    );
    const text = await runCli(['report', 'merge', ...shards]);
    assert.match(text.stdout, new RegExp(`${m.summary.total} targets: ${m.summary.ok} ok`));
    // Only the good targets: exit 0.
    const okOnly = readFileSync(shards[0]!, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"status":"ok"'))
      .join('\n');
    writeFileSync(f('ok.jsonl'), okOnly);
    const ok = await runCli(['report', 'merge', f('ok.jsonl'), '--format', 'json']);
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('stdin, overlapping inputs warn and keep both, and bad lines name file:line', async () => {
    const r = await runCli(['check', targets[0]!, '--ca', f('ca.pem'), '--quiet', '--format', 'jsonl']);
    assert.equal(r.code, 0, r.stderr);
    writeFileSync(f('one.jsonl'), r.stdout);
    const twice = await runCli(['report', 'merge', f('one.jsonl'), '-', '--format', 'json'], {
      input: r.stdout,
    });
    assert.equal(twice.code, 0);
    assert.equal((JSON.parse(twice.stdout) as JsonReport).summary.total, 2);
    assert.match(
      twice.stderr,
      /standard input:1: "127\.0\.0\.1:\d+" \(127\.0\.0\.1\) is also at .*one\.jsonl:1; both are kept/,
    );

    writeFileSync(f('bad.jsonl'), `${r.stdout}\n{"target": "x", "status": "fine"}\n`);
    const bad = await runCli(['report', 'merge', f('bad.jsonl')]);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /bad\.jsonl:3: not a certvet result: /);
    // A status milder than its findings (an edited line) is refused, not reported as ok.
    const forged = JSON.parse(r.stdout) as TargetResult;
    const edited = {
      ...forged,
      status: 'ok',
      findings: [{ code: 'revoked', severity: 'critical', message: 'the leaf is revoked', certIndex: 0 }],
    };
    writeFileSync(f('forged.jsonl'), `${JSON.stringify(edited)}\n`);
    const refused = await runCli(['report', 'merge', f('forged.jsonl'), '--format', 'json']);
    assert.equal(refused.code, 64);
    assert.match(refused.stderr, /forged\.jsonl:1: .*"status" is "ok" but its findings make it "critical"/);
    assert.equal(refused.stdout, '');
    writeFileSync(f('trunc.jsonl'), r.stdout.slice(0, 40));
    const trunc = await runCli(['report', 'merge', f('trunc.jsonl')]);
    assert.equal(trunc.code, 64);
    assert.match(trunc.stderr, /trunc\.jsonl:1: not JSON/);
    // A merge that fails on an input leaves the previous report as it was.
    writeFileSync(f('previous.html'), '<p>the last good report</p>');
    const missing = await runCli([
      'report',
      'merge',
      f('nope.jsonl'),
      '--format',
      'html',
      '-o',
      f('previous.html'),
    ]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /nope\.jsonl.*no such file/);
    assert.equal(readFileSync(f('previous.html'), 'utf8'), '<p>the last good report</p>');
    const none = await runCli(['report', 'merge']);
    assert.equal(none.code, 64);
  });
});
