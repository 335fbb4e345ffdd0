import type { Report, TargetResult } from '../model/result.js';
import { memorySource, type ReportSource } from './resultSpool.js';
import { escapeXml as xml } from './sanitize.js';

const secs = (ms: number) => (ms / 1000).toFixed(3);

/** JUnit XML: one testcase per target; critical → failure, error → error, warnings in system-out. */
export function renderJunit(report: Report): string {
  return [...junitChunks(memorySource(report))].join('');
}

/** The JUnit report in pieces, reading one result at a time (bounded memory). */
export function* junitChunks(source: ReportSource): Generator<string> {
  const s = source.summary;
  let total = 0;
  for (const e of source.entries) total += e.durationMs;
  yield '<?xml version="1.0" encoding="UTF-8"?>\n';
  yield `<testsuites name="certvet" tests="${s.total}" failures="${s.critical}" errors="${s.error}" time="${secs(total)}">\n`;
  yield `  <testsuite name="certvet check" tests="${s.total}" failures="${s.critical}" errors="${s.error}" skipped="0" time="${secs(total)}" timestamp="${xml(source.generatedAt)}">\n`;
  for (const e of source.entries) yield testcase(source.read(e));
  yield '  </testsuite>\n</testsuites>\n';
}

function testcase(r: TargetResult): string {
  const lines = [
    `    <testcase classname="certvet.tls" name="${xml(r.target)}" time="${secs(r.durationMs)}">`,
  ];
  // Each finding is escaped on its own (the newlines between them are ours).
  const text = r.findings.map((f) => xml(`${f.severity} ${f.code}: ${f.message}`)).join('\n');
  if (r.status === 'critical') {
    const first = r.findings.find((f) => f.severity === 'critical')!;
    lines.push(`      <failure type="${xml(first.code)}" message="${xml(first.message)}">${text}</failure>`);
  } else if (r.status === 'error') {
    const first = r.findings.find((f) => f.severity === 'error')!;
    lines.push(`      <error type="${xml(first.code)}" message="${xml(first.message)}">${text}</error>`);
  }
  if (text) lines.push(`      <system-out>${text}</system-out>`);
  lines.push('    </testcase>');
  return lines.join('\n') + '\n';
}
