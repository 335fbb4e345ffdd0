/*
 * certvet's dashboard (`certvet serve`): plain JavaScript over the JSON API under /api/v1/, no
 * framework, no build step. Views (hash routes): #/ the fleet (summary by status, expiry
 * timeline, target table), #/target/ID (chain leaf → root, findings, history, events, "check
 * now"), #/certificates (inventory search), #/certificate/SHA256, #/events (the event feed).
 *
 * Everything a certificate, an endpoint or the server says is inserted as text (text nodes via
 * `h()`, never markup) after `visible()` has made control and bidirectional characters visible,
 * so a subject cannot run script, reorder what is read or hide text. The page runs under a
 * Content-Security-Policy without inline scripts or styles: styles are classes from app.css, and
 * the few computed sizes are set through the CSSOM.
 */

/**
 * The characters a certificate's text may not carry onto the page as they are: C0 controls
 * (NUL included), DEL, C1, the bidirectional controls and marks (U+061C, U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069), line/paragraph separators (U+2028, U+2029), the BOM, U+FFFE,
 * U+FFFF and lone surrogates — the set of the CLI's renderers (src/report/sanitize.ts).
 */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `s` with every unsafe character replaced by a visible escape (`\x1b`, `\u202e`). */
export function visible(s) {
  return String(s ?? '').replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Whole days from `now` to an ISO date (negative once past), as the checker counts them. */
export function daysUntil(iso, now = Date.now()) {
  return Math.floor((Date.parse(iso) - now) / 86400_000);
}

/** Where along its validity a certificate is at `now`: 0 … 1. */
export function elapsedFraction(notBefore, notAfter, now = Date.now()) {
  const a = Date.parse(notBefore);
  const b = Date.parse(notAfter);
  if (!(b > a)) return 1;
  return Math.min(1, Math.max(0, (now - a) / (b - a)));
}

/**
 * Certificates bucketed by the UTC day they expire, over `days` days from `now`'s day: the
 * expiry timeline's data. Returns uPlot's columns (x in seconds) and the ones already expired.
 */
export function expiryBuckets(certs, now = Date.now(), days = 90) {
  const day0 = Math.floor(now / 86400_000);
  const xs = [];
  const leaves = new Array(days + 1).fill(0);
  const cas = new Array(days + 1).fill(0);
  for (let i = 0; i <= days; i++) xs.push((day0 + i) * 86400);
  let expired = 0;
  for (const c of certs) {
    const t = Date.parse(c.notAfter);
    if (!Number.isFinite(t)) continue;
    if (t <= now) {
      expired++;
      continue;
    }
    const i = Math.floor(t / 86400_000) - day0;
    if (i < 0 || i > days) continue;
    if (c.isCA) cas[i]++;
    else leaves[i]++;
  }
  return { xs, leaves, cas, expired };
}

// ---------------------------------------------------------------------------------------------
// DOM helpers: every string child becomes a text node, through visible().

/**
 * An element: `props` sets known properties only (class, href, title, type, value, …; `on*`
 * functions become listeners; `data` a dataset); children are nodes, strings (text), arrays or
 * null/false (skipped).
 */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'data') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = visible(dv);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'href') el.setAttribute('href', safeHref(v));
    else if (k === 'title' || k === 'placeholder' || k === 'aria-label') el.setAttribute(k, visible(v));
    else if (k in el) el[k] = v;
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(visible(c)));
  }
}

