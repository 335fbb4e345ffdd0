import type { Report } from './result.js';
import { escapeXml as xml } from './sanitize.js';

/** JUnit XML: one testcase per target; critical → failure, error → error, warnings in system-out. */
export function renderJunit(report: Report): string {
  const s = report.summary;
  const secs = (ms: number) => (ms / 1000).toFixed(3);
  const total = report.results.reduce((a, r) => a + r.durationMs, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="certvet" tests="${s.total}" failures="${s.critical}" errors="${s.error}" time="${secs(total)}">`,
    `  <testsuite name="certvet check" tests="${s.total}" failures="${s.critical}" errors="${s.error}" skipped="0" time="${secs(total)}" timestamp="${xml(report.generatedAt)}">`,
  ];
  for (const r of report.results) {
    lines.push(`    <testcase classname="certvet.tls" name="${xml(r.target)}" time="${secs(r.durationMs)}">`);
    // Each finding is escaped on its own (the newlines between them are ours).
    const text = r.findings.map((f) => xml(`${f.severity} ${f.code}: ${f.message}`)).join('\n');
    if (r.status === 'critical') {
      const first = r.findings.find((f) => f.severity === 'critical')!;
      lines.push(
        `      <failure type="${xml(first.code)}" message="${xml(first.message)}">${text}</failure>`,
      );
    } else if (r.status === 'error') {
      const first = r.findings.find((f) => f.severity === 'error')!;
      lines.push(`      <error type="${xml(first.code)}" message="${xml(first.message)}">${text}</error>`);
    }
    if (text) lines.push(`      <system-out>${text}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>');
  return lines.join('\n') + '\n';
}
