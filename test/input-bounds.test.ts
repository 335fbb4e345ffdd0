/**
 * Every local input is read through one bounded reader: devices, FIFOs and endless pipes stop
 * at the documented limit with a clear message naming the input, quickly and in bounded
 * memory; a FIFO nobody writes to ends after the idle deadline instead of hanging.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { makeChain } from '../src/lab/pki.js';
import { CLI } from './support/cli.js';

/** The child is killed past this resident size (the old reader reached 1.5 GB in 3 s). */
const RSS_KILL_KB = 1024 * 1024;
/** Ample for a refused input on a busy machine; the old reader never finished. */
const KILL_AFTER_MS = 20_000;

interface BoundedRun {
  readonly code: number | null;
  readonly stderr: string;
  readonly ms: number;
  /** Highest VmHWM (peak resident set) sampled, in KiB. */
  readonly peakKb: number;
  readonly killed: string | null;
}

function hwmKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Runs the CLI, sampling its peak memory; `stdin` (if given) is piped in until the child exits. */
function runBounded(
  args: readonly string[],
  opts: { env?: Record<string, string>; stdin?: Readable } = {},
): Promise<BoundedRun> {
  return new Promise((resolve) => {
    const started = Date.now();
    const p = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let peakKb = 0;
    let killed: string | null = null;
    p.stderr!.on('data', (d) => (stderr += d));
    if (opts.stdin) {
      p.stdin!.on('error', () => {});
      opts.stdin.pipe(p.stdin!);
    }
    const sampler = setInterval(() => {
      peakKb = Math.max(peakKb, hwmKb(p.pid!));
      if (peakKb > RSS_KILL_KB && !killed) {
        killed = `resident memory above ${RSS_KILL_KB} KiB`;
        p.kill('SIGKILL');
      }
    }, 10);
    const timer = setTimeout(() => {
      killed = `still running after ${KILL_AFTER_MS} ms`;
      p.kill('SIGKILL');
    }, KILL_AFTER_MS);
    p.on('exit', () => {
      peakKb = Math.max(peakKb, hwmKb(p.pid!));
    });
    p.on('close', (code) => {
      clearInterval(sampler);
      clearTimeout(timer);
      opts.stdin?.unpipe();
      opts.stdin?.destroy();
      resolve({ code, stderr, ms: Date.now() - started, peakKb, killed });
    });
  });
}

/** An endless source: PEM-looking text that never ends (what a runaway generator would send). */
function endless(): Readable {
  const line = Buffer.from(`${'QUFB'.repeat(16)}\n`.repeat(1024));
  let first = true;
  return new Readable({
    read() {
      if (first) {
        first = false;
        this.push('-----BEGIN CERTIFICATE-----\n');
      }
      this.push(line);
    },
  });
}

function assertRefused(r: BoundedRun, code: number, message: RegExp): void {
  assert.equal(r.killed, null, `the CLI had to be killed: ${r.killed}; stderr: ${r.stderr}`);
  assert.equal(r.code, code, r.stderr);
  assert.match(r.stderr, message);
  assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  assert.ok(r.ms < 10_000, `finished in ${r.ms} ms`);
  // The largest limit read here is 64 MiB; Node itself is ~50 MB.
  assert.ok(r.peakKb < 400 * 1024, `peak resident memory ${r.peakKb} KiB`);
}