/** Only the dashboard's own hash routes are linked to. */
function safeHref(v) {
  const s = String(v);
  return /^#\/[\w/%.?=&!~*'()-]*$/.test(s) ? s : '#/';
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

function targetLink(id, text) {
  return h('a', { href: `#/target/${encodeURIComponent(id)}`, class: 'target-link' }, text);
}

function certLink(sha256, text) {
  return h('a', { href: `#/certificate/${encodeURIComponent(sha256)}`, class: 'cert-link' }, text);
}

function statusBadge(status) {
  const s = status ?? 'pending';
  return h('span', { class: `badge status-${/^[a-z]+$/.test(s) ? s : 'pending'}`, data: { status: s } }, s);
}

function severityBadge(sev) {
  return h('span', { class: `badge sev-${/^[a-z]+$/.test(sev) ? sev : 'info'}` }, sev);
}

function eventBadge(type) {
  return h('span', { class: `badge event event-${/^[a-z-]+$/.test(type) ? type : 'other'}` }, type);
}

/** "2026-11-01 12:34 UTC". */
function utc(value) {
  if (value === null || value === undefined) return '—';
  const d = new Date(typeof value === 'number' ? value : Date.parse(value));
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "in 3 d", "5 min ago". */
function relative(value, now = Date.now()) {
  if (value === null || value === undefined) return '';
  const t = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(t)) return '';
  const s = Math.round((t - now) / 1000);
  const a = Math.abs(s);
  const text =
    a < 60
      ? `${a} s`
      : a < 3600
        ? `${Math.round(a / 60)} min`
        : a < 86400
          ? `${Math.round(a / 3600)} h`
          : `${Math.round(a / 86400)} d`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
}

function daysText(days) {
  if (days === null || days === undefined || Number.isNaN(days)) return '—';
  if (days < 0) return `expired ${-days} d ago`;
  return `${days} d`;
}

function daysClass(days, warn = 30, crit = 7) {
  if (days === null || days === undefined || Number.isNaN(days)) return '';
  if (days < 0) return 'days expired';
  if (days < crit) return 'days critical';
  if (days < warn) return 'days warning';
  return 'days ok';
}

const SOURCE_TEXT = { peer: 'sent by the server', aia: 'fetched (AIA)', 'trust-store': 'trust store' };

// ---------------------------------------------------------------------------------------------
// The API.

class ApiError extends Error {}

async function api(path, init) {
  let res;
  try {
    const token = sessionStorage.getItem(TOKEN_KEY);
    res = await fetch(`/api/v1${path}`, {
      ...init,
      headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(`the service does not answer (${e.message})`);
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (res.status === 401) {
    askForToken();
    throw new ApiError('this service needs a bearer token (auth.tokens): enter it above');
  }
  if (!res.ok)
    throw new ApiError(body?.error ? `${res.status}: ${body.error}` : `${res.status} ${res.statusText}`);
  return body;
}

/** Where the token the user typed is kept: this tab only, never the URL or a cookie. */
const TOKEN_KEY = 'certvet-token';

/** With auth.tokens set, the API answers 401: a form asks for a token, kept for this tab. */
function askForToken() {
  if (document.getElementById('token-form')) return;
  const input = h('input', {
    id: 'token-input',
    type: 'password',
    autocomplete: 'off',
    placeholder: 'bearer token',
    'aria-label': 'bearer token',
  });
  const form = h(
    'form',
    {
      id: 'token-form',
      onsubmit: (ev) => {
        ev.preventDefault();
        const v = input.value.trim();
        if (!v) return;
        sessionStorage.setItem(TOKEN_KEY, v);
        form.remove();
        window.dispatchEvent(new HashChangeEvent('hashchange'));
      },
    },
    [input, h('button', { type: 'submit', id: 'token-submit' }, ['use token'])],
  );
  document.body.prepend(form);
}

const q = (params) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
};

/** Follows `next` cursors up to `maxPages` pages. */
async function allPages(path, params, maxPages = 10) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < maxPages; i++) {
    const page = await api(`${path}${q({ ...params, cursor })}`);
    items.push(...page.items);
    cursor = page.next;
    if (!cursor) return { items, truncated: false };
  }
  return { items, truncated: true };
}

/** Target id → the target as configured, for links from certificates and events. */
const targetNames = new Map();

// ---------------------------------------------------------------------------------------------
// Page chrome: the banner (errors) and the "updated" line.

function showError(e) {
  const b = document.getElementById('banner');
  clear(b);
  if (!e) {
    b.hidden = true;
    return;
  }
  append(b, [e instanceof Error ? e.message : String(e)]);
  b.hidden = false;
}

function updated() {
  const live = document.getElementById('live');
  clear(live);
  append(live, [`updated ${new Date().toISOString().slice(11, 19)} UTC`]);
}

function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', null, title), ...children);
}

