/**
 * npm run bench:serve — `certvet serve` under a steady load: BENCH_TARGETS (5,000) targets
 * checked every minute for BENCH_MINUTES (30), against nginx (200 ECDSA P-256 endpoints; the
 * targets are 25 groups of those 200, so every target is its own check). Prints, every
 * BENCH_SAMPLE_SECONDS (30): the service's CPU share since the last sample, its RSS, the SQLite
 * files' size, checks stored; at the end the size growth extrapolated to a day and the time of
 * a /metrics scrape (5,000 targets × 3 certificates). Prints figures; asserts nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNginx } from './nginx.js';

const TARGETS = Number(process.env.BENCH_TARGETS ?? 5000);
const MINUTES = Number(process.env.BENCH_MINUTES ?? 30);
const SAMPLE_S = Number(process.env.BENCH_SAMPLE_SECONDS ?? 30);
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

const nginx = await startNginx(200);
const perGroup = nginx.ports.length;
const groups = Math.ceil(TARGETS / perGroup);
const lines = [
  'listen: 127.0.0.1:0',
  'store: ./bench.db',
  'defaults: { interval: 60s, timeout: 10s, revocation: off, concurrency: 64 }',
  'groups:',
];
for (let g = 0; g < groups; g++) {
  const n = Math.min(perGroup, TARGETS - g * perGroup);
  lines.push(
    `  - name: g${g}`,
    '    ca: ca.pem',
    `    targets: [${nginx.ports
      .slice(0, n)
      .map((p) => `"127.0.0.1:${p}"`)
      .join(', ')}]`,
  );
}
writeFileSync(join(nginx.dir, 'serve.yaml'), `${lines.join('\n')}\n`);

const proc = spawn(CLI, ['serve', '-c', join(nginx.dir, 'serve.yaml')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
const base = await new Promise<string>((resolve, reject) => {
  proc.stdout!.on('data', (d) => {
    out += d;
    const m = /listening on (http:\/\/\S+?)\/? /.exec(out);
    if (m) resolve(m[1]!);
  });
  proc.on('close', () => reject(new Error(`serve exited: ${out}`)));
});

/** user+system CPU seconds of the process (and its threads), from /proc. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}
const dbBytes = () =>
  ['bench.db', 'bench.db-wal'].reduce(
    (a, f) => a + (existsSync(join(nginx.dir, f)) ? statSync(join(nginx.dir, f)).size : 0),
    0,
  );
async function checksStored(): Promise<number> {
  const r = (await (await fetch(`${base}/api/v1/targets?limit=1`)).json()) as {
    summary: { total: number; pending: number };
  };
  return r.summary.total - r.summary.pending;
}

console.log(`machine: ${cpus()[0]?.model ?? '?'} × ${availableParallelism()}, Node ${process.version}`);
console.log(
  `${TARGETS} targets (${groups} groups × ${perGroup} nginx endpoints) every 60 s for ${MINUTES} min`,
);
console.log('   minute   CPU share   RSS MB   store MB   targets checked');
const pid = proc.pid!;
const t0 = Date.now();
let lastCpu = cpuSeconds(pid);
let lastT = t0;
const startBytes = dbBytes();
let firstFullAt: { t: number; bytes: number } | null = null;
const rss: number[] = [];
while (Date.now() - t0 < MINUTES * 60_000) {
  await new Promise((r) => setTimeout(r, SAMPLE_S * 1000));
  const now = Date.now();
  const cpu = cpuSeconds(pid);
  const share = (cpu - lastCpu) / ((now - lastT) / 1000);
  lastCpu = cpu;
  lastT = now;
  const r = rssMb(pid);
  rss.push(r);
  const checked = await checksStored();
  if (!firstFullAt && checked >= TARGETS) firstFullAt = { t: now, bytes: dbBytes() };
  console.log(
    `   ${((now - t0) / 60_000).toFixed(1).padStart(6)}   ${`${(100 * share).toFixed(0)}%`.padStart(9)}   ${r.toFixed(0).padStart(6)}   ${(dbBytes() / 1e6).toFixed(1).padStart(8)}   ${checked}`,
  );
}
const end = { t: Date.now(), bytes: dbBytes() };
const from = firstFullAt ?? { t: t0, bytes: startBytes };
const perDay = ((end.bytes - from.bytes) / Math.max(1, end.t - from.t)) * 86400_000;
const s0 = performance.now();
const metrics = await (await fetch(`${base}/metrics`)).text();
const scrapeMs = performance.now() - s0;
console.log(
  `store growth ≈ ${(perDay / 1e9).toFixed(2)} GB/day before retention (from ${(from.bytes / 1e6).toFixed(0)} MB to ${(end.bytes / 1e6).toFixed(0)} MB)`,
);
console.log(
  `/metrics: ${(metrics.length / 1e6).toFixed(1)} MB, ${metrics.split('\n').length} lines, scraped in ${scrapeMs.toFixed(0)} ms`,
);
console.log(
  `RSS: first ${rss[0]?.toFixed(0)} MB, last ${rss.at(-1)?.toFixed(0)} MB, max ${Math.max(...rss).toFixed(0)} MB`,
);
proc.kill('SIGTERM');
await new Promise((r) => proc.on('close', r));
await nginx.close();
