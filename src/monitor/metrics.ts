/*
 * Prometheus series of the service (prom-client): the textfile format's names (src/report/
 * prometheus.ts) — certvet_target_status, certvet_target_ok, certvet_findings{code,severity},
 * certvet_cert_not_after_timestamp_seconds and certvet_cert_days_remaining per certificate of
 * the path — plus certvet_target_up, certvet_last_check_timestamp_seconds,
 * certvet_cert_revoked, the check-duration histogram and process metrics.
 *
 * Certificate series are exported whenever a certificate was received, whatever the verdict
 * (expired, untrusted, revoked, wrong host): they come from the result's chain, which holds
 * what the server sent when no path validates. Gauges are filled at scrape time from the
 * current state, so a target removed from the config stops being exported at once. Label
 * values a certificate controls are neutralised (no control or bidi characters); prom-client
 * escapes `\`, `"` and newlines itself.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { TargetResult } from '../model/result.js';
import { neutralize } from '../report/sanitize.js';
import { endpointUp } from './up.js';

const STATUS_VALUE = { ok: 0, warning: 1, critical: 2, error: 3 } as const;

/** One target's latest state, as the series need it. */
export interface SeriesSource {
  readonly target: string;
  readonly group: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly result: TargetResult;
  /** When the check finished (ms since the epoch). */
  readonly checkedAt: number;
}

const CERT_LABELS = ['index', 'subject', 'issuer', 'serial', 'sha256'] as const;

interface SeriesSet {
  readonly status: Gauge;
  readonly ok: Gauge;
  readonly up: Gauge;
  readonly last: Gauge;
  readonly findings: Gauge;
  readonly notAfter: Gauge;
  readonly days: Gauge;
  readonly revoked: Gauge;
}

function seriesSet(
  registry: Registry,
  extraLabels: readonly string[],
  prefixLabels: readonly string[],
  collect?: () => void,
): SeriesSet {
  const base = [...prefixLabels, ...extraLabels];
  const g = (name: string, help: string, labelNames: readonly string[], fillAll?: () => void) =>
    new Gauge({
      name,
      help,
      labelNames: [...labelNames],
      registers: [registry],
      ...(fillAll ? { collect: fillAll } : {}),
    });
  return {
    // The first family's collect fills them all (families are collected in order, at each scrape).
    status: g(
      'certvet_target_status',
      'Worst status of the target: 0 ok, 1 warning, 2 critical, 3 error.',
      base,
      collect,
    ),
    ok: g('certvet_target_ok', '1 when the target has no warning, critical or error finding.', base),
    up: g('certvet_target_up', '1 when the endpoint answered a TLS handshake (certificates received).', base),
    last: g('certvet_last_check_timestamp_seconds', 'When the target was last checked.', base),
    findings: g('certvet_findings', 'Number of findings per target, code and severity.', [
      ...base,
      'code',
      'severity',
    ]),
    notAfter: g(
      'certvet_cert_not_after_timestamp_seconds',
      'notAfter of each certificate in the path (leaf index 0).',
      [...base, ...CERT_LABELS],
    ),
    days: g('certvet_cert_days_remaining', 'Whole days until each certificate in the path expires.', [
      ...base,
      ...CERT_LABELS,
    ]),
    revoked: g('certvet_cert_revoked', '1 when a certificate of the path was found revoked (OCSP, CRL).', [
      ...base,
      ...CERT_LABELS,
    ]),
  };
}

/** Label values from a source: target (and group, for the service), plus the group's labels. */
type LabelValues = Record<string, string>;

