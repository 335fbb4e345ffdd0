import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { renderPrometheus } from './prometheus.js';
import type { Report } from './result.js';
import type { Colors } from './style.js';
import { renderText } from './text.js';

export const FORMATS = ['text', 'json', 'jsonl', 'junit', 'prometheus', 'html'] as const;
export type Format = (typeof FORMATS)[number];

/** Renders a whole report in one of the output formats (jsonl: one result per line). */
export function renderReport(report: Report, format: Format, colors: Colors): string {
  switch (format) {
    case 'json':
      return JSON.stringify(report, null, 2) + '\n';
    case 'jsonl':
      return report.results.map((r) => JSON.stringify(r)).join('\n') + (report.results.length ? '\n' : '');
    case 'junit':
      return renderJunit(report);
    case 'prometheus':
      return renderPrometheus(report);
    case 'html':
      return renderHtml(report);
    default:
      return renderText(report, colors);
  }
}
