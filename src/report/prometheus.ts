import type { Report } from './result.js';
import { escapePrometheusLabel as label } from './sanitize.js';

const STATUS_VALUE = { ok: 0, warning: 1, critical: 2, error: 3 } as const;

/**
 * Prometheus text exposition (for node_exporter's textfile collector): per-target status and
 * check duration, per-certificate not-after timestamps and days remaining.
 */
export function renderPrometheus(report: Report): string {
  const out: string[] = [];
  const metric = (name: string, help: string, type: string, rows: string[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...rows);
  };
  const t = (r: Report['results'][number]) => `target="${label(r.target)}"`;
  metric(
    'certvet_target_status',
    'Worst status of the target: 0 ok, 1 warning, 2 critical, 3 error.',
    'gauge',
    report.results.map((r) => `certvet_target_status{${t(r)}} ${STATUS_VALUE[r.status]}`),
  );
  metric(
    'certvet_target_ok',
    '1 when the target has no warning, critical or error finding.',
    'gauge',
    report.results.map((r) => `certvet_target_ok{${t(r)}} ${r.status === 'ok' ? 1 : 0}`),
  );
  metric(
    'certvet_check_duration_seconds',
    'Time taken to check the target.',
    'gauge',
    report.results.map((r) => `certvet_check_duration_seconds{${t(r)}} ${(r.durationMs / 1000).toFixed(3)}`),
  );
  const findings: string[] = [];
  for (const r of report.results) {
    const counts = new Map<string, { code: string; severity: string; n: number }>();
    for (const f of r.findings) {
      const k = JSON.stringify([f.code, f.severity]);
      const c = counts.get(k);
      if (c) c.n++;
      else counts.set(k, { code: f.code, severity: f.severity, n: 1 });
    }
    for (const { code, severity, n } of counts.values())
      findings.push(`certvet_findings{${t(r)},code="${label(code)}",severity="${label(severity)}"} ${n}`);
  }
  metric('certvet_findings', 'Number of findings per target, code and severity.', 'gauge', findings);
  const notAfter: string[] = [];
  const days: string[] = [];
  for (const r of report.results)
    r.chain.forEach((c, i) => {
      const l = `${t(r)},index="${i}",subject="${label(c.subject)}",serial="${label(c.serialNumber)}",sha256="${label(c.sha256)}"`;
      notAfter.push(
        `certvet_cert_not_after_timestamp_seconds{${l}} ${Math.floor(Date.parse(c.notAfter) / 1000)}`,
      );
      days.push(`certvet_cert_days_remaining{${l}} ${c.daysRemaining}`);
    });
  metric(
    'certvet_cert_not_after_timestamp_seconds',
    'notAfter of each certificate in the path (leaf index 0).',
    'gauge',
    notAfter,
  );
  metric(
    'certvet_cert_days_remaining',
    'Whole days until each certificate in the path expires.',
    'gauge',
    days,
  );
  metric('certvet_last_run_timestamp_seconds', 'When this report was generated.', 'gauge', [
    `certvet_last_run_timestamp_seconds ${Math.floor(Date.parse(report.generatedAt) / 1000)}`,
  ]);
  return out.join('\n') + '\n';
}
