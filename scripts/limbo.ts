#!/usr/bin/env node
/**
 * x509-limbo conformance harness: runs every case through certvet's validator, writes the
 * x509-limbo results format, prints a per-namespace table, and (with --baseline) fails when a
 * case that passed before now fails or when any FAILURE case is accepted.
 *
 *   npm run limbo -- --input ../shared/limbo/limbo.json --output limbo-results.json
 *        [--baseline conformance/limbo-baseline.json] [--update-baseline] [--markdown FILE] [--quiet]
 *        [--no-shared-caches]     (--help: the usage; exit 0 / 1 regression or false accept /
 *                                  3 unreadable input / 64 usage)
 *
 * --no-shared-caches: every case pays for its own parsing, key imports and signature checks
 * (the process-wide memos are cleared before each case), as if no two cases shared a
 * certificate. Results are the same; it exists to measure files whose cases repeat.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { clearSharedCaches } from '../src/x509/sharedCaches.js';
import { type LimboCase, type LimboResult, runLimboCase } from './limboCase.js';

const USAGE = `usage: npm run limbo -- --input FILE [--output FILE] [--baseline FILE [--update-baseline]]
                          [--markdown FILE] [--quiet] [--show-failures] [--no-shared-caches]
  --input FILE         x509-limbo test vectors (e.g. ../shared/limbo/limbo.json)
  --output FILE        write x509-limbo results JSON
  --baseline FILE      fail when a case passing there fails now (with --update-baseline: rewrite it)
  --markdown FILE      write the per-namespace table
  --quiet              no table on stdout
  --show-failures      one line per case whose result differs from the expected one
  --no-shared-caches   every case pays for its own parsing, key imports and signature checks
exit: 0 no regression and no false accept · 1 a regression or a FAILURE case accepted
      3 an input cannot be read · 64 usage`;

/** A message and the usage/input exit status, instead of a stack trace. */
function die(message: string, status: 3 | 64): never {
  console.error(`limbo: ${message}`);
  if (status === 64) console.error('limbo: --help shows the usage');
  process.exit(status);
}

