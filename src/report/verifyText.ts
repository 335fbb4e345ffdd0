import type { Finding } from '../findings/catalogue.js';
import type { ChainEntry } from '../model/chainEntry.js';
import type { Status, TargetResult } from '../model/result.js';
import { sanitizeForTerminal as clean } from './sanitize.js';
import type { Colors } from './style.js';

const LABEL: Record<Status, string> = {
  ok: 'VALID',
  warning: 'VALID WITH WARNINGS',
  critical: 'INVALID',
  error: 'NOT CHECKED',
};

function statusText(s: Status, c: Colors): string {
  const t = LABEL[s];
  return s === 'ok' ? c.green(c.bold(t)) : s === 'warning' ? c.yellow(c.bold(t)) : c.red(c.bold(t));
}

function severityText(f: Finding, c: Colors): string {
  const t = f.severity.toUpperCase().padEnd(8);
  return f.severity === 'critical' || f.severity === 'error'
    ? c.red(t)
    : f.severity === 'warning'
      ? c.yellow(t)
      : c.dim(t);
}

function keyText(e: ChainEntry): string {
  const k = e.publicKey;
  if (k.type === 'ec') return `EC ${k.curve ?? '?'}`;
  if (k.type === 'rsa' || k.type === 'dsa' || k.type === 'rsa-pss')
    return `${k.type.toUpperCase()} ${k.bits ?? '?'}`;
  return k.type;
}

function expiryText(e: ChainEntry, c: Colors): string {
  const d = e.daysRemaining;
  const when = e.notAfter.slice(0, 10);
  if (d < 0) return c.red(`expired ${when} (${Math.max(0, -d - 1)} days ago)`);
  return d <= 30 ? c.yellow(`expires ${when} (${d} days)`) : `expires ${when} (${d} days)`;
}

/** The path and every finding of one verification result, for a terminal. */
export function renderVerifyText(r: TargetResult, c: Colors, settings: string): string {
  const out: string[] = [];
  out.push(`${statusText(r.status, c)}  ${clean(r.target)}  ${c.dim(clean(settings))}`);
  out.push('');
  out.push(
    c.bold(r.chain.length && r.status !== 'error' ? 'Certification path (leaf first):' : 'Certificates:'),
  );
  r.chain.forEach((e, i) => {
    out.push(`  [${i}] ${clean(e.subject || '(empty subject)')}`);
    out.push(
      c.dim(
        `      issuer ${clean(e.issuer || '(empty)')} · ${clean(keyText(e))} · ${clean(e.signatureAlgorithm)} · ${e.source}`,
      ),
    );
    const names = [
      ...e.subjectAltNames.dns,
      ...e.subjectAltNames.ip,
      ...e.subjectAltNames.email,
      ...e.subjectAltNames.uri,
    ];
    if (names.length)
      out.push(
        c.dim(
          `      names ${clean(names.slice(0, 6).join(', '))}${names.length > 6 ? ` … (+${names.length - 6})` : ''}`,
        ),
      );
    out.push(`      ${expiryText(e, c)} · sha256 ${e.sha256.slice(0, 16)}…`);
  });
  out.push('');
  if (r.findings.length === 0) out.push(c.green('No problems found.'));
  else {
    out.push(c.bold(`Findings (${r.findings.length}):`));
    for (const f of r.findings) {
      const where = f.certIndex !== undefined ? `[${f.certIndex}] ` : '';
      out.push(
        `  ${severityText(f, c)} ${clean(f.code).padEnd(22)} ${where}${clean(f.message)}${f.rule ? c.dim(` (${clean(f.rule)})`) : ''}`,
      );
    }
  }
  return out.join('\n') + '\n';
}