/** A sortable table: columns {key, title, value(row) for sorting, cell(row) → node/text}. */
function sortableTable(columns, state, onSort) {
  const thead = h(
    'thead',
    null,
    h(
      'tr',
      null,
      columns.map((c) =>
        h(
          'th',
          {
            class: c.value ? 'sortable' : '',
            'aria-sort': state.sort === c.key ? (state.dir > 0 ? 'ascending' : 'descending') : undefined,
            data: { key: c.key },
            onclick: c.value
              ? () => {
                  if (state.sort === c.key) state.dir = -state.dir;
                  else {
                    state.sort = c.key;
                    state.dir = 1;
                  }
                  onSort();
                }
              : undefined,
          },
          c.title,
          state.sort === c.key ? (state.dir > 0 ? ' ▲' : ' ▼') : '',
        ),
      ),
    ),
  );
  const tbody = h('tbody');
  const table = h('table', { class: 'grid' }, thead, tbody);
  return {
    table,
    fill(rows, rowProps) {
      const col = columns.find((c) => c.key === state.sort);
      const sorted = col?.value
        ? [...rows].sort((a, b) => {
            const x = col.value(a);
            const y = col.value(b);
            if (x === y) return 0;
            if (x === null || x === undefined) return 1;
            if (y === null || y === undefined) return -1;
            return (x < y ? -1 : 1) * state.dir;
          })
        : rows;
      clear(tbody);
      if (!sorted.length)
        tbody.appendChild(
          h('tr', null, h('td', { colSpan: columns.length, class: 'empty' }, 'nothing to show')),
        );
      for (const r of sorted)
        tbody.appendChild(
          h(
            'tr',
            rowProps?.(r) ?? null,
            columns.map((c) => h('td', { class: c.class ?? '' }, c.cell(r))),
          ),
        );
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Charts (uPlot, loaded as /vendor/uplot.js).

const charts = new Set();

function chartWidth(el) {
  return Math.max(320, (el.clientWidth || el.parentElement?.clientWidth || 800) - 8);
}

function makeChart(el, opts, data) {
  if (typeof window.uPlot !== 'function') {
    append(el, [h('p', { class: 'muted' }, 'charts are unavailable (uPlot did not load)')]);
    return null;
  }
  const chart = new window.uPlot({ width: chartWidth(el), ...opts }, data, el);
  charts.add({ chart, el });
  return chart;
}

function destroyCharts() {
  for (const c of charts) c.chart.destroy();
  charts.clear();
}

if (typeof window !== 'undefined')
  window.addEventListener('resize', () => {
    for (const c of charts) c.chart.setSize({ width: chartWidth(c.el), height: c.chart.height });
  });

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

// ---------------------------------------------------------------------------------------------
// Views. Each returns { refresh() } after building its skeleton into `root`; refresh() only
// refills data, so what the user is typing or has chosen survives the periodic refresh.

const TIMELINE_EVERY_MS = 60_000;
const STATUSES = ['ok', 'warning', 'critical', 'error', 'pending'];
/** Worst first when sorted descending. */
const STATUS_RANK = { ok: 0, pending: 1, warning: 2, critical: 3, error: 4 };

function fleetView(root, params) {
  const state = {
    status: params.get('status') ?? '',
    group: params.get('group') ?? '',
    q: params.get('q') ?? '',
    sort: 'status',
    dir: -1,
    groups: [],
  };
  const keepInUrl = () => {
    history.replaceState(null, '', `#/${q({ status: state.status, group: state.group, q: state.q })}`);
  };

  const cards = h('div', { class: 'summary', id: 'summary' });
  const cardEls = new Map();
  for (const s of ['total', ...STATUSES]) {
    const count = h('span', { class: 'count' }, '…');
    const card = h(
      'button',
      {
        type: 'button',
        class: `sum sum-${s}`,
        id: `sum-${s}`,
        title: s === 'total' ? 'show every target' : `show only targets whose status is ${s}`,
        onclick: () => {
          state.status = s === 'total' || state.status === s ? '' : s;
          statusSel.value = state.status;
          keepInUrl();
          refreshTable().catch(showError);
        },
      },
      count,
      h('span', { class: 'label' }, s),
    );
    cardEls.set(s, { card, count });
    cards.appendChild(card);
  }

  const statusSel = h(
    'select',
    {
      id: 'filter-status',
      'aria-label': 'status',
      onchange: () => {
        state.status = statusSel.value;
        keepInUrl();
        refreshTable().catch(showError);
      },
    },
    h('option', { value: '' }, 'any status'),
    STATUSES.map((s) => h('option', { value: s }, s)),
  );
  statusSel.value = state.status;
  const groupSel = h('select', {
    id: 'filter-group',
    'aria-label': 'group',
    onchange: () => {
      state.group = groupSel.value;
      keepInUrl();
      refreshTable().catch(showError);
    },
  });
  let typing = null;
  const text = h('input', {
    id: 'filter-text',
    type: 'search',
    placeholder: 'filter targets…',
    'aria-label': 'filter targets',
    value: state.q,
    oninput: () => {
      clearTimeout(typing);
      typing = setTimeout(() => {
        state.q = text.value.trim();
        keepInUrl();
        refreshTable().catch(showError);
      }, 200);
    },
  });
  const shown = h('span', { class: 'muted', id: 'targets-shown' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'load more');

  const columns = [
    {
      key: 'status',
      title: 'Status',
      value: (r) => STATUS_RANK[r.status ?? 'pending'] ?? 1,
      cell: (r) => statusBadge(r.status),
    },
    {
      key: 'target',
      title: 'Target',
      value: (r) => r.target.toLowerCase(),
      cell: (r) => targetLink(r.id, r.target),
    },
    { key: 'group', title: 'Group', value: (r) => r.group, cell: (r) => r.group },
    {
      key: 'subject',
      title: 'Leaf subject',
      value: (r) => r.leaf?.subject?.toLowerCase() ?? null,
      cell: (r) => (r.leaf ? h('span', { class: 'dn' }, r.leaf.subject) : '—'),
      class: 'wrap',
    },
    {
      key: 'leafDays',
      title: 'Leaf expires',
      value: (r) => (r.leaf ? Date.parse(r.leaf.notAfter) : null),
      cell: (r) => {
        if (!r.leaf) return '—';
        const d = daysUntil(r.leaf.notAfter);
        return h('span', { class: daysClass(d), title: utc(r.leaf.notAfter) }, daysText(d));
      },
    },
    {
      key: 'chainDays',
      title: 'Path expires',
      value: (r) => (r.chainNotAfter ? Date.parse(r.chainNotAfter) : null),
      cell: (r) => {
        if (!r.chainNotAfter) return '—';
        const d = daysUntil(r.chainNotAfter);
        return h(
          'span',
          {
            class: daysClass(d),
            title: `the first certificate of the ${r.chainLength ?? ''}-certificate path to expire: ${utc(r.chainNotAfter)}`,
          },
          daysText(d),
        );
      },
    },
    {
      key: 'findings',
      title: 'Findings',
      value: (r) => r.findings.length,
      cell: (r) => findingsSummary(r.findings),
    },
    {
      key: 'checked',
      title: 'Checked',
      value: (r) => (r.checkedAt ? Date.parse(r.checkedAt) : null),
      cell: (r) => h('span', { title: utc(r.checkedAt) }, r.checkedAt ? relative(r.checkedAt) : 'not yet'),
    },
  ];
  const table = sortableTable(columns, state, () => table.fill(rows, rowProps));
  table.table.id = 'targets';
  const rowProps = (r) => ({ class: `row-${r.status ?? 'pending'}`, data: { id: r.id } });
  let rows = [];
  let next = null;

  const timeline = h('div', { class: 'chart', id: 'expiry-chart' });
  const timelineNote = h('p', { class: 'muted', id: 'expiry-note' });
  const soonest = h('div', { id: 'expiry-list' });

  append(root, [
    h('h1', null, 'Fleet'),
    cards,
    section(
      'Expiry timeline: the next 90 days',
      h(
        'p',
        { class: 'muted' },
        'Every certificate of every path served now — leaves and CA certificates — by the day it expires.',
      ),
      timeline,
      timelineNote,
      soonest,
    ),
    section(
      'Targets',
      h('div', { class: 'filters' }, statusSel, groupSel, text, shown),
      h('div', { class: 'scroll' }, table.table),
      more,
    ),
  ]);

  let chart = null;
  let timelineAt = 0;

  async function refreshTable() {
    const page = await api(
      `/targets${q({ status: state.status, group: state.group, q: state.q, limit: 500 })}`,
    );
    rows = page.items;
    next = page.next;
    renderPage(page);
  }

  function renderPage(page) {
    for (const r of page.items) targetNames.set(r.id, r.target);
    for (const [s, { card, count }] of cardEls) {
      clear(count);
      append(count, [String(page.summary[s] ?? 0)]);
      card.classList.toggle('active', state.status === s || (s === 'total' && !state.status));
    }
    const groups = page.groups ?? [...new Set(rows.map((r) => r.group))];
    if (groups.join('\n') !== state.groups.join('\n')) {
      state.groups = groups;
      clear(groupSel);
      append(groupSel, [
        h('option', { value: '' }, 'any group'),
        groups.map((g) => h('option', { value: g }, g)),
      ]);
    }
    groupSel.value = state.group;
    table.fill(rows, rowProps);
    clear(shown);
    append(shown, [`${rows.length}${next ? '+' : ''} of ${page.summary.total} targets`]);
    more.hidden = !next;
  }

  more.addEventListener('click', async () => {
    if (!next) return;
    const page = await api(
      `/targets${q({ status: state.status, group: state.group, q: state.q, limit: 500, cursor: next })}`,
    );
    rows = rows.concat(page.items);
    next = page.next;
    renderPage(page);
  });

  async function refreshTimeline() {
    const { items, truncated } = await allPages('/certificates', {
      served: 'true',
      expiresWithinDays: 90,
      limit: 500,
    });
    const now = Date.now();
    const b = expiryBuckets(items, now, 90);
    // Stacked: the leaf bars are drawn from 0 to leaves + CAs, the CA bars over them. Empty days
    // are gaps, not zero-height bars.
    const data = [b.xs, b.cas.map((v, i) => v + b.leaves[i] || null), b.cas.map((v) => v || null)];
    if (!chart) {
      clear(timeline);
      const bars = window.uPlot?.paths?.bars?.({ size: [0.8, 24] });
      chart = makeChart(
        timeline,
        {
          height: 220,
          cursor: { drag: { x: false, y: false } },
          legend: { live: true },
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(2, max + 1)] } },
          axes: [
            { stroke: cssVar('--fg', '#222') },
            {
              stroke: cssVar('--fg', '#222'),
              label: 'certificates',
              incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
            },
          ],
          series: [
            {
              label: 'day',
              value: (_u, v) => (v === null ? '—' : new Date(v * 1000).toISOString().slice(0, 10)),
            },
            {
              label: 'leaf certificates',
              fill: cssVar('--leaf', '#4c8bf5'),
              stroke: cssVar('--leaf', '#4c8bf5'),
              paths: bars,
              points: { show: false },
              // Drawn stacked on the CA bars: the legend shows the leaves alone.
              value: (u, _v, _s, i) =>
                i === null || i === undefined ? '—' : String((u.data[1][i] ?? 0) - (u.data[2][i] ?? 0)),
            },
            {
              label: 'CA certificates',
              fill: cssVar('--ca', '#e8a33d'),
              stroke: cssVar('--ca', '#e8a33d'),
              paths: bars,
              points: { show: false },
              value: (_u, v) => (v === null || v === undefined ? '—' : String(v)),
            },
          ],
        },
        data,
      );
    } else chart.setData(data);
    clear(timelineNote);
    const inWindow = b.leaves.reduce((a, x) => a + x, 0) + b.cas.reduce((a, x) => a + x, 0);
    append(timelineNote, [
      `${inWindow} certificate${inWindow === 1 ? '' : 's'} expire within 90 days`,
      b.expired
        ? `; ${b.expired} served certificate${b.expired === 1 ? ' has' : 's have'} already expired`
        : '',
      truncated ? ' (the first 5,000 only)' : '',
      '.',
    ]);
    clear(soonest);
    const list = items
      .slice()
      .sort((x, y) => Date.parse(x.notAfter) - Date.parse(y.notAfter))
      .slice(0, 12);
    if (list.length)
      soonest.appendChild(
        h(
          'table',
          { class: 'grid compact', id: 'expiry-table' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ['Expires', 'In', 'Subject', 'Kind', 'Served by'].map((t) => h('th', null, t)),
            ),
          ),
          h(
            'tbody',
            null,
            list.map((c) => {
              const d = daysUntil(c.notAfter, now);
              return h(
                'tr',
                null,
                h('td', null, utc(c.notAfter)),
                h('td', null, h('span', { class: daysClass(d) }, daysText(d))),
                h('td', { class: 'wrap' }, certLink(c.sha256, c.subject || '(empty subject)')),
                h('td', null, c.isCA ? 'CA' : 'leaf'),
                h('td', { class: 'wrap' }, servedByLinks(c.servedBy)),
              );
            }),
          ),
        ),
      );
  }

  return {
    async refresh() {
      // The timeline reads the whole served inventory: once a minute is enough.
      const timelineDue = Date.now() - timelineAt > TIMELINE_EVERY_MS;
      await Promise.all([refreshTable(), timelineDue ? refreshTimeline() : null]);
      if (timelineDue) timelineAt = Date.now();
    },
  };
}