let values: {
  input?: string | undefined;
  output?: string | undefined;
  baseline?: string | undefined;
  'update-baseline': boolean;
  markdown?: string | undefined;
  quiet: boolean;
  'show-failures': boolean;
  'no-shared-caches': boolean;
  help: boolean;
};
try {
  ({ values } = parseArgs({
    options: {
      input: { type: 'string' },
      output: { type: 'string' },
      baseline: { type: 'string' },
      'update-baseline': { type: 'boolean', default: false },
      markdown: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      'show-failures': { type: 'boolean', default: false },
      'no-shared-caches': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (e) {
  die((e as Error).message, 64);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.input) die('--input FILE is required (e.g. ../shared/limbo/limbo.json)', 64);
if (values['update-baseline'] && !values.baseline) die('--update-baseline needs --baseline FILE', 64);

/** A JSON file the harness needs, or exit 3 naming it and what is wrong. */
function readJson<T>(file: string, what: string, valid: (x: unknown) => boolean): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    die(`cannot read the ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 3);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    die(`the ${what} ${file} is not JSON: ${(e as Error).message}`, 3);
  }
  if (!valid(data)) die(`the ${what} ${file} does not have the expected shape`, 3);
  return data as T;
}
const isArrayField = (field: string) => (x: unknown) =>
  typeof x === 'object' && x !== null && Array.isArray((x as Record<string, unknown>)[field]);
const isolated = values['no-shared-caches'];
const started = performance.now();
const data = readJson<{ testcases: LimboCase[] }>(
  values.input,
  'test-vector file',
  isArrayField('testcases'),
);
// Read before the run, so a bad baseline fails at once, not after every case.
const baseline =
  values.baseline && !values['update-baseline']
    ? readJson<{ passing: string[] }>(values.baseline, 'baseline', isArrayField('passing'))
    : null;
const now = new Date();
const results: LimboResult[] = [];
const slow: [string, number][] = [];
const rows = new Map<
  string,
  { total: number; pass: number; fail: number; skip: number; falseAccept: number }
>();
const unexpectedSuccess: string[] = [];
const failedCases: [LimboCase, LimboResult][] = [];
for (const tc of data.testcases) {
  const t0 = performance.now();
  let r: LimboResult;
  try {
    if (isolated) clearSharedCaches();
    r = runLimboCase(tc, now, { shareSignatureResults: !isolated });
  } catch (e) {
    r = { id: tc.id, actual_result: 'FAILURE', context: `internal error: ${(e as Error).stack}` };
  }
  const dt = performance.now() - t0;
  if (dt > 50) slow.push([tc.id, dt]);
  results.push(r);
  const ns = tc.id.split('::')[0]!;
  const row = rows.get(ns) ?? { total: 0, pass: 0, fail: 0, skip: 0, falseAccept: 0 };
  row.total++;
  if (r.actual_result === 'SKIPPED') row.skip++;
  else if (r.actual_result === tc.expected_result) row.pass++;
  else {
    row.fail++;
    failedCases.push([tc, r]);
    if (r.actual_result === 'SUCCESS') {
      row.falseAccept++;
      unexpectedSuccess.push(tc.id);
    }
  }
  rows.set(ns, row);
}
const elapsed = performance.now() - started;

if (values.output)
  writeFileSync(values.output, JSON.stringify({ version: 1, harness: 'certvet', results }, null, 2) + '\n');

const total = [...rows.values()].reduce(
  (a, r) => ({
    total: a.total + r.total,
    pass: a.pass + r.pass,
    fail: a.fail + r.fail,
    skip: a.skip + r.skip,
    falseAccept: a.falseAccept + r.falseAccept,
  }),
  { total: 0, pass: 0, fail: 0, skip: 0, falseAccept: 0 },
);
const pct = (p: number, t: number) => (t ? ((100 * p) / t).toFixed(1) : '0.0');
const lines = [
  '| namespace | cases | pass | fail | skipped | false accepts | pass rate |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...[...rows.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([ns, r]) =>
        `| ${ns} | ${r.total} | ${r.pass} | ${r.fail} | ${r.skip} | ${r.falseAccept} | ${pct(r.pass, r.total)}% |`,
    ),
  `| **all** | **${total.total}** | **${total.pass}** | **${total.fail}** | **${total.skip}** | **${total.falseAccept}** | **${pct(total.pass, total.total)}%** |`,
];
if (!values.quiet) console.log(lines.join('\n'));
console.log(
  `limbo: ${total.pass}/${total.total} cases pass (${pct(total.pass, total.total)}%), ${total.falseAccept} false accepts, ${total.skip} skipped, in ${(elapsed / 1000).toFixed(2)} s`,
);
if (slow.length)
  console.log(
    `limbo: slow cases (> 50 ms): ${slow.map(([id, ms]) => `${id} ${ms.toFixed(0)} ms`).join(', ')}`,
  );
if (values['show-failures'])
  for (const [tc, r] of failedCases)
    console.log(`FAIL ${tc.id} expected ${tc.expected_result} got ${r.actual_result}: ${r.context ?? ''}`);
if (values.markdown) writeFileSync(values.markdown, lines.join('\n') + '\n');

let failed = false;
if (unexpectedSuccess.length) {
  console.error(
    `limbo: ${unexpectedSuccess.length} FAILURE cases were accepted (security bugs): ${unexpectedSuccess.join(', ')}`,
  );
  failed = true;
}
if (values.baseline) {
  // By id, not by scanning the cases for each result: a 10,000-case file made that quadratic.
  const expected = new Map(data.testcases.map((t) => [t.id, t.expected_result]));
  const passing = results
    .filter((r) => expected.get(r.id) === r.actual_result)
    .map((r) => r.id)
    .sort();
  if (values['update-baseline']) {
    writeFileSync(values.baseline, JSON.stringify({ source: values.input, passing }, null, 2) + '\n');
    console.log(`limbo: baseline written to ${values.baseline} (${passing.length} passing cases)`);
  } else if (baseline) {
    const now = new Set(passing);
    const present = new Set(data.testcases.map((t) => t.id));
    const regressed = baseline.passing.filter((id) => present.has(id) && !now.has(id));
    if (regressed.length) {
      console.error(`limbo: ${regressed.length} cases passed in the baseline and fail now:`);
      const byId = new Map(results.map((r) => [r.id, r]));
      for (const id of regressed) {
        const r = byId.get(id);
        console.error(`  ${id}: ${r?.actual_result} ${r?.context ?? ''}`);
      }
      failed = true;
    }
  }
}
process.exit(failed ? 1 : 0);
