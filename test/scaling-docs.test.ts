/**
 * docs/scaling.md's examples, executed: the local shard-and-merge script runs as written by
 * bash with a `certvet` on PATH (this build), against real TLS servers on 127.0.0.1 (good ones,
 * one expired, one refused port); the Kubernetes manifests and the GitHub Actions workflow are
 * parsed with `yaml`, checked for the fields that make them correct, and their shell steps run
 * against the same servers (paths moved into a temporary directory, nothing else changed).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { issue, makeChain, privateKeyPem } from '../src/lab/pki.js';
import type { TargetResult } from '../src/model/result.js';
import { inShard } from '../src/scan/shard.js';
import { CLI, runCli } from './support/cli.js';

const DOC = fileURLToPath(new URL('../../docs/scaling.md', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a shell script file without blocking this process (it serves the TLS endpoints). */
function runShell(shell: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(shell, args, { cwd, env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill(), 90_000);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

const RANK = { critical: 2, error: 3, warning: 1, ok: 0 } as const;
/** The exit status docs/scaling.md's table gives for a set of results. */
function expectedExit(results: readonly TargetResult[]): number {
  const s = new Set(results.map((r) => r.status));
  for (const status of ['critical', 'error', 'warning'] as const) if (s.has(status)) return RANK[status];
  return 0;
}

function readJsonl(file: string): TargetResult[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as TargetResult);
}

/** A value inside parsed YAML by a dotted path (undefined when any step is missing). */
function at(value: unknown, path: string): unknown {
  let v = value;
  for (const key of path.split('.')) v = v == null ? undefined : (v as Record<string, unknown>)[key];
  return v;
}

function list(value: unknown, path: string): unknown[] {
  const v = at(value, path);
  assert.ok(Array.isArray(v), `${path} is a list`);
  return v;
}

function yamlBlocks(doc: string): string[] {
  return [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe('docs/scaling.md', () => {
  const doc = readFileSync(DOC, 'utf8');
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let targets: string[];
  const servers: tls.Server[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-scaling-'));
    const chain = await makeChain({ names: ['127.0.0.1'] });
    const day = 86_400_000;
    const expired = await issue({
      subject: 'CN=127.0.0.1',
      issuer: chain.intermediate,
      ips: ['127.0.0.1'],
      notBefore: new Date(Date.now() - 60 * day),
      notAfter: new Date(Date.now() - 2 * day),
    });
    const listen = async (leaf: typeof expired) => {
      const s = tls.createServer({
        key: await privateKeyPem(leaf.key),
        cert: leaf.pem + chain.intermediate.pem,
      });
      servers.push(s);
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      return `127.0.0.1:${(s.address() as { port: number }).port}`;
    };
    targets = [];
    for (let i = 0; i < 10; i++) targets.push(await listen(chain.leaf));
    targets.push(await listen(expired));
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    targets.push(`127.0.0.1:${(closed.address() as { port: number }).port}`);
    await new Promise<void>((r) => closed.close(() => r()));
    // Distinct spellings of the good endpoints, so the four shards are not too lumpy.
    for (let i = 0; i < 8; i++) targets.push(`https://${targets[i % 10]}/p${i}`);

    writeFileSync(join(dir, 'hosts.txt'), `# test targets\n${targets.join('\n')}\n`);
    writeFileSync(join(dir, 'corp-root.pem'), chain.root.pem);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'certvet'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`);
    chmodSync(join(bin, 'certvet'), 0o755);
    env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1' };
  });

  after(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Shards of one run: disjoint, together every target, each where inShard puts it. */
  function checkShards(files: string[], n: number): TargetResult[] {
    const seen = new Map<string, number>();
    const all: TargetResult[] = [];
    files.forEach((file, i) => {
      const k = i + 1;
      assert.ok(existsSync(file), `${file} was written`);
      for (const r of readJsonl(file)) {
        assert.equal(seen.has(r.target), false, `${r.target} is in shards ${seen.get(r.target)} and ${k}`);
        seen.set(r.target, k);
        assert.ok(inShard(r.target, k, n), `${r.target} belongs to shard ${k}/${n}`);
        all.push(r);
      }
    });
    assert.deepEqual([...seen.keys()].sort(), [...targets].sort(), 'the shards together are the whole file');
    return all;
  }

  function checkReports(where: string, results: readonly TargetResult[]) {
    const total = targets.length;
    const json = JSON.parse(readFileSync(join(where, 'report.json'), 'utf8')) as {
      summary: { total: number; critical: number; error: number; ok: number };
      results: TargetResult[];
    };
    assert.equal(json.summary.total, total);
    assert.equal(json.results.length, total);
    assert.ok(
      json.summary.critical >= 1 && json.summary.error >= 1 && json.summary.ok >= 10,
      'good, expired, refused',
    );
    assert.deepEqual(json.results.map((r) => r.target).sort(), results.map((r) => r.target).sort());
    const expiredOne = json.results.find((r) => r.status === 'critical')!;
    assert.ok(
      expiredOne.findings.some((f) => f.code === 'expired'),
      JSON.stringify(expiredOne.findings),
    );
    const xml = readFileSync(join(where, 'report.xml'), 'utf8');
    assert.match(xml, new RegExp(`<testsuites name="certvet" tests="${total}"`));
    assert.equal(xml.match(/<testcase /g)?.length, total);
    const html = readFileSync(join(where, 'report.html'), 'utf8');
    assert.match(html, new RegExp(`${total} targets`));
    for (const t of targets) assert.ok(html.includes(t), `${t} in report.html`);
  }

  test('the local shard-merge script runs as written: disjoint shards, one report, exit 2', {
    timeout: 120_000,
  }, async () => {
    const block = /<!-- example-sh: shard-merge -->\s*```bash\n([\s\S]*?)```\s*<!-- \/example-sh -->/.exec(
      doc,
    );
    assert.ok(block, 'the example-sh: shard-merge block is in docs/scaling.md');
    const n = Number(/^N=(\d+)$/m.exec(block[1]!)?.[1]);
    assert.ok(n >= 2, 'the script sets N');
    const work = join(dir, 'local');
    mkdirSync(work);
    for (const f of ['hosts.txt', 'corp-root.pem']) writeFileSync(join(work, f), readFileSync(join(dir, f)));
    // A stale shard of an earlier, wider run: the script removes it before merging.
    writeFileSync(join(work, `shard-${n + 1}.jsonl`), readFileSync(join(dir, 'hosts.txt')));
    writeFileSync(join(work, 'check-sharded.sh'), block[1]!);
    const run = await runShell('bash', ['check-sharded.sh'], work, env);
    const out = run.stdout + run.stderr;

    const files = Array.from({ length: n }, (_, i) => join(work, `shard-${i + 1}.jsonl`));
    const results = checkShards(files, n);
    assert.equal(existsSync(join(work, `shard-${n + 1}.jsonl`)), false, 'stale shard removed');
    // Each shard's own status, as the script prints it, is `check`'s for that shard.
    for (let k = 1; k <= n; k++) {
      const m = new RegExp(`^shard ${k}/${n}: exit (\\d+)$`, 'm').exec(run.stdout);
      assert.ok(m, `shard ${k} status line\n${out}`);
      assert.equal(Number(m[1]), expectedExit(readJsonl(files[k - 1]!)), `shard ${k}/${n}`);
    }
    // The merged status is the worst over every result (critical beats error), and the script's.
    assert.equal(expectedExit(results), 2);
    assert.match(run.stdout, /^merged: exit 2$/m, out);
    assert.equal(run.code, 2, out);
    assert.doesNotMatch(run.stderr, /also at/, 'no overlapping shards');
    checkReports(work, results);
  });

  test('what the page says about --shard, empty shards and missing files holds', async () => {
    for (const [arg, msg] of [
      ['0/4', '"0/4": K must be between 1 and N'],
      ['5/4', '"5/4": K must be between 1 and N'],
      ['a/b', '"a/b" is not K/N (e.g. 2/5)'],
    ] as const) {
      if (arg !== '5/4') assert.ok(doc.includes(msg), `the page quotes ${msg}`);
      const r = await runCli(['check', targets[0]!, '--shard', arg, '--quiet']);
      assert.equal(r.code, 64, r.stderr);
      assert.ok(r.stderr.includes(msg), r.stderr);
    }
    // A shard with no targets: exit 0 and an empty file.
    const one = targets[0]!;
    const other = [1, 2, 3, 4].find((k) => !inShard(one, k, 4))!;
    const empty = join(dir, 'empty.jsonl');
    const r = await runCli([
      'check',
      one,
      '--shard',
      `${other}/4`,
      '--format',
      'jsonl',
      '-o',
      empty,
      '--quiet',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(empty, 'utf8'), '');
    // A named file that is missing fails the merge (3, with the message the page quotes).
    const m = await runCli(['report', 'merge', empty, join(dir, 'shard-9.jsonl'), '--format', 'json']);
    assert.equal(m.code, 3);
    assert.match(doc, /cannot read result file \(jsonl\): no such file/);
    assert.match(m.stderr, /shard-9\.jsonl: cannot read result file \(jsonl\): no such file/);
  });

  test('the Kubernetes manifests: an Indexed Job of N shards, 0-based index to 1-based --shard, then a merge', {
    timeout: 120_000,
  }, async () => {
    const block = yamlBlocks(doc).find((b) => /completionMode/.test(b));
    assert.ok(block, 'the Kubernetes block');
    const docs = parseAllDocuments(block);
    for (const d of docs) assert.deepEqual(d.errors, [], String(d.errors));
    const objs: unknown[] = docs.map((d) => d.toJS());
    const byKind = (kind: string) => objs.filter((o) => at(o, 'kind') === kind);
    const cm = byKind('ConfigMap')[0];
    const pvc = byKind('PersistentVolumeClaim')[0];
    assert.ok(list(pvc, 'spec.accessModes').includes('ReadWriteMany'), 'pods on several nodes share it');
    const jobs = byKind('Job');
    assert.equal(jobs.length, 2);
    for (const o of objs) assert.ok(at(o, 'apiVersion') && at(o, 'metadata.name'), 'apiVersion and a name');
    const shards = jobs.find((j) => at(j, 'spec.completionMode') === 'Indexed');
    const merge = jobs.find((j) => j !== shards);
    assert.equal(at(shards, 'apiVersion'), 'batch/v1');

    const pod = at(shards, 'spec.template.spec');
    const c = list(pod, 'containers')[0];
    const script = list(c, 'args').join('\n');
    const n = Number(/--shard "\$K\/(\d+)"/.exec(script)?.[1]);
    assert.ok(n >= 2, script);
    assert.equal(at(shards, 'spec.completions'), n, 'completions = N of --shard K/N');
    const parallelism = Number(at(shards, 'spec.parallelism'));
    assert.ok(parallelism >= 1 && parallelism <= n);
    assert.match(script, /K=\$\(\(JOB_COMPLETION_INDEX \+ 1\)\)/, 'the 0-based index becomes the 1-based K');
    assert.equal(at(pod, 'restartPolicy'), 'Never', 'podFailurePolicy requires restartPolicy Never');
    const rule = list(shards, 'spec.podFailurePolicy.rules')[0];
    assert.equal(at(rule, 'action'), 'FailJob');
    assert.equal(at(rule, 'onExitCodes.containerName'), at(c, 'name'));
    assert.deepEqual(at(rule, 'onExitCodes.values'), [64]);
    // Volumes: the ConfigMap's keys are the files the command reads; both Jobs share the claim.
    const vol = (spec: unknown, name: unknown) => list(spec, 'volumes').find((v) => at(v, 'name') === name);
    const mountOf = (container: unknown, path: string) =>
      list(container, 'volumeMounts').find((m) => path.startsWith(`${at(m, 'mountPath')}/`));
    for (const file of [/-f (\S+)/.exec(script)![1]!, /--ca (\S+)/.exec(script)![1]!]) {
      const m = mountOf(c, file);
      assert.ok(m, `${file} is on a mounted volume`);
      assert.equal(at(vol(pod, at(m, 'name')), 'configMap.name'), at(cm, 'metadata.name'));
      const key = file.slice(String(at(m, 'mountPath')).length + 1);
      assert.ok(at(cm, 'data') && key in (at(cm, 'data') as object), `${file} is a key of the ConfigMap`);
    }
    const claim = at(pvc, 'metadata.name');
    const results = mountOf(c, '/results/x');
    assert.equal(at(vol(pod, at(results, 'name')), 'persistentVolumeClaim.claimName'), claim);
    const mpod = at(merge, 'spec.template.spec');
    const mc = list(mpod, 'containers')[0];
    assert.equal(at(mpod, 'restartPolicy'), 'Never');
    const mresults = mountOf(mc, '/results/x');
    assert.equal(at(vol(mpod, at(mresults, 'name')), 'persistentVolumeClaim.claimName'), claim);
    const mscript = list(mc, 'args').join('\n');
    assert.match(mscript, new RegExp(`seq -f 'shard-%g\\.jsonl' 1 ${n}\\b`), 'the merge names the N files');

    // Run both scripts as the pods would (sh -c, one index after the other), paths moved here.
    const k8s = join(dir, 'k8s');
    mkdirSync(join(k8s, 'config'), { recursive: true });
    mkdirSync(join(k8s, 'results'));
    writeFileSync(join(k8s, 'config', 'hosts.txt'), readFileSync(join(dir, 'hosts.txt')));
    writeFileSync(join(k8s, 'config', 'corp-root.pem'), readFileSync(join(dir, 'corp-root.pem')));
    const moved = (s: string) =>
      s.replaceAll('/config/', `${k8s}/config/`).replaceAll('/results', `${k8s}/results`);
    for (let i = 0; i < n; i++) {
      const r = await runShell('/bin/sh', ['-c', moved(script)], k8s, {
        ...env,
        JOB_COMPLETION_INDEX: String(i),
      });
      assert.equal(r.code, 0, `index ${i}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`shard ${i + 1}/${n}: exit [0-3]`));
    }
    const files = Array.from({ length: n }, (_, i) => join(k8s, 'results', `shard-${i + 1}.jsonl`));
    const all = checkShards(files, n);
    assert.equal(existsSync(`${files[0]}.part`), false, 'renamed when complete');
    const m = await runShell('/bin/sh', ['-c', moved(mscript)], k8s, env);
    assert.equal(m.code, 2, m.stdout + m.stderr);
    assert.match(m.stdout, /merged: exit 2/);
    checkReports(join(k8s, 'results'), all);
    assert.match(readFileSync(join(k8s, 'results', 'certvet.prom'), 'utf8'), /^certvet_/m);
  });

  test('the GitHub Actions workflow: a matrix over shards 1..N with artifacts, then a merge job', {
    timeout: 120_000,
  }, async () => {
    const block = yamlBlocks(doc).find((b) => /strategy:/.test(b));
    assert.ok(block, 'the GitHub Actions block');
    const wf: unknown = parse(block);
    const check = at(wf, 'jobs.check');
    const steps = list(check, 'steps');
    const run = String(
      at(
        steps.find((x) => String(at(x, 'run')).includes('--shard')),
        'run',
      ),
    );
    const matrixShard = '$' + '{{ matrix.shard }}';
    const n = Number(/--shard \$\{\{ matrix\.shard \}\}\/(\d+)/.exec(run)?.[1]);
    assert.ok(n >= 2, run);
    assert.deepEqual(
      list(check, 'strategy.matrix.shard')
        .map(Number)
        .sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i + 1),
      'the matrix covers shards 1..N',
    );
    assert.equal(at(check, 'strategy.fail-fast'), false);
    const upload = steps.find((x) => String(at(x, 'uses')).startsWith('actions/upload-artifact'));
    assert.equal(at(upload, 'with.name'), `shard-${matrixShard}`);
    assert.ok(run.includes(`-o ${at(upload, 'with.path')}`), 'the artifact is the file the shard wrote');
    const report = at(wf, 'jobs.report');
    assert.equal(at(report, 'needs'), 'check');
    const rsteps = list(report, 'steps');
    const download = rsteps.find((x) => String(at(x, 'uses')).startsWith('actions/download-artifact'));
    assert.equal(at(download, 'with.pattern'), 'shard-*');
    assert.equal(at(download, 'with.merge-multiple'), true);
    const shardsDir = String(at(download, 'with.path'));
    const mergeRun = String(
      at(
        rsteps.find((x) => at(x, 'id') === 'merge'),
        'run',
      ),
    );
    assert.match(mergeRun, new RegExp(`${shardsDir}/shard-\\{1\\.\\.${n}\\}\\.jsonl`));
    assert.match(String(at(rsteps.at(-1), 'run')), /exit \$\{\{ steps\.merge\.outputs\.status \}\}/);
    assert.ok(
      rsteps.some(
        (x) => at(x, 'if') === 'always()' && String(at(x, 'uses')).startsWith('actions/upload-artifact'),
      ),
      'the reports are uploaded whatever the verdict',
    );

    // The steps' shell, as GitHub runs it (bash -e), with the expressions filled in.
    const gh = join(dir, 'gh');
    mkdirSync(join(gh, shardsDir), { recursive: true });
    for (const f of ['hosts.txt', 'corp-root.pem']) writeFileSync(join(gh, f), readFileSync(join(dir, f)));
    for (let k = 1; k <= n; k++) {
      const r = await runShell('bash', ['-e', '-c', run.replaceAll(matrixShard, String(k))], gh, env);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      // upload-artifact + download-artifact with merge-multiple: the files side by side.
      writeFileSync(join(gh, shardsDir, `shard-${k}.jsonl`), readFileSync(join(gh, `shard-${k}.jsonl`)));
    }
    const all = checkShards(
      Array.from({ length: n }, (_, i) => join(gh, `shard-${i + 1}.jsonl`)),
      n,
    );
    const output = join(gh, 'github-output');
    writeFileSync(output, '');
    const m = await runShell('bash', ['-e', '-c', mergeRun], gh, { ...env, GITHUB_OUTPUT: output });
    assert.equal(m.code, 0, m.stdout + m.stderr);
    assert.equal(readFileSync(output, 'utf8').trim(), 'status=2');
    checkReports(gh, all);
  });

  test('the Prometheus sketch is valid YAML with hashmod sharding', () => {
    const block = yamlBlocks(doc).find((b) => /hashmod/.test(b));
    assert.ok(block);
    const job = list(parse(block), 'scrape_configs')[0];
    assert.equal(at(job, 'metrics_path'), '/probe');
    const relabel = list(job, 'relabel_configs');
    const hm = relabel.find((r) => at(r, 'action') === 'hashmod');
    const keep = relabel.find((r) => at(r, 'action') === 'keep');
    const modulus = Number(at(hm, 'modulus'));
    assert.ok(modulus >= 2 && list(keep, 'source_labels')[0] === at(hm, 'target_label'));
    assert.ok(Number(at(keep, 'regex')) < modulus);
    assert.match(doc, /`certvet serve` is not implemented yet/);
  });
});
