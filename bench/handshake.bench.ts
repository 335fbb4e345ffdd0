/**
 * npm run bench:handshake — whole processes against nginx (not a Node server, which would be
 * the bottleneck): N checks over 200 ECDSA P-256 endpoints at one concurrency, revocation off.
 * Compares `certvet check` with a bare verified tls.connect client (and its variants through
 * certvet's capture stream and keylog listener, to isolate their cost) and `curl --parallel`
 * when curl is installed. Reports targets/s, client CPU per handshake, nginx's CPU share (so a
 * reader can tell the server was not saturated) and ratios to the bare client measured in the
 * same run; median of BENCH_ROUNDS interleaved rounds. Prints figures; asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNginx } from './nginx.js';

const N = Number(process.env.BENCH_CHECKS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const CURL = ['/usr/bin/curl', '/usr/local/bin/curl'].find((p) => existsSync(p));

const nginx = await startNginx(200);
const targetsFile = join(nginx.dir, 'targets.txt');
const targets = Array.from({ length: N }, (_, i) => `127.0.0.1:${nginx.ports[i % nginx.ports.length]}`);
writeFileSync(targetsFile, `${targets.join('\n')}\n`);
// curl: one fresh connection per URL (Connection: close; 200 distinct ports), HTTP/1.1.
const curlConfig = join(nginx.dir, 'curl.txt');
writeFileSync(curlConfig, targets.map((t) => `url = "https://${t}/"\noutput = "/dev/null"\n`).join(''));

interface Client {
  readonly name: string;
  readonly cmd: string;
  readonly args: readonly string[];
}
const bare = (mode: string): Client => ({
  name: `bare tls.connect (${mode})`,
  cmd: process.execPath,
  args: [here('./bareClient.js'), nginx.caFile, targetsFile, String(CONCURRENCY), mode],
});
const clients: Client[] = [
  bare('plain'),
  bare('capture'),
  bare('keylog'),
  {
    name: 'certvet check',
    cmd: process.execPath,
    args: [
      here('../src/cli/main.js'),
      'check',
      '-f',
      targetsFile,
      '--ca',
      nginx.caFile,
      '--revocation',
      'off',
      '--format',
      'jsonl',
      '-o',
      '/dev/null',
      '--concurrency',
      String(CONCURRENCY),
      '-q',
    ],
  },
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

interface Sample {
  rate: number;
  cpuMs: number;
  server: number;
  ok: boolean;
}
const samples = new Map<string, Sample[]>(clients.map((c) => [c.name, []]));
for (let r = 0; r < ROUNDS; r++)
  for (const c of clients) {
    const s0 = nginx.cpuSeconds();
    const t0 = performance.now();
    const run = spawnSync('/usr/bin/time', ['-f', '%U %S', c.cmd, ...c.args], { encoding: 'utf8' });
    const secs = (performance.now() - t0) / 1000;
    const [user, sys] = (run.stderr.trim().split('\n').at(-1) ?? '0 0').split(' ').map(Number);
    samples.get(c.name)!.push({
      rate: N / secs,
      cpuMs: (((user ?? 0) + (sys ?? 0)) * 1000) / N,
      server: (nginx.cpuSeconds() - s0) / secs,
      ok: run.status === 0,
    });
  }
await nginx.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(samples.get(bare('plain').name)!.map((s) => s.rate));
console.log(`machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, Node ${process.version}`);
console.log(
  `${N} checks over 200 nginx endpoints (ECDSA P-256 leaf + intermediate), concurrency ${CONCURRENCY}, median of ${ROUNDS} rounds, whole processes`,
);
for (const c of clients) {
  const s = samples.get(c.name)!;
  const rate = median(s.map((x) => x.rate));
  console.log(
    `  ${c.name.padEnd(28)} ${rate.toFixed(0).padStart(5)} targets/s  ${(rate / base).toFixed(2)}× bare  client CPU ${median(s.map((x) => x.cpuMs)).toFixed(2)} ms/target  nginx CPU ${(100 * median(s.map((x) => x.server))).toFixed(0)}%${s.every((x) => x.ok) ? '' : '  [some runs failed!]'}`,
  );
}
