import type { Report, Status, TargetResult } from '../model/result.js';
import { memorySource, type ReportSource, type ResultEntry } from './resultSpool.js';
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

function expiry(e: ResultEntry): string {
  if (e.leafNotAfter === null) return '-';
  return `${e.leafNotAfter.slice(0, 10)} (${e.leafDays}d)`;
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
  return [...textChunks(memorySource(report), c)].join('');
}

/** The text report in pieces, reading one result at a time (bounded memory). */
export function* textChunks(source: ReportSource, c: Colors): Generator<string> {
  const rows = [...source.entries].sort(
    (a, b) => ORDER.indexOf(a.status) - ORDER.indexOf(b.status) || a.target.localeCompare(b.target),
  );
  let wTarget = 6;
  for (const r of rows) wTarget = Math.min(48, Math.max(wTarget, clean(r.target).length));
  yield c.bold(
    `${pad('STATUS', 9)} ${pad('TARGET', wTarget)} ${pad('EXPIRES', 18)} ${pad('TLS', 8)} FINDINGS`,
  ) + '\n';
  // Details are written after the table: remember which rows have any (the result is re-read).
  const detailed: ResultEntry[] = [];
  for (const e of rows) {
    const r = source.read(e);
    yield `${paint(r.status, pad(LABEL[r.status], 9), c)} ${pad(clean(r.target), wTarget)} ${pad(expiry(e), 18)} ${pad(clean(r.tls?.protocol ?? '-'), 8)} ${clean(summaryOf(r))}\n`;
    if (r.status !== 'ok' || r.findings.some((f) => f.severity === 'info')) detailed.push(e);
  }
  for (const e of detailed) yield details(source.read(e), c);
  const s = source.summary;
  yield `\n${s.total} target${s.total === 1 ? '' : 's'}: ${c.green(`${s.ok} ok`)}, ${c.yellow(`${s.warning} warning`)}, ${c.red(`${s.critical} critical`)}, ${c.red(`${s.error} error`)}\n`;
}

/** One target's block: status, target, every finding, the chain. */
function details(r: TargetResult, c: Colors): string {
  const out: string[] = [''];
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
  return out.join('\n') + '\n';
}
