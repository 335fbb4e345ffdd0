import type { Report, Status, TargetResult } from '../model/result.js';
import { memorySource, type ReportSource } from './resultSpool.js';
import { escapeHtml as h } from './sanitize.js';

const COLOR: Record<Status, string> = {
  ok: '#1a7f37',
  warning: '#9a6700',
  critical: '#cf222e',
  error: '#8250df',
};
const RANK: Record<Status, number> = { critical: 0, error: 1, warning: 2, ok: 3 };

/**
 * One self-contained HTML file: summary, a sortable table (click a header), an expiry
 * timeline of leaf certificates, and every finding. No external assets; every string that
 * comes from a certificate or a server is escaped.
 */
export function renderHtml(report: Report): string {
  return [...htmlChunks(memorySource(report))].join('');
}

/** The HTML report in pieces, reading one result at a time (bounded memory). */
export function* htmlChunks(source: ReportSource): Generator<string> {
  const s = source.summary;
  const rows = [...source.entries].sort(
    (a, b) => RANK[a.status] - RANK[b.status] || a.target.localeCompare(b.target),
  );
  const now = Date.parse(source.generatedAt);
  const leaves = rows
    .filter((r) => r.leafNotAfter !== null)
    .map((r) => ({ target: r.target, days: r.leafDays!, notAfter: r.leafNotAfter!, status: r.status }));
  let maxDays = 30;
  for (const l of leaves) maxDays = Math.max(maxDays, Math.min(l.days, 400));
  leaves.sort((a, b) => a.days - b.days);
  yield head(source, s);
  for (const [i, l] of leaves.entries()) {
    const w = Math.max(0.5, (100 * Math.max(0, Math.min(l.days, 400))) / maxDays);
    yield `${i ? '\n' : ''}<div class="tl"><span class="tn">${h(l.target)}</span><span class="bar" style="width:${w.toFixed(1)}%;background:${COLOR[l.status]}"></span><span class="td">${l.days < 0 ? `expired ${-l.days}d ago` : `${l.days}d`} · ${h(l.notAfter.slice(0, 10))}</span></div>`;
  }
  if (leaves.length === 0) yield '<p>No certificates.</p>';
  yield TABLE_HEAD;
  for (const [i, e] of rows.entries()) yield `${i ? '\n' : ''}${row(source.read(e))}`;
  yield `\n${foot(now)}`;
}

function row(r: TargetResult): string {
  const leaf = r.chain[0];
  const findings = r.findings
    .map((f) => `<li class="${h(f.severity)}"><b>${h(f.code)}</b> ${h(f.message)}</li>`)
    .join('');
  return `<tr data-status="${RANK[r.status]}"><td><span class="st" style="background:${COLOR[r.status]}">${h(r.status)}</span></td><td>${h(r.target)}</td><td data-v="${leaf ? leaf.daysRemaining : -99999}">${leaf ? `${h(leaf.notAfter.slice(0, 10))} (${leaf.daysRemaining}d)` : '-'}</td><td>${h(r.tls?.protocol ?? '-')}</td><td>${h(leaf?.subject ?? '')}</td><td><ul>${findings}</ul></td></tr>`;
}

function head(source: ReportSource, s: ReportSource['summary']): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>certvet report ${h(source.generatedAt)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1f2328}h1{font-size:20px}
.sum span{display:inline-block;margin-right:1em;padding:.2em .6em;border-radius:4px;color:#fff}
table{border-collapse:collapse;width:100%;margin-top:1em}th,td{border-bottom:1px solid #d0d7de;padding:.4em;text-align:left;vertical-align:top}
th{cursor:pointer;background:#f6f8fa;user-select:none}th:after{content:" ↕";color:#999}
.st{color:#fff;padding:.1em .5em;border-radius:3px;font-size:12px;text-transform:uppercase}
ul{margin:0;padding-left:1.2em}li.critical,li.error{color:#cf222e}li.warning{color:#9a6700}li.info{color:#57606a}
.tl{display:flex;align-items:center;gap:.5em;margin:.15em 0}.tn{width:22em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.bar{height:.8em;border-radius:2px;display:inline-block}.td{color:#57606a;font-size:12px}
</style></head><body>
<h1>certvet report</h1>
<p>Generated ${h(source.generatedAt)} · ${s.total} ${s.total === 1 ? 'target' : 'targets'}</p>
<p class="sum"><span style="background:${COLOR.ok}">${s.ok} ok</span><span style="background:${COLOR.warning}">${s.warning} warning</span><span style="background:${COLOR.critical}">${s.critical} critical</span><span style="background:${COLOR.error}">${s.error} error</span></p>
<h2>Expiry timeline (leaf certificates)</h2>
<div id="timeline">`;
}

const TABLE_HEAD = `</div>
<h2>Targets</h2>
<table id="results"><thead><tr><th data-k="status">Status</th><th>Target</th><th data-k="num">Expires</th><th>TLS</th><th>Leaf subject</th><th>Findings</th></tr></thead>
<tbody>
`;

function foot(now: number): string {
  return `</tbody></table>
<script>
(function(){var t=document.getElementById('results');var dir={};
t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
var rows=Array.prototype.slice.call(t.tBodies[0].rows);dir[i]=!dir[i];var k=th.getAttribute('data-k');
rows.sort(function(a,b){var x,y;if(k==='status'){x=+a.getAttribute('data-status');y=+b.getAttribute('data-status');}
else if(k==='num'){x=+a.cells[i].getAttribute('data-v');y=+b.cells[i].getAttribute('data-v');}
else{x=a.cells[i].textContent;y=b.cells[i].textContent;}
return (x<y?-1:x>y?1:0)*(dir[i]?1:-1);});
rows.forEach(function(r){t.tBodies[0].appendChild(r);});});});})();
</script>
<!-- generated ${h(new Date(now).toISOString())} -->
</body></html>
`;
}
