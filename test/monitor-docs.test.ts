/*
 * docs/serve.md's examples: the example config is loaded and planned as written (with the files
 * it names made up in a temporary directory), and its Prometheus scrape configs are valid YAML
 * whose settings make them work (the probe's relabelling keeps one shard, sets the target
 * parameter and sends the scrape to certvet).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { buildServePlan } from '../src/cli/servePlan.js';
import { issue } from '../src/lab/pki.js';
import { loadConfig } from '../src/monitor/config.js';
import { probeAllowList } from '../src/monitor/probeAllow.js';
import { REPO_ROOT } from './support/packedProject.js';

const doc = readFileSync(join(REPO_ROOT, 'docs', 'serve.md'), 'utf8');
const block = (tag: string) => {
  const m = new RegExp(`<!-- ${tag} -->\\s*\`\`\`yaml\\n([\\s\\S]*?)\`\`\`\\s*<!-- /`).exec(doc);
  assert.ok(m, `docs/serve.md has <!-- ${tag} -->`);
  return m[1]!;
};

test('docs/serve.md: the example config loads and plans as written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certvet-servedoc-'));
  try {
    writeFileSync(join(dir, 'corp-root.pem'), (await issue({ subject: 'CN=Corp Root', ca: true })).pem);
    writeFileSync(join(dir, 'partners.txt'), 'partner-a.example:443\npartner-b.example:8443\n');
    writeFileSync(join(dir, 'certvet.yaml'), block('example-config'));
    const config = loadConfig(join(dir, 'certvet.yaml'));
    const plan = await buildServePlan(config);
    assert.deepEqual(
      plan.groups.map((g) => g.targets.length),
      [3, 2],
    );
    assert.equal(config.groups[0]!.interval, 60_000);
    assert.equal(config.auth?.tokens[0]?.env, 'CERTVET_TOKEN');
    assert.ok(plan.modules.has('corp'));
    assert.equal(probeAllowList(config.probe.allow).allows('api.corp.example:443'), true);
    for (const g of plan.groups) await g.checker.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('docs/serve.md: the Prometheus scrape configs', () => {
  const service = parse(block('example-prometheus: service')) as {
    scrape_configs: { static_configs: { targets: string[] }[] }[];
  };
  assert.deepEqual(service.scrape_configs[0]!.static_configs[0]!.targets, ['127.0.0.1:9219']);
  const probe = parse(block('example-prometheus: probe')) as {
    scrape_configs: {
      metrics_path: string;
      params: { module: string[] };
      relabel_configs: {
        action?: string;
        modulus?: number;
        target_label?: string;
        replacement?: string;
        regex?: string;
      }[];
    }[];
  };
  const p = probe.scrape_configs[0]!;
  assert.equal(p.metrics_path, '/probe');
  assert.deepEqual(p.params.module, ['corp']);
  const r = p.relabel_configs;
  assert.equal(r.find((x) => x.action === 'hashmod')?.modulus, 3);
  assert.equal(r.find((x) => x.action === 'keep')?.regex, '0');
  assert.ok(r.some((x) => x.target_label === '__param_target'));
  assert.equal(r.find((x) => x.target_label === '__address__')?.replacement, '127.0.0.1:9219');
});