describe('input bounds (real CLI)', () => {
  let dir: string;
  let leaf: string;
  const f = (n: string) => join(dir, n);
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-bounds-'));
    const chain = await makeChain({ names: ['bounds.example.test'] });
    leaf = f('leaf.pem');
    writeFileSync(leaf, chain.leaf.pem);
    writeFileSync(f('root.pem'), chain.root.pem);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, args, code, message] of [
    [
      'verify /dev/zero',
      ['verify', '/dev/zero'],
      3,
      /certvet: \/dev\/zero: is larger than the 16 MiB limit for a certificate \(stopped reading after 16777217 bytes\)/,
    ],
    [
      'verify --ca /dev/zero',
      ['verify', 'LEAF', '--ca', '/dev/zero'],
      3,
      /--ca \/dev\/zero: is larger than the 16 MiB limit for a CA file/,
    ],
    [
      'verify --chain /dev/zero',
      ['verify', 'LEAF', '--chain', '/dev/zero'],
      3,
      /--chain \/dev\/zero: is larger than the 16 MiB limit for a chain file/,
    ],
    [
      'verify --crl /dev/zero',
      ['verify', 'LEAF', '--crl', '/dev/zero', '--crl-max-bytes', '1048576'],
      3,
      /--crl \/dev\/zero: is larger than the 1 MiB limit for a CRL file/,
    ],
    [
      'check -f /dev/zero',
      ['check', '-f', '/dev/zero'],
      3,
      /-f \/dev\/zero: is larger than the 64 MiB limit for a target file/,
    ],
    [
      'check --ca /dev/zero',
      ['check', '127.0.0.1:9', '--ca', '/dev/zero'],
      3,
      /--ca \/dev\/zero: is larger than the 16 MiB limit for a CA file/,
    ],
    [
      'check --client-cert /dev/zero',
      ['check', '127.0.0.1:9', '--client-cert', '/dev/zero', '--client-key', '/dev/zero'],
      3,
      /--client-cert \/dev\/zero: is larger than the 1 MiB limit for a client certificate/,
    ],
    [
      'check --client-pfx /dev/zero',
      ['check', '127.0.0.1:9', '--client-pfx', '/dev/zero'],
      3,
      /--client-pfx \/dev\/zero: is larger than the 1 MiB limit for a PKCS#12 file/,
    ],
    [
      'check --client-key-pass-file /dev/zero (a usage-type input: 64)',
      ['check', '127.0.0.1:9', '--client-pfx', '/dev/zero', '--client-key-pass-file', '/dev/zero'],
      64,
      /--client-key-pass-file \/dev\/zero: is larger than the 4 KiB limit for a passphrase file/,
    ],
    [
      'inspect /dev/zero',
      ['inspect', '/dev/zero'],
      3,
      /\/dev\/zero: is larger than the 16 MiB limit for a certificate file/,
    ],
  ] as const) {
    test(`${name}: stops at the limit, exit ${code}`, async () => {
      const r = await runBounded(args.map((a) => (a === 'LEAF' ? leaf : a)));
      assertRefused(r, code, message);
    });
  }

  test('a FIFO fed endlessly: stops at the limit', async () => {
    const fifo = f('endless.fifo');
    spawnSync('mkfifo', [fifo]);
    // The feeder writes until the reader goes away (EPIPE ends it).
    const feeder = spawn('sh', ['-c', `exec cat /dev/zero > '${fifo}'`], { stdio: 'ignore' });
    try {
      const r = await runBounded(['verify', fifo]);
      assertRefused(r, 3, /endless\.fifo: is larger than the 16 MiB limit for a certificate/);
    } finally {
      feeder.kill('SIGKILL');
    }
  });

  test('stdin piped from an endless generator (verify -): stops at the limit', async () => {
    const r = await runBounded(['verify', '-'], { stdin: endless() });
    assertRefused(r, 3, /standard input: is larger than the 16 MiB limit for a certificate/);
  });

  test('stdin piped from an endless generator (check -f -): stops at the limit', async () => {
    const lines = Buffer.from('127.0.0.1:9\n'.repeat(8192));
    const gen = new Readable({
      read() {
        this.push(lines);
      },
    });
    const r = await runBounded(['check', '-f', '-'], { stdin: gen });
    assertRefused(r, 3, /-f standard input: is larger than the 64 MiB limit for a target file/);
  });

  test('FIFOs never hang: silent ones give up after CERTVET_INPUT_TIMEOUT, closed ones are empty, others are read', async () => {
    // Nobody ever opens it for writing: the old reader blocked in open(2) forever.
    const silent = f('silent.fifo');
    spawnSync('mkfifo', [silent]);
    const r = await runBounded(['verify', silent], { env: { CERTVET_INPUT_TIMEOUT: '1s' } });
    assertRefused(r, 3, /silent\.fifo: gave up reading the certificate: no data for 1 s/);

    // The writer closes without writing: empty at once, not after the deadline.
    const closed = f('closed.fifo');
    spawnSync('mkfifo', [closed]);
    const closer = spawn('sh', ['-c', `sleep 0.3; : > '${closed}'`], { stdio: 'ignore' });
    const c = await runBounded(['verify', closed], { env: { CERTVET_INPUT_TIMEOUT: '30s' } });
    closer.kill();
    assertRefused(c, 3, /closed\.fifo: is empty/);

    // A writer that comes a little later is waited for and read.
    const carrier = f('cert.fifo');
    spawnSync('mkfifo', [carrier]);
    const writer = spawn('sh', ['-c', `sleep 0.3; cat '${leaf}' > '${carrier}'`], { stdio: 'ignore' });
    const w = await runBounded(['verify', carrier, '--ca', f('root.pem')]);
    writer.kill();
    assert.equal(w.killed, null);
    // The intermediate is missing: a verdict (critical), not an input error.
    assert.equal(w.code, 2, w.stderr);
  });

  test('a bad CERTVET_INPUT_TIMEOUT is a usage error', async () => {
    const r = await runBounded(['verify', leaf], { env: { CERTVET_INPUT_TIMEOUT: 'soon' } });
    assertRefused(r, 64, /CERTVET_INPUT_TIMEOUT: "soon" is not a duration/);
  });
});
