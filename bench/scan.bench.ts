/**
 * npm run bench:scan — targets checked per second by certvet versus a bare baseline of
 * tls.connect handshakes with Node's own verification, at the same concurrency, against the
 * same 500 loopback endpoints (served by a separate process); then the peak RSS of a
 * 10,000-target `certvet check` run. Prints figures and ratios; asserts nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { type Checker, createChecker } from '../src/index.js';
import type { TargetResult } from '../src/model/result.js';

const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BIG = Number(process.env.BENCH_BIG ?? 10000);
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

const server = spawn(process.execPath, [here('./servers.js'), String(ENDPOINTS)], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const line: string = await new Promise((resolve) =>
  createInterface({ input: server.stdout! }).once('line', resolve),
);
const { ca, ports, http } = JSON.parse(line) as { ca: string; ports: number[]; http: string };

async function pool(n: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        await fn(i);
      }
    }),
  );
}

function bareHandshake(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca: [ca], rejectUnauthorized: true }, () => {
      s.destroy();
      resolve();
    });
    s.on('error', reject);
  });
}

const targets = ports.map((p) => `127.0.0.1:${p}`);
// One checker for the revocation-off runs (its parse and signature caches warm, as in `check`).
const offChecker = createChecker({ ca, revocation: 'off', fetchAllow: ['127.0.0.1'] });

async function scanAll(checker: Checker): Promise<TargetResult[]> {
  const out: TargetResult[] = [];
  for await (const r of checker.scan(targets, { concurrency: CONCURRENCY })) out.push(r);
  return out;
}

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

// Warm-up both paths once.
await pool(ports.length, (i) => bareHandshake(ports[i]!));
await scanAll(offChecker);

const bare: number[] = [];
const cv: number[] = [];
let bad = 0;
for (let r = 0; r < ROUNDS; r++) {
  bare.push(ports.length / (await timeIt(() => pool(ports.length, (i) => bareHandshake(ports[i]!)))));
  cv.push(
    ports.length /
      (await timeIt(async () => {
        const res = await scanAll(offChecker);
        bad += res.filter((x) => x?.status !== 'ok').length;
      })),
  );
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const b = median(bare);
const c = median(cv);
console.log(`machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, Node ${process.version}`);
console.log(
  `${ENDPOINTS} loopback TLS endpoints (ECDSA P-256 leaf + intermediate), concurrency ${CONCURRENCY}, median of ${ROUNDS} rounds`,
);
console.log(`  bare tls.connect + Node verification : ${b.toFixed(0)} targets/s`);
console.log(`  certvet scan (probe + verify + checks): ${c.toFixed(0)} targets/s`);
console.log(
  `  ratio certvet / bare                  : ${(c / b).toFixed(2)}× (target ≥ 0.70×)${bad ? `  [${bad} results not ok!]` : ''}`,
);

// Revocation on: every leaf names the intermediate's 100,000-entry CRL, the intermediate names an
// OCSP responder. One CRL cache and one OCSP cache for the run, as `certvet check` has.
{
  const stats = async () => (await (await fetch(`${http}/stats`)).json()) as { crl: number; ocsp: number };
  const off: number[] = [];
  const on: number[] = [];
  let crlFetches = 0;
  let ocspQueries = 0;
  let notRevocationChecked = 0;
  for (let r = 0; r < ROUNDS; r++) {
    off.push(ports.length / (await timeIt(async () => void (await scanAll(offChecker)))));
    const s0 = await stats();
    // A new checker per round: its CRL and OCSP caches start empty, as in one `certvet check` run.
    const withRevocation = createChecker({ ca, revocation: 'soft', fetchAllow: ['127.0.0.1'] });
    on.push(
      ports.length /
        (await timeIt(async () => {
          const res = await scanAll(withRevocation);
          notRevocationChecked += res.filter(
            (x) => x?.chain[0]?.revocation?.status !== 'good' || x?.chain[1]?.revocation?.status !== 'good',
          ).length;
        })),
    );
    const s1 = await stats();
    crlFetches = s1.crl - s0.crl;
    ocspQueries = s1.ocsp - s0.ocsp;
  }
  const o = median(off);
  const w = median(on);
  console.log(`  revocation off                        : ${o.toFixed(0)} targets/s`);
  console.log(
    `  revocation on (CRL 100k entries, OCSP): ${w.toFixed(0)} targets/s — cost ${(o / w).toFixed(2)}× (target ≤ 1.30×)${notRevocationChecked ? `  [${notRevocationChecked} not checked good!]` : ''}`,
  );
  console.log(`  per run: CRL fetched ${crlFetches}×, OCSP asked ${ocspQueries}× (one shared intermediate)`);
}

// Peak RSS of a 10,000-target CLI run (endpoints repeat).
const dir = mkdtempSync(join(tmpdir(), 'certvet-bench-'));
writeFileSync(join(dir, 'ca.pem'), ca);
writeFileSync(
  join(dir, 'targets.txt'),
  Array.from({ length: BIG }, (_, i) => `127.0.0.1:${ports[i % ports.length]}`).join('\n'),
);
const cli = spawn(
  process.execPath,
  [
    here('../src/cli/main.js'),
    'check',
    '-f',
    join(dir, 'targets.txt'),
    '--ca',
    join(dir, 'ca.pem'),
    '--format',
    'jsonl',
    '--concurrency',
    String(CONCURRENCY),
    '-q',
  ],
  {
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
let peakKb = 0;
const poll = setInterval(() => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${cli.pid}/status`, 'utf8'));
    if (m) peakKb = Math.max(peakKb, Number(m[1]));
  } catch {
    /* exited */
  }
}, 20);
const t0 = performance.now();
const code: number | null = await new Promise((r) => cli.on('close', r));
clearInterval(poll);
const secs = (performance.now() - t0) / 1000;
console.log(
  `  ${BIG}-target certvet check: ${secs.toFixed(1)} s (${(BIG / secs).toFixed(0)} targets/s), peak RSS ${(peakKb / 1024).toFixed(0)} MB (target < 300 MB), exit ${code}`,
);
rmSync(dir, { recursive: true, force: true });
server.stdin!.end();
