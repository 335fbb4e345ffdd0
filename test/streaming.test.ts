/**
 * The scan at scale: jsonl is written as results complete (to stdout and to -o), the other
 * formats read results back from a ResultSpool (spilled to a temporary file when large) with
 * the same output as the in-memory renderers, target files are validated before anything is
 * checked, and --shard splits a file into disjoint shards whose union is the file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { defaultCheckFlags, planTargets } from '../src/cli/commands/check.js';
import { buildReport, type Status, type TargetResult } from '../src/model/result.js';
import { FORMATS, renderReport, reportChunks } from '../src/report/render.js';
import { ResultSpool } from '../src/report/resultSpool.js';
import { colorsFor } from '../src/report/style.js';
import { CLI, runCli } from './support/cli.js';
import { params } from './support/fuzz.js';

const plain = colorsFor(process.stdout, false);

const statusArb = fc.constantFrom<Status>('ok', 'warning', 'critical', 'error');
const severity = { ok: 'info', warning: 'warning', critical: 'critical', error: 'error' } as const;
const resultArb: fc.Arbitrary<TargetResult> = fc
  .record({
    target: fc.string({ minLength: 1, maxLength: 30 }),
    status: statusArb,
    message: fc.string({ maxLength: 40 }),
    days: fc.integer({ min: -500, max: 900 }),
    chain: fc.boolean(),
    durationMs: fc.nat(100_000),
  })
  .map(({ target, status, message, days, chain, durationMs }) => ({
    target,
    host: 'h.test',
    port: 443,
    address: '127.0.0.1',
    servername: null,
    status,
    findings:
      status === 'ok' && !chain
        ? []
        : [{ code: 'custom:some-code' as const, severity: severity[status], message, certIndex: 0 }],
    chain: chain
      ? [
          {
            subject: `CN=${target}`,
            issuer: 'CN=issuer',
            serialNumber: '01',
            notBefore: '2026-01-01T00:00:00.000Z',
            notAfter: '2027-01-01T00:00:00.000Z',
            daysRemaining: days,
            sha256: 'ab'.repeat(32),
            subjectAltNames: { dns: [target], ip: [], email: [], uri: [] },
            publicKey: { type: 'ec', bits: 256, curve: 'P-256', spkiSha256: 'ab'.repeat(32) },
            signatureAlgorithm: 'ecdsa-with-SHA256',
            isCA: false,
            selfSigned: false,
            source: 'peer',
          },
        ]
      : [],
    durationMs,
  }));

describe('ResultSpool and the streaming renderers', () => {
  test('every format reads the same report back from a spilled spool, in input order whatever the arrival order', () => {
    fc.assert(
      fc.property(
        fc.array(resultArb, { maxLength: 40 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.nat(),
        (results, memoryLimit, seed) => {
          const now = new Date('2026-12-01T00:00:00Z');
          const report = buildReport(results, now);
          const order = results.map((_, i) => i);
          for (let i = order.length - 1; i > 0; i--) {
            const j = (seed + i * 7919) % (i + 1);
            [order[i], order[j]] = [order[j]!, order[i]!];
          }
          for (const format of FORMATS) {
            const spool = new ResultSpool(now.toISOString(), memoryLimit);
            try {
              for (const i of order) spool.add(results[i]!, i);
              assert.deepEqual(spool.summary, report.summary);
              const streamed = [...reportChunks(spool, format, plain)].join('');
              assert.equal(streamed, renderReport(report, format, plain), format);
              if (format === 'json') assert.equal(streamed, `${JSON.stringify(report, null, 2)}\n`);
            } finally {
              spool.close();
            }
          }
        },
      ),
      params(60),
    );
  });

  test('a large spool moves its results to a temporary file, which close() removes', () => {
    const spool = new ResultSpool(new Date().toISOString(), 10_000);
    const one = fc.sample(resultArb, { numRuns: 1, seed: 7 })[0]!;
    for (let i = 0; i < 500; i++) spool.add({ ...one, target: `t${i}` }, i);
    assert.equal(spool.spilled, true);
    assert.equal(spool.read(spool.entries[321]!).target, 't321');
    spool.close();
    assert.equal(spool.spilled, false);
  });
});

describe('check streams its results', () => {
  let dir: string;
  let hold: Server;
  let holdPort: number;
  const held: Socket[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-stream-'));
    // Accepts and says nothing: its target completes only at the --timeout.
    hold = createServer((s) => held.push(s));
    await new Promise<void>((r) => hold.listen(0, '127.0.0.1', r));
    holdPort = (hold.address() as { port: number }).port;
  });
  after(() => {
    for (const s of held) s.destroy();
    hold.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A port nothing listens on (bound, then closed). */
  async function closedPort(): Promise<number> {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  for (const where of ['stdout', '-o'] as const) {
    test(`jsonl goes out (${where}) as each target completes, before a slow one ends`, async () => {
      const refused = await closedPort();
      const out = join(dir, `stream-${where === '-o' ? 'file' : 'stdout'}.jsonl`);
      const args = [
        'check',
        `127.0.0.1:${holdPort}`,
        `127.0.0.1:${refused}`,
        '--timeout',
        '20s',
        '--format',
        'jsonl',
        '--quiet',
        ...(where === '-o' ? ['-o', out] : []),
      ];
      const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1' } });
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      const exited = new Promise<number | null>((r) => child.on('close', r));
      // The refused target's line arrives while the held one is still pending.
      const seen = () => (where === '-o' ? (existsSync(out) ? readFileSync(out, 'utf8') : '') : stdout);
      const deadline = Date.now() + 15_000;
      while (!seen().includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(child.exitCode, null, 'the run is still going (the held target is pending)');
      const first = JSON.parse(seen().split('\n')[0]!) as TargetResult;
      assert.equal(first.target, `127.0.0.1:${refused}`);
      assert.equal(first.findings[0]?.code, 'connect-failed');
      child.kill('SIGINT');
      assert.equal(await exited, 130);
      const lines = seen().trim().split('\n');
      assert.equal(lines.length, 1, 'the interrupted target is not reported as checked');
    });
  }

  test('every format: the same report whatever the order in which targets complete', async () => {
    const refused = await closedPort();
    const targets = Array.from({ length: 30 }, (_, i) => `127.0.0.${1 + (i % 3)}:${refused}`);
    for (const format of ['json', 'junit', 'prometheus', 'html', 'text'] as const) {
      const r = await runCli(['check', ...targets, '--format', format, '--quiet', '--concurrency', '7']);
      assert.equal(r.code, 3, r.stderr);
      if (format === 'json') {
        const j = JSON.parse(r.stdout) as {
          summary: { total: number; error: number };
          results: TargetResult[];
        };
        assert.deepEqual(
          j.results.map((x) => x.target),
          targets,
          'json keeps the input order',
        );
        assert.equal(j.summary.error, 30);
      } else assert.match(r.stdout, format === 'text' ? /30 targets: 0 ok/ : /127\.0\.0\.3/);
    }
  });

  test('a bad line anywhere in a target file is a usage error before anything is checked', async () => {
    const file = join(dir, 'bad-late.txt');
    const lines = Array.from({ length: 5000 }, (_, i) => `127.0.0.1:${1 + (i % 60000)}`);
    lines.push('host:99999');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const r = await runCli(['check', '-f', file, '--format', 'jsonl', '--quiet']);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /bad-late\.txt:5001: /);
    assert.equal(r.stdout, '', 'nothing was checked');
  });

  test('an unwritable -o fails at once, naming the path, before any target is checked', async () => {
    const r = await runCli([
      'check',
      `127.0.0.1:${holdPort}`,
      '--timeout',
      '30s',
      '-o',
      join(dir, 'no-such-dir', 'out.json'),
      '--format',
      'json',
    ]);
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /no-such-dir\/out\.json: cannot open: no such file or directory/);
  });
});

