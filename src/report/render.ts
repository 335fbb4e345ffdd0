import type { Report } from '../model/result.js';
import { htmlChunks } from './html.js';
import { junitChunks } from './junit.js';
import { prometheusChunks } from './prometheus.js';
import { memorySource, type ReportSource } from './resultSpool.js';
import type { Colors } from './style.js';
import { textChunks } from './text.js';

export const FORMATS = ['text', 'json', 'jsonl', 'junit', 'prometheus', 'html'] as const;
export type Format = (typeof FORMATS)[number];

/** Renders a whole report in one of the output formats (jsonl: one result per line). */
export function renderReport(report: Report, format: Format, colors: Colors): string {
  return [...reportChunks(memorySource(report), format, colors)].join('');
}

/**
 * A report in pieces, reading results back one at a time: what the CLI writes as it goes, so
 * that no format needs every result in memory at once.
 */
export function reportChunks(source: ReportSource, format: Format, colors: Colors): Iterable<string> {
  switch (format) {
    case 'json':
      return jsonChunks(source);
    case 'jsonl':
      return jsonlChunks(source);
    case 'junit':
      return junitChunks(source);
    case 'prometheus':
      return prometheusChunks(source);
    case 'html':
      return htmlChunks(source);
    default:
      return textChunks(source, colors);
  }
}

function* jsonlChunks(source: ReportSource): Generator<string> {
  for (const e of source.entries) yield `${JSON.stringify(source.read(e))}\n`;
}

/** Exactly `JSON.stringify(report, null, 2)`, one result at a time. */
function* jsonChunks(source: ReportSource): Generator<string> {
  const head = JSON.stringify(
    { version: 1, generatedAt: source.generatedAt, summary: source.summary },
    null,
    2,
  );
  yield `${head.slice(0, -2)},\n  "results": [`;
  let first = true;
  for (const e of source.entries) {
    const r = JSON.stringify(source.read(e), null, 2).replace(/^/gm, '    ');
    yield `${first ? '\n' : ',\n'}${r}`;
    first = false;
  }
  yield first ? ']\n}\n' : '\n  ]\n}\n';
}