function findingsSummary(findings) {
  if (!findings.length) return h('span', { class: 'muted' }, 'none');
  const worst = findings.map((f) => f.severity);
  const counts = {};
  for (const s of worst) counts[s] = (counts[s] ?? 0) + 1;
  return h(
    'span',
    { title: findings.map((f) => `${f.code}: ${f.message}`).join('; ') },
    ['error', 'critical', 'warning', 'info']
      .filter((s) => counts[s])
      .map((s) => h('span', { class: `badge sev-${s}` }, `${counts[s]} ${s}`)),
  );
}

function servedByLinks(ids) {
  if (!ids?.length) return h('span', { class: 'muted' }, 'not served now');
  const shown = ids.slice(0, 3).map((id, i) => [i ? ', ' : '', targetLink(id, targetNames.get(id) ?? id)]);
  return [shown, ids.length > 3 ? ` and ${ids.length - 3} more` : ''];
}

function roleOf(chain, i) {
  if (i === 0) return 'leaf';
  const c = chain[i];
  if (i === chain.length - 1 && c.isCA && c.selfSigned) return 'root';
  return 'intermediate';
}

function validityBar(c, now = Date.now()) {
  const d = daysUntil(c.notAfter, now);
  const fill = h('span', { class: 'fill' });
  fill.style.width = `${(elapsedFraction(c.notBefore, c.notAfter, now) * 100).toFixed(1)}%`;
  return h(
    'div',
    { class: 'validity' },
    h('span', { class: 'from' }, utc(c.notBefore)),
    h('span', { class: `bar ${daysClass(d)}`, title: `${daysText(d)} left of its validity` }, fill),
    h('span', { class: 'to' }, utc(c.notAfter)),
    h('span', { class: daysClass(d) }, d < 0 ? daysText(d) : `${d} d left`),
  );
}

