import type { Report, TargetResult } from '../model/result.js';
import { memorySource, type ReportSource, type ResultEntry } from './resultSpool.js';
import { escapePrometheusLabel as label } from './sanitize.js';

const STATUS_VALUE = { ok: 0, warning: 1, critical: 2, error: 3 } as const;

/**
 * Prometheus text exposition (for node_exporter's textfile collector): per-target status and
 * check duration, per-certificate not-after timestamps and days remaining.
 */
export function renderPrometheus(report: Report): string {
  return [...prometheusChunks(memorySource(report))].join('');
}

const t = (target: string) => `target="${label(target)}"`;

function* family(name: string, help: string, rows: Iterable<string>): Generator<string> {
  yield `# HELP ${name} ${help}\n# TYPE ${name} gauge\n`;
  for (const r of rows) yield `${r}\n`;
}

function* perEntry(entries: readonly ResultEntry[], row: (e: ResultEntry) => string): Generator<string> {
  for (const e of entries) yield row(e);
}

/** One pass over the results (read back one at a time), yielding rows. */
function* perResult(source: ReportSource, rows: (r: TargetResult) => Iterable<string>): Generator<string> {
  for (const e of source.entries) yield* rows(source.read(e));
}

function* findingRows(r: TargetResult): Generator<string> {
  const counts = new Map<string, { code: string; severity: string; n: number }>();
  for (const f of r.findings) {
    const k = JSON.stringify([f.code, f.severity]);
    const c = counts.get(k);
    if (c) c.n++;
    else counts.set(k, { code: f.code, severity: f.severity, n: 1 });
  }
  for (const { code, severity, n } of counts.values())
    yield `certvet_findings{${t(r.target)},code="${label(code)}",severity="${label(severity)}"} ${n}`;
}

function* certRows(r: TargetResult, value: (c: TargetResult['chain'][number]) => string): Generator<string> {
  for (const [i, c] of r.chain.entries())
    yield `{${t(r.target)},index="${i}",subject="${label(c.subject)}",serial="${label(c.serialNumber)}",sha256="${label(c.sha256)}"} ${value(c)}`;
}

/** The exposition in pieces, family by family, reading results back one at a time (bounded memory). */
export function* prometheusChunks(source: ReportSource): Generator<string> {
  const { entries } = source;
  yield* family(
    'certvet_target_status',
    'Worst status of the target: 0 ok, 1 warning, 2 critical, 3 error.',
    perEntry(entries, (e) => `certvet_target_status{${t(e.target)}} ${STATUS_VALUE[e.status]}`),
  );
  yield* family(
    'certvet_target_ok',
    '1 when the target has no warning, critical or error finding.',
    perEntry(entries, (e) => `certvet_target_ok{${t(e.target)}} ${e.status === 'ok' ? 1 : 0}`),
  );
  yield* family(
    'certvet_check_duration_seconds',
    'Time taken to check the target.',
    perEntry(
      entries,
      (e) => `certvet_check_duration_seconds{${t(e.target)}} ${(e.durationMs / 1000).toFixed(3)}`,
    ),
  );
  yield* family(
    'certvet_findings',
    'Number of findings per target, code and severity.',
    perResult(source, findingRows),
  );
  yield* family(
    'certvet_cert_not_after_timestamp_seconds',
    'notAfter of each certificate in the path (leaf index 0).',
    perResult(source, (r) =>
      [...certRows(r, (c) => String(Math.floor(Date.parse(c.notAfter) / 1000)))].map(
        (row) => `certvet_cert_not_after_timestamp_seconds${row}`,
      ),
    ),
  );
  yield* family(
    'certvet_cert_days_remaining',
    'Whole days until each certificate in the path expires.',
    perResult(source, (r) =>
      [...certRows(r, (c) => String(c.daysRemaining))].map((row) => `certvet_cert_days_remaining${row}`),
    ),
  );
  yield* family('certvet_last_run_timestamp_seconds', 'When this report was generated.', [
    `certvet_last_run_timestamp_seconds ${Math.floor(Date.parse(source.generatedAt) / 1000)}`,
  ]);
}
