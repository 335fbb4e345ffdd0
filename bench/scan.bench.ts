/**
 * npm run bench:scan — the scan engine measured as users run it: whole processes against nginx
 * (from apt; not a Node server, which would be the bottleneck), revocation off.
 *
 * 0. Start-up: one check of one endpoint, BENCH_STARTUP_RUNS (15) interleaved runs — `node -e
 *    ''`, the bare client, `certvet check` (the bundled bin) and the same CLI from tsc's unbundled
 *    modules, both through this Node with the bin's flags; 0 skips it.
 * 1. Throughput. BENCH_CHECKS checks over 200 ECDSA P-256 endpoints at one concurrency:
 *    `certvet check` with 1, 2, … BENCH_MAX_WORKERS (default: the CPUs) worker threads, against
 *    a bare verified tls.connect client (one shared secure context; also through certvet's
 *    capture stream, and with its keylog listener, to isolate those costs) and `curl
 *    --parallel` when curl is installed. Each client runs BENCH_ROUNDS times, interleaved; the
 *    table shows medians, their ratio to the bare client's median, the median and range of each
 *    round's ratio to that round's bare run (paired: steadier while the host's load drifts),
 *    client CPU per target and nginx's CPU share (so a reader can tell whether the server was
 *    saturated).
 *    Then the same clients over BENCH_LONG checks (default 10,000; 0 skips it), BENCH_LONG_ROUNDS
 *    rounds (default 1): a run of 2,000 checks takes a few seconds, and a good part of that is
 *    process start and the JIT's warm-up (V8 compiles certvet's hot code, once per thread); the
 *    long run shows the rate once that is paid, i.e. what a scan of thousands of endpoints gets.
 * 2. Memory. Peak RSS of `certvet check` (default workers) over BENCH_BIG targets (default
 *    10,000) in every format, and over BENCH_HUGE (default 100,000) with jsonl: the target
 *    file repeats the 200 endpoints. BENCH_RSS=0 skips it.
 *
 * Prints figures; asserts nothing. Needs nginx (apt-get install nginx-light).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNginx } from './nginx.js';

const N = Number(process.env.BENCH_CHECKS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MAX_WORKERS = Number(process.env.BENCH_MAX_WORKERS ?? availableParallelism());
const BIG = Number(process.env.BENCH_BIG ?? 10_000);
const HUGE = Number(process.env.BENCH_HUGE ?? 100_000);
const RSS = process.env.BENCH_RSS !== '0';
const LONG = Number(process.env.BENCH_LONG ?? 10_000);
const LONG_ROUNDS = Number(process.env.BENCH_LONG_ROUNDS ?? 1);
const STARTUP_RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 15);
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const CLI = here('../cli/main.js');
// tsc's unbundled output of the same CLI (the bin is a bundle: scripts/bundle.ts), for the start-up comparison.
const UNBUNDLED = here('../src/cli/main.js');
// The Node flags of the bin's shebang (`#!/usr/bin/env -S node FLAGS`).
const SHEBANG_FLAGS = (readFileSync(CLI, 'utf8').split('\n', 1)[0] ?? '').split(/\s+/).slice(3);
const CURL = ['/usr/bin/curl', '/usr/local/bin/curl'].find((p) => existsSync(p));
const TIME = '/usr/bin/time';
if (!existsSync(TIME)) throw new Error('/usr/bin/time is needed (apt-get install time)');

const nginx = await startNginx(200);
const targetFile = (n: number) => {
  const file = join(nginx.dir, `targets-${n}.txt`);
  if (!existsSync(file))
    writeFileSync(
      file,
      `${Array.from({ length: n }, (_, i) => `127.0.0.1:${nginx.ports[i % nginx.ports.length]}`).join('\n')}\n`,
    );
  return file;
};
const checksFile = targetFile(N);
// curl: one fresh connection per URL (Connection: close; 200 distinct ports), HTTP/1.1.
const curlConfig = join(nginx.dir, 'curl.txt');
writeFileSync(
  curlConfig,
  Array.from(
    { length: N },
    (_, i) => `url = "https://127.0.0.1:${nginx.ports[i % nginx.ports.length]}/"\noutput = "/dev/null"\n`,
  ).join(''),
);

interface Client {
  readonly name: string;
  readonly cmd: string;
  readonly args: readonly string[];
}
const bare = (mode: string): Client => ({
  name: `bare tls.connect (${mode})`,
  cmd: process.execPath,
  args: [here('./bareClient.js'), nginx.caFile, checksFile, String(CONCURRENCY), mode],
});
// Run as users run it: the bin itself, so its shebang's Node flags apply.
const certvet = (
  workers: number,
  file = checksFile,
  format = 'jsonl',
  concurrency = CONCURRENCY,
): Client => ({
  name: `certvet check --workers ${workers}`,
  cmd: CLI,
  args: [
    'check',
    '-f',
    file,
    '--ca',
    nginx.caFile,
    '--revocation',
    'off',
    '--format',
    format,
    '-o',
    '/dev/null',
    '--concurrency',
    String(concurrency),
    '--workers',
    String(workers),
    '-q',
  ],
});
const clients: Client[] = [
  bare('plain'),
  bare('capture'),
  bare('keylog'),
  ...Array.from({ length: MAX_WORKERS }, (_, i) => certvet(i + 1)),
  ...(CURL
    ? [
        {
          name: 'curl --parallel',
          cmd: CURL,
          args: [
            '-s',
            '--cacert',
            nginx.caFile,
            '-H',
            'Connection: close',
            '--parallel',
            '--parallel-max',
            String(CONCURRENCY),
            '-K',
            curlConfig,
          ],
        },
      ]
    : []),
];

interface Run {
  readonly secs: number;
  readonly cpuMs: number;
  readonly maxRssKb: number;
  readonly server: number;
  readonly code: number | null;
}
function runClient(c: Client): Run {
  const s0 = nginx.cpuSeconds();
  const t0 = performance.now();
  const r = spawnSync(TIME, ['-f', '%U %S %M', c.cmd, ...c.args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const secs = (performance.now() - t0) / 1000;
  const [user, sys, rss] = (r.stderr.trim().split('\n').at(-1) ?? '0 0 0').split(' ').map(Number);
  return {
    secs,
    cpuMs: ((user ?? 0) + (sys ?? 0)) * 1000,
    maxRssKb: rss ?? 0,
    server: (nginx.cpuSeconds() - s0) / secs,
    code: r.status,
  };
}

/** Runs `list` `rounds` times, interleaved; prints rates, ratios to the first (bare) client, CPU, scaling. */
function compare(list: readonly Client[], checks: number, rounds: number): void {
  const samples = new Map<string, Run[]>(list.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) for (const c of list) samples.get(c.name)!.push(runClient(c));
  const rateOf = (name: string) => median(samples.get(name)!.map((s) => checks / s.secs));
  const base = rateOf(list[0]!.name);
  // Each round's ratio to the bare client of the same round: the host's load drifts over
  // minutes, and a ratio of runs taken seconds apart is steadier than a ratio of medians.
  const bareRuns = samples.get(list[0]!.name)!;
  const paired = (name: string) => samples.get(name)!.map((s, r) => bareRuns[r]!.secs / s.secs);
  console.log(
    `   ${'client'.padEnd(30)} ${'targets/s'.padStart(9)}  ${'× bare'.padStart(6)}  ${'paired (range)'.padStart(20)}  ${'client CPU/target'.padStart(17)}  nginx CPU`,
  );
  for (const c of list) {
    const s = samples.get(c.name)!;
    const rate = rateOf(c.name);
    const p = paired(c.name);
    const bad = s.some((x) => x.code !== 0) ? '  [a run failed!]' : '';
    console.log(
      `   ${c.name.padEnd(30)} ${rate.toFixed(0).padStart(9)}  ${`${(rate / base).toFixed(2)}×`.padStart(6)}  ${`${median(p).toFixed(2)}× (${Math.min(...p).toFixed(2)}–${Math.max(...p).toFixed(2)})`.padStart(20)}  ${`${median(s.map((x) => x.cpuMs / checks)).toFixed(2)} ms`.padStart(17)}  ${`${(100 * median(s.map((x) => x.server))).toFixed(0)}%`.padStart(9)}${bad}`,
    );
  }
  const one = rateOf(certvet(1).name);
  console.log(
    `   workers scaling: ${Array.from({ length: MAX_WORKERS }, (_, i) => `${i + 1}: ${(rateOf(certvet(i + 1).name) / one).toFixed(2)}×`).join(', ')} (vs --workers 1)`,
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, Node ${process.version}`);

if (STARTUP_RUNS > 0) {
  // One check of one endpoint: what every invocation pays before its first result.
  const one = targetFile(1);
  const starts: { name: string; cmd: string; args: readonly string[] }[] = [
    { name: "node -e ''", cmd: process.execPath, args: ['-e', ''] },
    {
      name: 'bare tls.connect, 1 target',
      cmd: process.execPath,
      args: [here('./bareClient.js'), nginx.caFile, one, '1'],
    },
    // Both through this Node with the bin's own flags, so the two rows differ only in bundling.
    {
      name: 'certvet check, 1 target',
      cmd: process.execPath,
      args: [...SHEBANG_FLAGS, CLI, ...certvet(1, one).args],
    },
    {
      name: '  the same, unbundled modules',
      cmd: process.execPath,
      args: [...SHEBANG_FLAGS, UNBUNDLED, ...certvet(1, one).args],
    },
  ];
  const ms = new Map<string, number[]>(starts.map((x) => [x.name, []]));
  for (let r = 0; r < STARTUP_RUNS; r++)
    for (const x of starts) {
      const t0 = performance.now();
      const p = spawnSync(x.cmd, x.args, { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`${x.name} failed (${p.status}): ${p.stderr}`);
      ms.get(x.name)!.push(performance.now() - t0);
    }
  console.log(
    `0. start-up: one process to one result, median of ${STARTUP_RUNS} interleaved runs (wall time)`,
  );
  for (const x of starts)
    console.log(`   ${x.name.padEnd(30)} ${`${median(ms.get(x.name)!).toFixed(0)} ms`.padStart(9)}`);
}
console.log(
  `1. ${N} checks over 200 nginx endpoints (ECDSA P-256 leaf + intermediate), concurrency ${CONCURRENCY}, revocation off, median of ${ROUNDS} rounds, whole processes`,
);
compare(clients, N, ROUNDS);
if (LONG > 0) {
  const longFile = targetFile(LONG);
  console.log(
    `   the same over ${LONG.toLocaleString('en-US')} checks (start-up and JIT warm-up paid once), median of ${LONG_ROUNDS} round(s):`,
  );
  compare(
    [
      {
        ...bare('plain'),
        args: [here('./bareClient.js'), nginx.caFile, longFile, String(CONCURRENCY), 'plain'],
      },
      ...Array.from({ length: MAX_WORKERS }, (_, i) => certvet(i + 1, longFile)),
    ],
    LONG,
    LONG_ROUNDS,
  );
}

if (RSS) {
  console.log(
    `2. peak RSS of certvet check (--workers ${availableParallelism()}, concurrency 64, revocation off)`,
  );
  const rows: [string, number, Run][] = [];
  for (const format of ['jsonl', 'json', 'text', 'junit', 'prometheus', 'html'])
    rows.push([format, BIG, runClient(certvet(availableParallelism(), targetFile(BIG), format, 64))]);
  if (HUGE > 0)
    rows.push(['jsonl', HUGE, runClient(certvet(availableParallelism(), targetFile(HUGE), 'jsonl', 64))]);
  console.log(
    `   ${'targets'.padStart(8)}  ${'format'.padEnd(10)}  ${'peak RSS'.padStart(8)}  ${'time'.padStart(7)}  targets/s  exit`,
  );
  for (const [format, n, r] of rows)
    console.log(
      `   ${n.toLocaleString('en-US').padStart(8)}  ${format.padEnd(10)}  ${`${(r.maxRssKb / 1024).toFixed(0)} MB`.padStart(8)}  ${`${r.secs.toFixed(1)} s`.padStart(7)}  ${(n / r.secs).toFixed(0).padStart(9)}  ${r.code}`,
    );
}
await nginx.close();