function chainView(chain, findings) {
  if (!chain.length) return h('p', { class: 'muted' }, 'No certificate was received.');
  const now = Date.now();
  return h(
    'ol',
    { class: 'chain', id: 'chain' },
    chain.map((c, i) => {
      const own = findings.filter((f) => f.certIndex === i);
      return h(
        'li',
        { class: `cert role-${roleOf(chain, i)}`, data: { index: String(i) } },
        h(
          'div',
          { class: 'cert-head' },
          h('span', { class: 'role' }, `#${i} ${roleOf(chain, i)}`),
          h('span', { class: `badge source source-${c.source}` }, SOURCE_TEXT[c.source] ?? c.source),
          c.revocation
            ? h('span', { class: `badge rev-${c.revocation.status}` }, `revocation: ${c.revocation.status}`)
            : null,
        ),
        h('div', { class: 'dn subject' }, certLink(c.sha256, c.subject || '(empty subject)')),
        h(
          'div',
          { class: 'dn issuer' },
          h('span', { class: 'muted' }, 'issued by '),
          c.issuer || '(empty issuer)',
        ),
        validityBar(c, now),
        h(
          'dl',
          { class: 'facts' },
          fact('serial', c.serialNumber),
          fact(
            'key',
            `${c.publicKey.type}${c.publicKey.bits ? ` ${c.publicKey.bits}` : ''}${c.publicKey.curve ? ` ${c.publicKey.curve}` : ''}`,
          ),
          fact('signature', c.signatureAlgorithm),
          i === 0 ? fact('names', sanText(c.subjectAltNames) || '—') : null,
          fact('SHA-256', c.sha256),
          c.revocation?.detail ? fact('revocation', c.revocation.detail) : null,
        ),
        own.length
          ? h(
              'div',
              { class: 'cert-findings' },
              own.map((f) =>
                h(
                  'span',
                  {
                    class: `badge sev-${/^[a-z]+$/.test(f.severity) ? f.severity : 'info'}`,
                    title: f.message,
                  },
                  f.code,
                ),
              ),
            )
          : null,
      );
    }),
  );
}

function fact(k, v) {
  return [h('dt', null, k), h('dd', null, v)];
}

function sanText(s) {
  if (!s) return '';
  return [...s.dns, ...s.ip, ...s.email, ...s.uri].join(', ');
}

function findingItem(f) {
  return h(
    'li',
    { class: `finding sev-${f.severity}` },
    severityBadge(f.severity),
    h('code', null, f.code),
    ' ',
    h('span', { class: 'message' }, f.message),
    f.certIndex !== undefined ? h('span', { class: 'muted' }, ` (certificate #${f.certIndex})`) : null,
    f.rule ? h('span', { class: 'muted rule' }, ` — ${f.rule}`) : null,
  );
}

