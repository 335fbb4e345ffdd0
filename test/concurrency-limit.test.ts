import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer, type Server } from 'node:tls';
import { issue, privateKeyPem } from '../src/lab/pki.js';
import { budgetFor, readSoftFdLimit } from '../src/util/fdBudget.js';
import { CLI } from './support/cli.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            64                   1048576              files
Max locked memory         8388608              8388608              bytes
`;

describe('--concurrency above the open-file limit', () => {
  test('the soft RLIMIT_NOFILE is read from /proc/self/limits; the budget leaves headroom', () => {
    assert.equal(readSoftFdLimit(LIMITS), 64);
    assert.equal(
      readSoftFdLimit(LIMITS.replace('64                   1048576', 'unlimited            unlimited')),
      Number.POSITIVE_INFINITY,
    );
    assert.equal(readSoftFdLimit('nothing here'), null);
    const b = budgetFor(64, 20);
    assert.ok(b.targets + b.fetches + 20 <= 64, JSON.stringify(b));
    assert.ok(b.targets >= 1 && b.fetches >= 1);
    // Even an absurdly low limit leaves one target and one fetch.
    assert.deepEqual([budgetFor(10, 30).targets, budgetFor(10, 30).fetches], [1, 1]);
  });

  const supported = process.platform === 'linux';
  let dir: string;
  let server: Server;
  let port: number;
  before(async () => {
    if (!supported) return;
    dir = mkdtempSync(join(tmpdir(), 'certvet-fds-'));
    const root = await issue({ subject: 'CN=FD Root', ca: true });
    const leaf = await issue({ subject: 'CN=127.0.0.1', ips: ['127.0.0.1'], issuer: root });
    writeFileSync(join(dir, 'root.pem'), root.pem);
    // Holds each connection a little, so that many are open at once.
    server = createServer({ cert: leaf.pem, key: await privateKeyPem(leaf.key) }, (s) => {
      setTimeout(() => s.end(), 300);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', 511, r));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    if (!supported) return;
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('ulimit -n 128, 200 targets, --concurrency 100000: capped with one note on stderr, no EMFILE', {
    skip: !supported,
    timeout: 120_000,
  }, async () => {
    writeFileSync(
      join(dir, 'targets.txt'),
      `${Array.from({ length: 200 }, () => `127.0.0.1:${port}`).join('\n')}\n`,
    );
    const args = [
      CLI,
      'check',
      '-f',
      join(dir, 'targets.txt'),
      '--ca',
      join(dir, 'root.pem'),
      '--concurrency',
      '100000',
      '--format',
      'json',
    ];
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const quoted = [process.execPath, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
      const p = spawn('bash', ['-c', `ulimit -n 128 && exec ${quoted}`], {
        env: { ...process.env, NO_COLOR: '1' },
      });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.ok(!/EMFILE/.test(run.stdout + run.stderr), run.stdout.slice(0, 2000) + run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.summary.total, 200);
    assert.equal(report.summary.ok, 200, JSON.stringify(report.summary));
    assert.equal(run.code, 0, run.stderr);
    const notes = run.stderr.match(
      /--concurrency 100000 lowered to \d+: the open-file limit \(ulimit -n\) is 128/g,
    );
    assert.equal(notes?.length, 1, run.stderr);
  });
});