describe('--shard K/N', () => {
  test('7 shards of a 10,000-target file are disjoint and together are the whole file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certvet-shard-'));
    try {
      const file = join(dir, 'targets.txt');
      const all = Array.from({ length: 10_000 }, (_, i) => `host-${i}.corp.test:${443 + (i % 3)}`);
      writeFileSync(file, `# ten thousand targets\n${all.join('\n')}\n`);
      const seen = new Map<string, number>();
      const sizes: number[] = [];
      for (let k = 1; k <= 7; k++) {
        const plan = await planTargets([], defaultCheckFlags({ file, shard: { k, n: 7 } }));
        let n = 0;
        for await (const t of plan.targets()) {
          assert.equal(seen.has(t.spec.raw), false, `${t.spec.raw} is in two shards`);
          seen.set(t.spec.raw, k);
          n++;
        }
        assert.equal(plan.total, n);
        sizes.push(n);
      }
      assert.deepEqual([...seen.keys()].sort(), [...all].sort());
      // Roughly even (a hash split): every shard has at least half its share.
      for (const n of sizes) assert.ok(n > 10_000 / 7 / 2, `shard sizes ${sizes.join(', ')}`);
      // Stable under reordering: the same target lands in the same shard.
      writeFileSync(file, `${[...all].reverse().join('\n')}\n`);
      const plan = await planTargets([], defaultCheckFlags({ file, shard: { k: 3, n: 7 } }));
      for await (const t of plan.targets()) assert.equal(seen.get(t.spec.raw), 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