function targetView(root, id) {
  const head = h('div', { class: 'target-head' });
  const button = h('button', { type: 'button', id: 'check-now', class: 'primary' }, 'Check now');
  const note = h('span', { class: 'muted', id: 'check-note' });
  const findings = h('div', { id: 'findings' });
  const chain = h('div', { id: 'chain-box' });
  const historyChart = h('div', { class: 'chart', id: 'history-chart' });
  const historyTable = h('div', { id: 'history' });
  const events = h('div', { id: 'target-events' });
  append(root, [
    h('p', null, h('a', { href: '#/' }, '← fleet')),
    head,
    h('div', { class: 'actions' }, button, note),
    section('Findings', findings),
    section(
      'Chain, leaf → root',
      h(
        'p',
        { class: 'muted' },
        "Each certificate's bar shows how much of its validity has passed; its source says whether the server sent it, it was fetched through AIA, or it came from the trust store.",
      ),
      chain,
    ),
    section('History', historyChart, historyTable),
    section('Events', events),
  ]);
  let chart = null;

  button.addEventListener('click', async () => {
    button.disabled = true;
    clear(note);
    append(note, ['checking…']);
    try {
      await api(`/targets/${encodeURIComponent(id)}/check`, { method: 'POST' });
      clear(note);
      append(note, [`checked at ${new Date().toISOString().slice(11, 19)} UTC`]);
      await view.refresh();
    } catch (e) {
      clear(note);
      append(note, [`the check failed: ${e.message}`]);
    } finally {
      button.disabled = false;
    }
  });

  const view = {
    async refresh() {
      const [t, hist, ev] = await Promise.all([
        api(`/targets/${encodeURIComponent(id)}`),
        api(`/targets/${encodeURIComponent(id)}/history?limit=100`),
        api(`/targets/${encodeURIComponent(id)}/events?limit=50`),
      ]);
      targetNames.set(t.id, t.target);
      document.title = `certvet: ${visible(t.target)}`;
      clear(head);
      append(head, [
        h('h1', null, statusBadge(t.status), ' ', h('span', { id: 'target-name' }, t.target)),
        h(
          'dl',
          { class: 'facts inline' },
          fact('group', t.group),
          Object.entries(t.labels ?? {}).map(([k, v]) => fact(k, v)),
          fact('answered', t.up === null ? '—' : t.up ? 'yes' : 'no'),
          fact('checked', t.checkedAt ? `${utc(t.checkedAt)} (${relative(t.checkedAt)})` : 'not yet'),
          fact('next check', `${utc(t.nextRunAt)} (${relative(t.nextRunAt)})`),
          fact('duration', t.durationMs === null ? '—' : `${t.durationMs} ms`),
          t.consecutiveErrors ? fact('errors in a row', String(t.consecutiveErrors)) : null,
          t.last?.result?.tls?.protocol
            ? fact('TLS', `${t.last.result.tls.protocol} ${t.last.result.tls.cipher ?? ''}`)
            : null,
        ),
      ]);
      const r = t.last?.result;
      clear(findings);
      append(findings, [
        !r
          ? h('p', { class: 'muted' }, 'Not checked yet.')
          : r.findings.length
            ? h('ul', { class: 'findings', id: 'findings-list' }, r.findings.map(findingItem))
            : h('p', { class: 'ok-text' }, 'No findings.'),
      ]);
      clear(chain);
      append(chain, [r ? chainView(r.chain, r.findings) : h('p', { class: 'muted' }, 'Not checked yet.')]);
      renderHistory(hist.items);
      clear(events);
      append(events, [eventList(ev.items)]);
    },
  };

  function renderHistory(items) {
    const asc = items.slice().reverse();
    const data = [
      asc.map((c) => Date.parse(c.checkedAt) / 1000),
      asc.map((c) => c.durationMs),
      asc.map((c) => {
        const chainCerts = c.result?.chain ?? [];
        if (!chainCerts.length) return null;
        return Math.min(...chainCerts.map((x) => daysUntil(x.notAfter, Date.parse(c.checkedAt))));
      }),
    ];
    if (asc.length >= 2) {
      if (!chart) {
        clear(historyChart);
        chart = makeChart(
          historyChart,
          {
            height: 180,
            scales: { x: { time: true }, ms: { auto: true }, days: { auto: true } },
            axes: [
              { stroke: cssVar('--fg', '#222') },
              { scale: 'ms', label: 'check duration (ms)', stroke: cssVar('--fg', '#222') },
              {
                scale: 'days',
                side: 1,
                label: 'days left (path)',
                grid: { show: false },
                stroke: cssVar('--fg', '#222'),
              },
            ],
            series: [
              {},
              { label: 'duration (ms)', scale: 'ms', stroke: cssVar('--leaf', '#4c8bf5'), width: 1.5 },
              {
                label: 'days left (first to expire)',
                scale: 'days',
                stroke: cssVar('--ca', '#e8a33d'),
                width: 1.5,
              },
            ],
          },
          data,
        );
      } else chart.setData(data);
    }
    clear(historyTable);
    historyTable.appendChild(
      h(
        'table',
        { class: 'grid compact' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['Checked', 'Status', 'Answered', 'Duration', 'Findings', 'Leaf'].map((x) => h('th', null, x)),
          ),
        ),
        h(
          'tbody',
          null,
          items.slice(0, 30).map((c, i) => {
            const older = items[i + 1];
            const changed = older && older.chainSha256[0] !== c.chainSha256[0];
            return h(
              'tr',
              null,
              h('td', null, utc(c.checkedAt)),
              h('td', null, statusBadge(c.status)),
              h('td', null, c.up ? 'yes' : 'no'),
              h('td', null, `${c.durationMs} ms`),
              h('td', null, findingsSummary(c.result?.findings ?? [])),
              h(
                'td',
                { class: 'mono' },
                c.chainSha256[0] ? certLink(c.chainSha256[0], c.chainSha256[0].slice(0, 16)) : '—',
                changed ? h('span', { class: 'badge event' }, 'new leaf') : null,
              ),
            );
          }),
        ),
      ),
    );
  }
  return view;
}

