/**
 * npm run bench:verify (second part) — the x509-limbo harness as a whole process on a
 * 10,000-case file, process start included. Prints figures; asserts nothing about timings.
 *
 * The local limbo.json has fewer cases than the real suite (183 against ~9,800), so the
 * file is generated from it: its cases repeated in order until there are 10,000, each copy's
 * id suffixed `#n` so that every id is unique. `node dist/scripts/limbo.js --input FILE
 * --output OUT --baseline conformance/limbo-baseline.json --quiet` is then timed from spawn
 * to exit (wall clock). Target: ≥ 2,000 cases/s.
 *
 * Repeated cases share certificates, so by default later copies reuse what earlier ones
 * computed (signature results, imported keys, decoded names: the process-wide memos any
 * long-running verifier keeps). The same file is therefore also run with
 * --no-shared-caches, where every case pays for its own parsing, key imports and signature
 * checks, as in a file of distinct cases; and an empty file, for process start alone.
 *
 * Environment: BENCH_LIMBO (path of limbo.json), BENCH_LIMBO_CASES (default 10,000),
 * BENCH_ROUNDS (default 3; the median is reported).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LimboCase } from '../scripts/limboCase.js';

const LIMBO =
  process.env.BENCH_LIMBO ?? fileURLToPath(new URL('../../../shared/limbo/limbo.json', import.meta.url));
const CASES = Number(process.env.BENCH_LIMBO_CASES ?? 10_000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const TARGET = 2000;
const HARNESS = fileURLToPath(new URL('../scripts/limbo.js', import.meta.url));
const BASELINE = fileURLToPath(new URL('../../conformance/limbo-baseline.json', import.meta.url));

/** The local cases repeated in order up to `n`, ids made unique with `#copy`. */
function repeatCases(cases: readonly LimboCase[], n: number): LimboCase[] {
  if (cases.length === 0) throw new Error('no cases to repeat');
  const out: LimboCase[] = [];
  for (let copy = 0; out.length < n; copy++)
    for (const tc of cases) {
      if (out.length >= n) break;
      out.push({ ...tc, id: `${tc.id}#${copy}` });
    }
  return out;
}

interface Run {
  readonly ms: number;
  readonly summary: string;
}

function runHarness(input: string, output: string, extra: readonly string[]): Run {
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [HARNESS, '--input', input, '--output', output, '--baseline', BASELINE, '--quiet', ...extra],
    { encoding: 'utf8' },
  );
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`limbo harness exited ${r.status}: ${r.stderr}`);
  const summary = r.stdout.split('\n').find((l) => l.startsWith('limbo: ') && l.includes('cases pass')) ?? '';
  return { ms, summary };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

console.log('');
if (!existsSync(LIMBO)) {
  console.log(`4. x509-limbo harness, whole process: ${LIMBO} not found; skipped (set BENCH_LIMBO).`);
} else {
  const source = JSON.parse(readFileSync(LIMBO, 'utf8')) as { testcases: LimboCase[] };
  const dir = mkdtempSync(join(tmpdir(), 'certvet-limbo-bench-'));
  try {
    const big = join(dir, 'limbo-10k.json');
    const empty = join(dir, 'limbo-empty.json');
    const out = join(dir, 'results.json');
    writeFileSync(big, JSON.stringify({ ...source, testcases: repeatCases(source.testcases, CASES) }));
    writeFileSync(empty, JSON.stringify({ ...source, testcases: [] }));
    const copies = Math.ceil(CASES / source.testcases.length);
    console.log(
      `4. x509-limbo harness as a whole process (node dist/scripts/limbo.js --input FILE --output … --baseline … --quiet),`,
    );
    console.log(
      `   on ${CASES.toLocaleString('en-US')} cases: the ${source.testcases.length} local cases repeated ${copies} times (ids suffixed #n);`,
    );
    console.log(`   wall clock from spawn to exit, median of ${ROUNDS} rounds (modes interleaved)`);
    const modes: [string, string, readonly string[], number][] = [
      ['process start (empty file)', empty, [], 0],
      ['10,000 cases', big, [], CASES],
      ['10,000 cases, --no-shared-caches', big, ['--no-shared-caches'], CASES],
    ];
    const times = new Map<string, number[]>(modes.map(([k]) => [k, []]));
    const summaries = new Map<string, string>();
    for (let r = 0; r < ROUNDS; r++)
      for (const [label, file, extra] of modes) {
        const run = runHarness(file, out, extra);
        times.get(label)!.push(run.ms);
        summaries.set(label, run.summary);
      }
    const rows: string[] = [];
    let met = true;
    for (const [label, , , n] of modes) {
      const ms = median(times.get(label)!);
      const rate = n ? (n / ms) * 1000 : null;
      if (rate !== null && label === '10,000 cases') met = rate >= TARGET;
      rows.push(
        `   ${label.padEnd(34)} ${(ms / 1000).toFixed(2).padStart(6)} s` +
          (rate !== null ? `  ${Math.round(rate).toLocaleString('en-US').padStart(6)} cases/s` : '') +
          `  (rounds ${times
            .get(label)!
            .map((t) => (t / 1000).toFixed(2))
            .join(', ')} s)`,
      );
    }
    for (const r of rows) console.log(r);
    for (const [label, s] of summaries) if (s) console.log(`   ${label}: ${s.replace(/^limbo: /, '')}`);
    const a = summaries.get('10,000 cases')?.replace(/ in [\d.]+ s$/, '');
    const b = summaries.get('10,000 cases, --no-shared-caches')?.replace(/ in [\d.]+ s$/, '');
    if (a !== b) console.log(`   RESULTS DIFFER between the modes: "${a}" vs "${b}"`);
    console.log(
      `   verdict (target: ≥ ${TARGET.toLocaleString('en-US')} cases/s including process start): ${met ? 'MET' : 'NOT MET'}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