function fill(set: SeriesSet, s: SeriesSource, base: LabelValues, nowMs: number): void {
  const r = s.result;
  set.status.set(base, STATUS_VALUE[r.status]);
  set.ok.set(base, r.status === 'ok' ? 1 : 0);
  set.up.set(base, endpointUp(r) ? 1 : 0);
  set.last.set(base, Math.floor(s.checkedAt / 1000));
  const counts = new Map<string, { code: string; severity: string; n: number }>();
  for (const f of r.findings) {
    const k = `${f.code}\u0000${f.severity}`;
    const c = counts.get(k);
    if (c) c.n++;
    else counts.set(k, { code: f.code, severity: f.severity, n: 1 });
  }
  for (const c of counts.values())
    set.findings.set({ ...base, code: neutralize(c.code), severity: c.severity }, c.n);
  for (const [i, c] of r.chain.entries()) {
    const labels = {
      ...base,
      index: String(i),
      subject: neutralize(c.subject),
      issuer: neutralize(c.issuer),
      serial: neutralize(c.serialNumber),
      sha256: c.sha256,
    };
    const notAfterMs = Date.parse(c.notAfter);
    set.notAfter.set(labels, Math.floor(notAfterMs / 1000));
    set.days.set(labels, Math.floor((notAfterMs - nowMs) / 86400_000));
    set.revoked.set(labels, c.revocation?.status === 'revoked' ? 1 : 0);
  }
}

/** Label names of a group's labels that must not shadow ours. */
const RESERVED = new Set(['target', 'group', 'code', 'severity', ...CERT_LABELS]);

/**
 * The service's registry: filled from `sources()` at every scrape. `relabel()` (a reload whose
 * groups name other labels) rebuilds only the per-target gauges; the check-duration histogram,
 * the store-error counter and the process metrics keep what they counted.
 */
export function createServiceMetrics(o: {
  sources: () => Iterable<SeriesSource>;
  labelNames: readonly string[];
  now: () => number;
}): {
  registry: Registry;
  observeDuration(target: string, group: string, seconds: number): void;
  forget(target: string, group: string): void;
  /** A check whose result could not be stored (it is still shown and exported). */
  storeError(): void;
  relabel(labelNames: readonly string[]): void;
} {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'certvet_process_' });
  const duration = new Histogram({
    name: 'certvet_check_duration_seconds',
    help: 'Time taken to check the target.',
    labelNames: ['target', 'group'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: 'certvet_store_errors_total',
    help: 'Store reads or writes of a check that failed (its result is shown, exported and announced all the same).',
    registers: [registry],
  });
  let gauges: Gauge[] = [];
  const build = (labelNames: readonly string[]) => {
    for (const g of gauges) registry.removeSingleMetric((g as unknown as { name: string }).name);
    const extra = labelNames.filter((l) => !RESERVED.has(l)).map((l) => `label_${l}`);
    const set = seriesSet(registry, extra, ['target', 'group'], () => {
      for (const g of gauges) g.reset();
      const now = o.now();
      for (const s of o.sources()) {
        const base: LabelValues = { target: neutralize(s.target), group: s.group };
        for (const l of labelNames) if (!RESERVED.has(l)) base[`label_${l}`] = neutralize(s.labels[l] ?? '');
        fill(set, s, base, now);
      }
    });
    gauges = Object.values(set) as Gauge[];
  };
  build(o.labelNames);
  return {
    registry,
    observeDuration: (target, group, seconds) =>
      duration.observe({ target: neutralize(target), group }, seconds),
    forget: (target, group) => duration.remove({ target: neutralize(target), group }),
    storeError: () => storeErrors.inc(),
    relabel: build,
  };
}

/** The series of one `/probe` answer (blackbox_exporter style), in their own registry. */
export async function probeExposition(
  result: TargetResult | null,
  success: boolean,
  durationSeconds: number,
  nowMs: number,
): Promise<{ body: string; contentType: string }> {
  const registry = new Registry();
  new Gauge({
    name: 'certvet_probe_success',
    help: '1 when the target was checked and its status is ok or warning.',
    registers: [registry],
  }).set(success ? 1 : 0);
  new Gauge({
    name: 'certvet_probe_duration_seconds',
    help: 'How long the probe took.',
    registers: [registry],
  }).set(durationSeconds);
  if (result) {
    const set = seriesSet(registry, [], ['target']);
    fill(
      set,
      { target: result.target, group: '', labels: {}, result, checkedAt: nowMs },
      { target: neutralize(result.target) },
      nowMs,
    );
  }
  return { body: await registry.metrics(), contentType: registry.contentType };
}
