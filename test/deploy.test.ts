/*
 * deploy/: the systemd unit, the Dockerfile, the sample configs, the Prometheus scrape configs and
 * alert rules, and the Grafana dashboard. Every YAML parses; the unit has its hardening and no
 * MemoryDenyWriteExecute; the Dockerfile is multi-stage, non-root, with a HEALTHCHECK; the
 * sample configs pass `serve --check-config`; promtool (when installed) checks the rules, runs
 * their unit tests and checks a Prometheus config made of scrape.yml and the rules; and every
 * metric an alert or a panel names is one src/monitor/metrics.ts defines, so a rename breaks here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { issue } from '../src/lab/pki.js';
import { REPO_ROOT } from './support/packedProject.js';

const DEPLOY = join(REPO_ROOT, 'deploy');
const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');
/** `${NAME}` as Docker and Grafana write it (a plain string, not a template). */
const placeholder = (name: string) => `$\u007b${name}}`;
const read = (...p: string[]) => readFileSync(join(REPO_ROOT, ...p), 'utf8');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

// The series src/monitor/metrics.ts defines (a histogram also as _bucket, _sum and _count).
const METRICS_SRC = read('src', 'monitor', 'metrics.ts');
const KNOWN = new Set<string>();
for (const m of METRICS_SRC.matchAll(/(?:name: |g\(\s*)'(certvet_[a-z0-9_]+)'/g)) KNOWN.add(m[1]!);
for (const m of METRICS_SRC.matchAll(/new Histogram\(\{\s*name: '(certvet_[a-z0-9_]+)'/g))
  for (const s of ['_bucket', '_sum', '_count']) KNOWN.add(m[1]! + s);
/** Series Prometheus makes itself. */
const PROMETHEUS_OWN = new Set(['up']);

/** The certvet_* names an expression (or an annotation template) mentions. */
const certvetNames = (text: string) => [
  ...new Set([...text.matchAll(/\bcertvet_[a-z0-9_]+\b/g)].map((m) => m[0])),
];

function assertKnown(text: string, where: string): void {
  for (const n of certvetNames(text))
    assert.ok(KNOWN.has(n), `${where}: ${n} is not a series of src/monitor/metrics.ts`);
}

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const NO_PROMTOOL = promtool.error || promtool.status !== 0;
const PROMTOOL_SKIP = 'promtool is not installed (apt-get install prometheus)';
function runPromtool(args: string[], cwd = REPO_ROOT): void {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
}

test('metrics.ts is read: the series the deploy files rely on are found there', () => {
  for (const n of [
    'certvet_target_status',
    'certvet_target_ok',
    'certvet_target_up',
    'certvet_last_check_timestamp_seconds',
    'certvet_findings',
    'certvet_cert_not_after_timestamp_seconds',
    'certvet_cert_days_remaining',
    'certvet_cert_revoked',
    'certvet_check_duration_seconds_bucket',
    'certvet_probe_success',
    'certvet_probe_duration_seconds',
  ])
    assert.ok(KNOWN.has(n), `${n} found in src/monitor/metrics.ts`);
  for (const l of ['index', 'subject', 'issuer', 'serial', 'sha256'])
    assert.match(METRICS_SRC, new RegExp(`CERT_LABELS = \\[[^\\]]*'${l}'`), `certificate label ${l}`);
});

test('every YAML file of deploy/ parses', () => {
  const yamls = filesUnder(DEPLOY).filter((f) => /\.ya?ml$/.test(f));
  assert.ok(yamls.length >= 5, yamls.join(', '));
  for (const f of yamls) assert.doesNotThrow(() => parse(readFileSync(f, 'utf8')), relative(REPO_ROOT, f));
});

test('deploy/ ships in the package, and the docs link to the deployment page', () => {
  const pkg = JSON.parse(read('package.json')) as { files: string[] };
  assert.ok(pkg.files.includes('deploy'), 'package.json "files" has deploy');
  assert.match(read('docs', 'serve.md'), /\]\(serve-deploy\.md\)/);
  const doc = read('docs', 'serve-deploy.md');
  for (const m of doc.matchAll(/\]\(((?:\.\.\/)?[\w./-]+)\)/g)) {
    const target = join(REPO_ROOT, 'docs', m[1]!.replace(/#.*$/, ''));
    assert.ok(existsSync(target), `docs/serve-deploy.md links to ${m[1]}, which exists`);
  }
});

/** A systemd unit as section → key → values (a key may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) {
      current = new Map();
      sections.set(s[1]!, current);
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(kv && current, `a unit line is KEY=VALUE inside a section: ${line}`);
    current.set(kv[1]!, [...(current.get(kv[1]!) ?? []), kv[2]!]);
  }
  return sections;
}

test('the systemd unit is hardened and runs the service with /etc/certvet/certvet.yaml', () => {
  const unit = parseUnit(read('deploy', 'systemd', 'certvet.service'));
  assert.deepEqual([...unit.keys()], ['Unit', 'Service', 'Install']);
  const svc = unit.get('Service')!;
  const one = (k: string) => {
    const v = svc.get(k);
    assert.ok(v, `[Service] has ${k}=`);
    return v[v.length - 1]!;
  };
  const want: Record<string, string> = {
    DynamicUser: 'yes',
    StateDirectory: 'certvet',
    ConfigurationDirectory: 'certvet',
    ProtectSystem: 'strict',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    NoNewPrivileges: 'yes',
    CapabilityBoundingSet: '',
    RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
    SystemCallFilter: '@system-service',
    ExecReload: '/bin/kill -HUP $MAINPID',
    Restart: 'on-failure',
  };
  for (const [k, v] of Object.entries(want)) assert.equal(one(k), v, `${k}=${v}`);
  assert.equal(svc.has('MemoryDenyWriteExecute'), false, 'MemoryDenyWriteExecute breaks V8: not set');
  assert.equal(svc.has('User'), false, 'DynamicUser, no fixed User=');
  assert.match(one('ExecStart'), /^\/\S+ .*\bcertvet serve -c \/etc\/certvet\/certvet\.yaml$/);
  assert.equal(unit.get('Install')!.get('WantedBy')?.[0], 'multi-user.target');
});

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
test('systemd-analyze verify accepts the unit: no unknown key, no bad value, nothing ignored', {
  skip:
    analyze.error || analyze.status !== 0
      ? 'systemd-analyze is not installed (apt-get install systemd)'
      : false,
}, () => {
  // systemd reads every directive and reports what it would ignore (an unknown key, a system-call
  // set or an address family it does not know) on stderr, with exit status 0: so stderr must be
  // empty. A copy under its own name, since the verdict names the unit by its file name.
  const dir = mkdtempSync(join(tmpdir(), 'certvet-unit-'));
  try {
    const unit = join(dir, 'certvet.service');
    copyFileSync(join(REPO_ROOT, 'deploy', 'systemd', 'certvet.service'), unit);
    const ok = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stderr.trim(), '', 'systemd-analyze verify said something');
    // And the check would see a mistake: a misspelt directive is reported.
    writeFileSync(unit, readFileSync(unit, 'utf8').replace('ProtectHome=yes', 'ProtectHomme=yes'));
    const bad = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', timeout: 60_000 });
    assert.match(bad.stderr, /Unknown key 'ProtectHomme'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Dockerfile instructions (continuations joined): those before the first FROM, and each stage's. */
function dockerfile(text: string): {
  preamble: { op: string; args: string }[];
  stages: { op: string; args: string }[][];
} {
  const preamble: { op: string; args: string }[] = [];
  const stages: { op: string; args: string }[][] = [];
  for (const raw of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    assert.ok(m, `a Dockerfile line is INSTRUCTION ARGS: ${line}`);
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') stages.push([]);
    (stages[stages.length - 1] ?? preamble).push({ op, args: m[2]! });
  }
  return { preamble, stages };
}

test('the Dockerfile: multi-stage, compilers only in the build stage, non-root, HEALTHCHECK on /healthz', () => {
  const { preamble, stages } = dockerfile(read('deploy', 'Dockerfile'));
  assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
  const all = [...preamble, ...stages.flat()];
  const [build, runtime] = [stages[0]!, stages[stages.length - 1]!];
  assert.deepEqual(
    preamble.map((i) => `${i.op} ${i.args}`),
    ['ARG NODE_IMAGE=node:22-slim'],
  );
  assert.equal(build[0]!.args, `${placeholder('NODE_IMAGE')} AS build`);
  assert.equal(runtime[0]!.args, placeholder('NODE_IMAGE'));
  assert.ok(
    build.some(
      (i) => i.op === 'RUN' && /apt-get install[^&]*\bpython3\b[^&]*\bmake\b[^&]*\bg\+\+/.test(i.args),
    ),
    'the build stage installs python3, make and g++',
  );
  assert.ok(
    build.some((i) => i.op === 'COPY' && /certvet-\*\.tgz/.test(i.args)),
    'the npm pack tarball is copied in',
  );
  assert.ok(build.some((i) => i.op === 'RUN' && /npm install --global .*certvet-\*\.tgz/.test(i.args)));
  assert.ok(
    !runtime.some((i) => i.op === 'RUN' && /\b(g\+\+|make|python3|build-essential)\b/.test(i.args)),
    'no compiler in the runtime image',
  );
  assert.ok(runtime.some((i) => i.op === 'COPY' && /^--from=build /.test(i.args)));
  assert.equal(
    all.some((i) => i.op === 'ADD'),
    false,
    'no ADD (and so no ADD of a URL): COPY only',
  );
  const users = runtime.filter((i) => i.op === 'USER');
  assert.ok(users.length > 0, 'USER set in the runtime stage');
  assert.doesNotMatch(users[users.length - 1]!.args, /^(root|0)(:|$)/, 'the last USER is not root');
  assert.deepEqual(
    runtime.filter((i) => i.op === 'EXPOSE').map((i) => i.args),
    ['9219'],
  );
  const health = runtime.filter((i) => i.op === 'HEALTHCHECK');
  assert.equal(health.length, 1);
  assert.match(health[0]!.args, /CMD \["node", "-e", ".*fetch\('http:\/\/127\.0\.0\.1:9219\/healthz'\)/);
  assert.doesNotMatch(health[0]!.args, /\b(curl|wget)\b/);
  const entry = runtime.find((i) => i.op === 'ENTRYPOINT')?.args ?? '';
  const cmd = runtime.find((i) => i.op === 'CMD')?.args ?? '';
  assert.deepEqual(
    [...JSON.parse(entry), ...JSON.parse(cmd)],
    ['certvet', 'serve', '-c', '/etc/certvet/certvet.yaml'],
  );
  // What the build context must hold, and the config that goes in.
  const ignore = read('deploy', 'Dockerfile.dockerignore').split('\n');
  for (const l of ['*', '!certvet-*.tgz', '!deploy/docker/'])
    assert.ok(ignore.includes(l), `dockerignore: ${l}`);
  const copied = runtime.find((i) => i.op === 'COPY' && i.args.includes('deploy/docker/certvet.yaml'));
  assert.match(copied?.args ?? '', / \/etc\/certvet\/$/);
  const config = parse(read('deploy', 'docker', 'certvet.yaml')) as { listen: string; store: string };
  assert.equal(config.listen, '0.0.0.0:9219', 'the container listens on all its interfaces, explicitly');
  assert.equal(config.store, '/var/lib/certvet/certvet.db', 'the store is in the VOLUME');
  assert.ok(runtime.some((i) => i.op === 'VOLUME' && i.args.includes('/var/lib/certvet')));
});

describe('the sample configs pass serve --check-config', () => {
  const checkConfig = async (files: [string, string][], expect: RegExp) => {
    const dir = mkdtempSync(join(tmpdir(), 'certvet-deploy-'));
    try {
      for (const [from, to] of files) cpSync(join(REPO_ROOT, from), join(dir, to));
      mkdirSync(join(dir, 'ca'), { recursive: true });
      writeFileSync(
        join(dir, 'ca', 'corp-root.pem'),
        (await issue({ subject: 'CN=Corp Root', ca: true })).pem,
      );
      if (!existsSync(join(dir, 'targets.txt')))
        writeFileSync(join(dir, 'targets.txt'), '# stub\nwww.example.com:443\nexample.org\n');
      const r = spawnSync(
        process.execPath,
        [CLI, 'serve', '-c', join(dir, 'certvet.yaml'), '--check-config'],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      assert.match(r.stdout, expect);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test('deploy/certvet.yaml (the systemd one: its files under /etc/certvet, the store in the StateDirectory)', async () => {
    const config = parse(read('deploy', 'certvet.yaml')) as {
      listen: string;
      store: string;
      groups: { targetsFile?: string; ca?: string[] }[];
    };
    assert.equal(config.store, '/var/lib/certvet/certvet.db');
    assert.equal(config.listen, '127.0.0.1:9219');
    // Relative, so /etc/certvet/… once installed there; stubbed in a temporary directory here.
    assert.ok(config.groups.some((g) => g.targetsFile === 'targets.txt'));
    assert.ok(config.groups.some((g) => g.ca?.includes('ca/corp-root.pem')));
    await checkConfig(
      [['deploy/certvet.yaml', 'certvet.yaml']],
      /: ok — 4 targets in 2 groups, 1 probe module, 0 notification channels/,
    );
  });

  test('deploy/docker/certvet.yaml with the image targets.txt', async () => {
    await checkConfig(
      [
        ['deploy/docker/certvet.yaml', 'certvet.yaml'],
        ['deploy/docker/targets.txt', 'targets.txt'],
      ],
      /: ok — 1 target in 1 group/,
    );
  });
});

interface Relabel {
  source_labels?: string[];
  action?: string;
  modulus?: number;
  regex?: string;
  target_label?: string;
  replacement?: string;
}
interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  params?: { module?: string[] };
  static_configs: { targets: string[] }[];
  relabel_configs?: Relabel[];
}

test('scrape.yml: /metrics of the service, and /probe sharded with hashmod (replica 0 of 3)', () => {
  const scrape = parse(read('deploy', 'prometheus', 'scrape.yml')) as { scrape_configs: ScrapeConfig[] };
  const service = scrape.scrape_configs.find((s) => s.job_name === 'certvet');
  assert.ok(service);
  assert.equal(service.metrics_path ?? '/metrics', '/metrics');
  assert.deepEqual(service.static_configs[0]!.targets, ['127.0.0.1:9219']);
  const probe = scrape.scrape_configs.find((s) => s.metrics_path === '/probe');
  assert.ok(probe);
  const modules = Object.keys((parse(read('deploy', 'certvet.yaml')) as { modules: object }).modules);
  assert.ok(modules.includes(probe.params!.module![0]!), 'the module is one of deploy/certvet.yaml');
  const r = probe.relabel_configs!;
  const hash = r.findIndex((x) => x.action === 'hashmod');
  const keep = r.findIndex((x) => x.action === 'keep');
  assert.ok(hash >= 0 && keep > hash, 'hashmod, then keep');
  assert.deepEqual(r[hash]!.source_labels, ['__address__']);
  assert.equal(r[hash]!.modulus, 3);
  assert.deepEqual(r[keep]!.source_labels, [r[hash]!.target_label]);
  assert.equal(r[keep]!.regex, '0');
  const param = r.findIndex((x) => x.target_label === '__param_target');
  const address = r.findIndex((x) => x.target_label === '__address__');
  assert.ok(param > keep && address > param, 'the target parameter is set before the address is replaced');
  assert.match(r[address]!.replacement!, /:9219$/);
});

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: Record<string, string>;
}
const RULES = (
  parse(read('deploy', 'prometheus', 'alerts.yml')) as { groups: { rules: Rule[] }[] }
).groups.flatMap((g) => g.rules);

test('alerts.yml: the alerts the service needs, over series metrics.ts defines', () => {
  const byExpr = (re: RegExp) => RULES.filter((r) => re.test(r.expr.replace(/\s+/g, ' ')));
  const expect = (re: RegExp, severity: string) => {
    const found = byExpr(re);
    assert.equal(found.length, 1, `one rule whose expr matches ${re}`);
    assert.equal(found[0]!.labels.severity, severity, `${found[0]!.alert}: severity ${severity}`);
    return found[0]!;
  };
  expect(/^certvet_cert_days_remaining < 14\b/, 'warning');
  expect(/^certvet_cert_days_remaining < 7$/, 'critical');
  expect(/^certvet_cert_revoked == 1$/, 'critical');
  const failing = expect(/^certvet_target_status >= 2\b/, 'critical');
  assert.ok(failing.for, 'verification failing holds for some minutes');
  assert.match(failing.annotations.description!, /certvet_findings\{.*\| query \}\}\{\{ \.Labels\.code \}\}/);
  expect(/^certvet_probe_success == 0$/, 'critical');
  expect(/^certvet_target_up == 0$/, 'critical');
  expect(/^time\(\) - certvet_last_check_timestamp_seconds > 3 \* \d+\b/, 'warning');
  // Every certvet series named (in expressions and annotation queries) exists, and nothing else
  // does but Prometheus's own.
  const certLabels = new Set(['index', 'subject', 'issuer', 'serial', 'sha256']);
  for (const r of RULES) {
    assertKnown(r.expr, r.alert);
    for (const a of Object.values(r.annotations)) assertKnown(a, `${r.alert} annotation`);
    const own = [...PROMETHEUS_OWN].filter((n) => new RegExp(`(^|[^\\w])${n}\\{`).test(r.expr));
    const series = [...certvetNames(r.expr), ...own];
    assert.ok(series.length > 0, `${r.alert} reads a series`);
    // Annotations use labels its series have: job and instance (Prometheus's), target and group
    // (certvet's), the certificate labels on certificate series.
    const labels = new Set(['job', 'instance']);
    if (own.length === 0) for (const l of ['target', 'group']) labels.add(l);
    if (/certvet_cert_/.test(r.expr)) for (const l of certLabels) labels.add(l);
    for (const m of Object.values(r.annotations)
      .join(' ')
      .matchAll(/\$labels\.(\w+)/g))
      assert.ok(labels.has(m[1]!), `${r.alert}: $labels.${m[1]} is a label of its series`);
  }
  // The certificate alerts name the certificate.
  for (const r of byExpr(/certvet_cert_/))
    for (const l of ['target', 'subject', 'serial'])
      assert.match(r.annotations.description!, new RegExp(`\\$labels\\.${l}\\b`), `${r.alert} names ${l}`);
});

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}

test('the Grafana dashboard: schemaVersion, a datasource input, panels over known series', () => {
  const dash = JSON.parse(read('deploy', 'grafana', 'certvet-dashboard.json')) as {
    schemaVersion: number;
    __inputs: { name: string; type: string; pluginId: string }[];
    panels: Panel[];
    templating: { list: { name: string; query: { query: string } | string }[] };
    uid: string;
    title: string;
  };
  assert.equal(typeof dash.schemaVersion, 'number');
  assert.ok(dash.schemaVersion >= 36, 'schemaVersion of a current Grafana');
  assert.deepEqual(
    dash.__inputs.map((i) => [i.name, i.type, i.pluginId]),
    [['DS_PROMETHEUS', 'datasource', 'prometheus']],
  );
  assert.ok(dash.uid && dash.title);
  const panels = dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  assert.ok(panels.length >= 6);
  assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids are unique');
  const exprs: string[] = [];
  for (const p of panels) {
    assert.equal(p.datasource?.uid, placeholder('DS_PROMETHEUS'), `${p.title}: the input datasource`);
    assert.ok(p.targets?.length, `${p.title} has queries`);
    for (const t of p.targets) {
      assert.ok(t.expr, `${p.title}: a query with an expr`);
      assertKnown(t.expr, `panel "${p.title}"`);
      assert.ok(certvetNames(t.expr).length > 0, `panel "${p.title}" reads a certvet series`);
      exprs.push(t.expr);
    }
  }
  for (const v of dash.templating.list)
    assertKnown(typeof v.query === 'string' ? v.query : v.query.query, `$${v.name}`);
  const all = exprs.join('\n');
  for (const n of [
    'certvet_target_status',
    'certvet_cert_days_remaining',
    'certvet_check_duration_seconds_bucket',
    'certvet_probe_success',
  ])
    assert.ok(all.includes(n), `a panel shows ${n}`);
  assert.match(all, /histogram_quantile\(0\.9, sum by \(le\) \(rate\(certvet_check_duration_seconds_bucket/);
});

describe('promtool', { skip: NO_PROMTOOL ? PROMTOOL_SKIP : false }, () => {
  test('check rules deploy/prometheus/alerts.yml', () => {
    runPromtool(['check', 'rules', 'deploy/prometheus/alerts.yml']);
  });

  test('test rules deploy/prometheus/alerts.test.yml (the alerts fire, and only when they should)', () => {
    runPromtool(['test', 'rules', 'alerts.test.yml'], join(DEPLOY, 'prometheus'));
  });

  test('check config: scrape.yml alone, and in a prometheus.yml with the rules', () => {
    runPromtool(['check', 'config', 'deploy/prometheus/scrape.yml']);
    const dir = mkdtempSync(join(tmpdir(), 'certvet-prom-'));
    try {
      const scrape = parse(read('deploy', 'prometheus', 'scrape.yml')) as { scrape_configs: unknown[] };
      writeFileSync(
        join(dir, 'prometheus.yml'),
        stringify({
          global: { scrape_interval: '1m', evaluation_interval: '1m' },
          rule_files: [join(DEPLOY, 'prometheus', 'alerts.yml')],
          scrape_configs: scrape.scrape_configs,
        }),
      );
      runPromtool(['check', 'config', join(dir, 'prometheus.yml')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the dashboard's queries are valid PromQL (checked as recording rules)", () => {
    const dash = JSON.parse(read('deploy', 'grafana', 'certvet-dashboard.json')) as { panels: Panel[] };
    const rules = dash.panels.flatMap((p, i) =>
      (p.targets ?? []).map((t, j) => ({
        record: `certvet_dashboard:panel${i}_${j}`,
        expr: t.expr.replaceAll('$__rate_interval', '5m').replaceAll('$job', '.*').replaceAll('$group', '.*'),
      })),
    );
    const dir = mkdtempSync(join(tmpdir(), 'certvet-prom-'));
    try {
      const file = join(dir, 'dashboard.rules.yml');
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
      runPromtool(['check', 'rules', file], dirname(file));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