function eventList(items) {
  if (!items.length) return h('p', { class: 'muted' }, 'No events.');
  return h(
    'ol',
    { class: 'events' },
    items.map((e) =>
      h(
        'li',
        { class: `event-item event-${e.type}`, data: { type: e.type, target: e.targetId } },
        h('span', { class: 'when', title: utc(e.at) }, utc(e.at)),
        eventBadge(e.type),
        h(
          'span',
          { class: 'who' },
          targetLink(e.targetId, e.target),
          h('span', { class: 'muted' }, ` (${e.group})`),
        ),
        h(
          'span',
          { class: 'transition' },
          e.oldStatus && e.oldStatus !== e.newStatus ? [statusBadge(e.oldStatus), ' → '] : null,
          statusBadge(e.newStatus),
        ),
        h('div', { class: 'message' }, e.message),
      ),
    ),
  );
}

function eventsView(root) {
  const typeSel = h(
    'select',
    { id: 'filter-event', 'aria-label': 'event type', onchange: () => render() },
    h('option', { value: '' }, 'every type'),
    [
      'status-changed',
      'expiry-threshold',
      'rotated',
      'issuer-changed',
      'chain-changed',
      'key-reused',
      'revoked',
      'reminder',
    ].map((t) => h('option', { value: t }, t)),
  );
  const list = h('div', { id: 'event-feed' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'load older events');
  append(root, [h('h1', null, 'Events'), h('div', { class: 'filters' }, typeSel), list, more]);
  let items = [];
  let next = null;
  let extra = false;
  const render = () => {
    clear(list);
    append(list, [eventList(typeSel.value ? items.filter((e) => e.type === typeSel.value) : items)]);
    more.hidden = !next;
  };
  more.addEventListener('click', async () => {
    const page = await api(`/events${q({ limit: 100, cursor: next })}`);
    items = items.concat(page.items);
    next = page.next;
    extra = true;
    render();
  });
  return {
    async refresh() {
      if (extra) return; // older pages loaded: leave the list as the user paged it
      const page = await api(`/events?limit=100`);
      items = page.items;
      next = page.next;
      render();
    },
  };
}

function certificatesView(root, params) {
  const state = {
    q: params.get('q') ?? '',
    within: params.get('within') ?? '',
    served: params.get('served') ?? '',
    sort: 'notAfter',
    dir: 1,
  };
  const keepInUrl = () =>
    history.replaceState(
      null,
      '',
      `#/certificates${q({ q: state.q, within: state.within, served: state.served })}`,
    );
  let typing = null;
  const text = h('input', {
    id: 'cert-search',
    type: 'search',
    placeholder: 'subject, name, issuer or serial…',
    'aria-label': 'search certificates',
    value: state.q,
    oninput: () => {
      clearTimeout(typing);
      typing = setTimeout(() => {
        state.q = text.value.trim();
        keepInUrl();
        view.refresh().catch(showError);
      }, 250);
    },
  });
  const within = h(
    'select',
    {
      id: 'cert-within',
      'aria-label': 'expires within',
      onchange: () => {
        state.within = within.value;
        keepInUrl();
        view.refresh().catch(showError);
      },
    },
    h('option', { value: '' }, 'any expiry'),
    ['7', '14', '30', '90', '365'].map((d) => h('option', { value: d }, `expires within ${d} d`)),
  );
  within.value = state.within;
  const served = h(
    'select',
    {
      id: 'cert-served',
      'aria-label': 'served',
      onchange: () => {
        state.served = served.value;
        keepInUrl();
        view.refresh().catch(showError);
      },
    },
    h('option', { value: '' }, 'served or not'),
    h('option', { value: 'true' }, 'served now'),
    h('option', { value: 'false' }, 'no longer served'),
  );
  served.value = state.served;
  const shown = h('span', { class: 'muted' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'load more');
  const columns = [
    {
      key: 'subject',
      title: 'Subject',
      value: (c) => c.subject.toLowerCase(),
      cell: (c) => certLink(c.sha256, c.subject || '(empty subject)'),
      class: 'wrap',
    },
    {
      key: 'issuer',
      title: 'Issuer',
      value: (c) => c.issuer.toLowerCase(),
      cell: (c) => h('span', { class: 'dn' }, c.issuer),
      class: 'wrap',
    },
    {
      key: 'notAfter',
      title: 'Expires',
      value: (c) => Date.parse(c.notAfter),
      cell: (c) => {
        const d = daysUntil(c.notAfter);
        return [utc(c.notAfter), ' ', h('span', { class: daysClass(d) }, daysText(d))];
      },
    },
    { key: 'kind', title: 'Kind', value: (c) => (c.isCA ? 1 : 0), cell: (c) => (c.isCA ? 'CA' : 'leaf') },
    {
      key: 'names',
      title: 'Names',
      value: null,
      cell: (c) => sanText(c.subjectAltNames) || '—',
      class: 'wrap',
    },
    {
      key: 'lastSeen',
      title: 'Last seen',
      value: (c) => c.lastSeen,
      cell: (c) => h('span', { title: utc(c.lastSeen) }, relative(c.lastSeen)),
    },
    {
      key: 'served',
      title: 'Served by',
      value: (c) => c.servedBy.length,
      cell: (c) => servedByLinks(c.servedBy),
      class: 'wrap',
    },
  ];
  let rows = [];
  let next = null;
  const table = sortableTable(columns, state, () => table.fill(rows));
  table.table.id = 'certificates';
  append(root, [
    h('h1', null, 'Certificates'),
    h(
      'p',
      { class: 'muted' },
      'Every certificate the service has seen, by SHA-256: first and last seen, and which targets serve it now.',
    ),
    h('div', { class: 'filters' }, text, within, served, shown),
    h('div', { class: 'scroll' }, table.table),
    more,
  ]);
  const params2 = () => ({
    q: state.q,
    expiresWithinDays: state.within,
    served: state.served,
    limit: 200,
  });
  const render = () => {
    table.fill(rows);
    clear(shown);
    append(shown, [`${rows.length}${next ? '+' : ''} certificate${rows.length === 1 ? '' : 's'}`]);
    more.hidden = !next;
  };
  more.addEventListener('click', async () => {
    const page = await api(`/certificates${q({ ...params2(), cursor: next })}`);
    rows = rows.concat(page.items);
    next = page.next;
    render();
  });
  const view = {
    async refresh() {
      if (!targetNames.size) {
        const t = await api('/targets?limit=500');
        for (const r of t.items) targetNames.set(r.id, r.target);
      }
      const page = await api(`/certificates${q(params2())}`);
      rows = page.items;
      next = page.next;
      render();
    },
  };
  return view;
}

function certificateView(root, sha256) {
  const box = h('div', { id: 'certificate' });
  append(root, [h('p', null, h('a', { href: '#/certificates' }, '← certificates')), box]);
  return {
    async refresh() {
      const c = await api(`/certificates/${encodeURIComponent(sha256)}`);
      const d = daysUntil(c.notAfter);
      clear(box);
      append(box, [
        h('h1', { class: 'dn' }, c.subject || '(empty subject)'),
        section(
          'Certificate',
          validityBar(c),
          h(
            'dl',
            { class: 'facts' },
            fact('issuer', c.issuer),
            fact('serial', c.serialNumber),
            fact('not before', utc(c.notBefore)),
            fact('not after', `${utc(c.notAfter)} (${daysText(d)})`),
            fact('kind', c.isCA ? 'CA certificate' : 'leaf certificate'),
            fact('names', sanText(c.subjectAltNames) || '—'),
            fact(
              'key',
              `${c.publicKey?.type ?? '?'}${c.publicKey?.bits ? ` ${c.publicKey.bits}` : ''}${c.publicKey?.curve ? ` ${c.publicKey.curve}` : ''}`,
            ),
            fact('key SHA-256 (SPKI)', c.spkiSha256 ?? '—'),
            fact('SHA-256', c.sha256),
            fact('first seen', utc(c.firstSeen)),
            fact('last seen', utc(c.lastSeen)),
            [h('dt', null, 'served by'), h('dd', null, servedByLinks(c.servedBy))],
          ),
        ),
      ]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Routing and the periodic refresh.

const REFRESH_MS = 5000;
let current = null;
let timer = null;
let generation = 0;

function parseRoute(hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const qi = raw.indexOf('?');
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const params = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, params };
}

async function route() {
  const gen = ++generation;
  clearTimeout(timer);
  destroyCharts();
  showError(null);
  const root = clear(document.getElementById('view'));
  const { parts, params } = parseRoute(location.hash);
  let nav = 'fleet';
  document.title = 'certvet';
  if (parts[0] === 'target' && parts[1]) current = targetView(root, parts[1]);
  else if (parts[0] === 'certificates') {
    nav = 'certificates';
    current = certificatesView(root, params);
  } else if (parts[0] === 'certificate' && parts[1]) {
    nav = 'certificates';
    current = certificateView(root, parts[1]);
  } else if (parts[0] === 'events') {
    nav = 'events';
    current = eventsView(root);
  } else current = fleetView(root, params);
  for (const a of document.querySelectorAll('[data-nav]'))
    a.classList.toggle('active', a.dataset.nav === nav);
  await tick(gen);
}

async function tick(gen) {
  if (gen !== generation) return;
  if (!document.hidden) {
    try {
      await current.refresh();
      if (gen !== generation) return;
      showError(null);
      updated();
    } catch (e) {
      if (gen === generation) showError(e);
    }
  }
  if (gen === generation) timer = setTimeout(() => tick(gen), REFRESH_MS);
}

if (typeof document !== 'undefined' && document.getElementById('view')) {
  window.addEventListener('hashchange', () => route());
  // A failed request from a button or a filter: shown in the banner, not left unhandled.
  window.addEventListener('unhandledrejection', (e) => {
    e.preventDefault();
    showError(e.reason);
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) {
      clearTimeout(timer);
      tick(generation);
    }
  });
  route();
}
