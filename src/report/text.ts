import type { Report, Status, TargetResult } from './result.js';
import { sanitizeForTerminal as clean } from './sanitize.js';
import type { Colors } from './style.js';

const ORDER: readonly Status[] = ['critical', 'error', 'warning', 'ok'];
const LABEL: Record<Status, string> = { critical: 'CRITICAL', error: 'ERROR', warning: 'WARNING', ok: 'OK' };

function paint(s: Status, text: string, c: Colors): string {
  return s === 'ok' ? c.green(text) : s === 'warning' ? c.yellow(text) : c.red(text);
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function expiry(r: TargetResult): string {
  const leaf = r.chain[0];
  if (!leaf) return '-';
  return `${leaf.notAfter.slice(0, 10)} (${leaf.daysRemaining}d)`;
}

function summaryOf(r: TargetResult): string {
  const main = r.findings.filter((f) => f.severity !== 'info');
  const info = [...new Set(r.findings.filter((f) => f.severity === 'info').map((f) => f.code))];
  if (main.length === 0)
    return info.length ? `all checks passed (info: ${info.join(', ')})` : 'all checks passed';
  const codes = [...new Set(main.map((f) => f.code))];
  return codes.join(', ');
}

/**
 * A compact table grouped by status (worst first), then a detail block per target with
 * problems: every finding with its sentence. Certificate text is escaped for the terminal.
 */
export function renderText(report: Report, c: Colors): string {
  const out: string[] = [];
  const rows = [...report.results].sort(
    (a, b) => ORDER.indexOf(a.status) - ORDER.indexOf(b.status) || a.target.localeCompare(b.target),
  );
  const wTarget = Math.min(48, Math.max(6, ...rows.map((r) => clean(r.target).length)));
  out.push(
    c.bold(`${pad('STATUS', 9)} ${pad('TARGET', wTarget)} ${pad('EXPIRES', 18)} ${pad('TLS', 8)} FINDINGS`),
  );
  for (const r of rows) {
    out.push(
      `${paint(r.status, pad(LABEL[r.status], 9), c)} ${pad(clean(r.target), wTarget)} ${pad(expiry(r), 18)} ${pad(clean(r.tls?.protocol ?? '-'), 8)} ${clean(summaryOf(r))}`,
    );
  }
  const problems = rows.filter((r) => r.status !== 'ok' || r.findings.some((f) => f.severity === 'info'));
  for (const r of problems) {
    out.push('');
    out.push(
      `${paint(r.status, LABEL[r.status], c)} ${c.bold(clean(r.target))}${r.address ? c.dim(` (${clean(r.address)}:${r.port})`) : ''}`,
    );
    for (const f of r.findings) {
      const sev =
        f.severity === 'critical' || f.severity === 'error'
          ? c.red(f.severity)
          : f.severity === 'warning'
            ? c.yellow(f.severity)
            : c.dim(f.severity);
      out.push(`  ${sev} ${c.bold(clean(f.code))}: ${clean(f.message)}`);
    }
    if (r.chain.length)
      out.push(
        c.dim(`  chain: ${r.chain.map((e, i) => `[${i}] ${clean(e.subject || '(empty)')}`).join(' → ')}`),
      );
  }
  const s = report.summary;
  out.push('');
  out.push(
    `${s.total} target${s.total === 1 ? '' : 's'}: ${c.green(`${s.ok} ok`)}, ${c.yellow(`${s.warning} warning`)}, ${c.red(`${s.critical} critical`)}, ${c.red(`${s.error} error`)}`,
  );
  return out.join('\n') + '\n';
}
