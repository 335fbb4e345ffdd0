/**
 * npm run bench:revocation — what revocation checking costs a scan, in process: the same 500
 * loopback endpoints (served by a separate Node process, with a 100,000-entry CRL and an OCSP
 * responder for the shared intermediate) checked with revocation off and on, one checker (so
 * one CRL and one OCSP cache) per round, as in one `certvet check` run. Prints the ratio and
 * how often the CRL was fetched and OCSP asked; asserts nothing. (Scan throughput and memory
 * are measured against nginx, whole processes, by `npm run bench:scan`.)
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Checker, createChecker } from '../src/index.js';
import type { TargetResult } from '../src/model/result.js';

const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

const server = spawn(process.execPath, [here('./servers.js'), String(ENDPOINTS)], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const line: string = await new Promise((resolve) =>
  createInterface({ input: server.stdout! }).once('line', resolve),
);
const { ca, ports, http } = JSON.parse(line) as { ca: string; ports: number[]; http: string };

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

// Warm-up.
await scanAll(offChecker);
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
console.log(`machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, Node ${process.version}`);
console.log(`${ENDPOINTS} loopback TLS endpoints, concurrency ${CONCURRENCY}, median of ${ROUNDS} rounds`);

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

server.stdin!.end();
