/**
 * The published package, as a new user gets it: `npm pack`, install the tarball into an empty
 * project, then use it from ESM, from CommonJS, from TypeScript, through its bin and its
 * shipped JSON Schema (test/support/packedProject.ts packs and installs it). The documented
 * examples run from the packed package too: test/library-docs.test.ts, test/mtls-recipe.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { type LabChain, makeChain, privateKeyPem } from '../src/lab/pki.js';
import {
  installPackedPackage,
  NO_NPM,
  type PackedProject,
  REPO_ROOT as ROOT,
  sh,
  shellEnv,
} from './support/packedProject.js';

const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
};

const USE = `
  const pem = readFileSync('chain.pem');
  const [leaf, ...intermediates] = loadCertificates(pem, 'chain.pem').certificates;
  const anchors = loadCertificates(readFileSync('root.pem'), 'root.pem').certificates;
  const r = verifyCertificate({ leaf, intermediates, anchors, time: new Date(),
    expectedNames: [{ kind: 'ip', value: '127.0.0.1' }] });
  const wrong = verifyCertificate({ leaf, intermediates, anchors, time: new Date(),
    expectedNames: [{ kind: 'dns', value: 'other.example' }] });
  const functions = Object.keys(certvet).filter((k) => typeof certvet[k] === 'function').sort();
  const out = { valid: r.valid, wrong: wrong.findings.map((f) => f.code), codes: Object.keys(FINDING_CODES).length, functions };
`;

describe('the packed package in an empty project', { skip: NO_NPM, timeout: 180_000 }, () => {
  let packed: PackedProject;
  let project: string;
  let files: readonly string[];
  let chain: LabChain;

  before(async () => {
    packed = await installPackedPackage();
    project = packed.dir;
    files = packed.files;
    chain = await makeChain({ names: ['127.0.0.1'] });
    writeFileSync(join(project, 'chain.pem'), chain.leaf.pem + chain.intermediate.pem);
    writeFileSync(join(project, 'root.pem'), chain.root.pem);
  });

  after(() => packed?.remove());

  test('the tarball holds the build, sources for its maps, the schema and the docs, and no tests', () => {
    for (const f of [
      'dist/lib/index.js',
      'dist/lib/probeWorker.js',
      'dist/src/index.d.ts',
      'dist/cli/main.js',
      'dist/cli/probeWorker.js',
      'schema/result.schema.json',
    ])
      assert.ok(files.includes(f), `${f} is packed`);
    for (const f of ['README.md', 'LICENSE', 'docs/check.md', 'docs/mtls.md'])
      assert.ok(files.includes(f), `${f} is packed`);
    assert.deepEqual(
      files.filter((f) => /^(dist\/)?(test|bench|scripts)\//.test(f) || f.includes('tsbuildinfo')),
      [],
    );
    // Every source map resolves: each of its sources is in the tarball.
    const maps = files.filter((f) => f.endsWith('.js.map'));
    assert.ok(maps.length > 10);
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(project, 'node_modules/certvet', m), 'utf8')) as {
        sources: string[];
      };
      for (const s of map.sources) {
        const target = normalize(join(dirname(m), s));
        assert.ok(files.includes(target), `${m}: its source ${s} (${target}) is packed`);
      }
    }
  });

  test('nothing builds or runs scripts when a consumer installs it', () => {
    const installed = JSON.parse(
      readFileSync(join(project, 'node_modules/certvet/package.json'), 'utf8'),
    ) as { scripts?: Record<string, string> };
    for (const s of ['preinstall', 'install', 'postinstall'])
      assert.equal(installed.scripts?.[s], undefined, `no ${s} script`);
    // Its runtime dependencies came along; no devDependency (no compiler) did.
    for (const d of Object.keys(PKG.dependencies))
      assert.ok(existsSync(join(project, 'node_modules', d, 'package.json')), `${d} installed`);
    assert.equal(existsSync(join(project, 'node_modules/typescript')), false);
  });

  test('ESM import and CommonJS require both work and expose the same functions (one module instance)', async () => {
    writeFileSync(
      join(project, 'esm.mjs'),
      `import { readFileSync } from 'node:fs';
import * as certvet from 'certvet';
import { verifyCertificate, loadCertificates, FINDING_CODES } from 'certvet';
${USE}
console.log(JSON.stringify(out));
`,
    );
    writeFileSync(
      join(project, 'cjs.cjs'),
      `const { readFileSync } = require('node:fs');
const certvet = require('certvet');
const { verifyCertificate, loadCertificates, FINDING_CODES } = certvet;
${USE}
import('certvet').then((esm) => {
  out.sameInstance = esm.verifyCertificate === verifyCertificate && esm.FINDING_CODES === FINDING_CODES;
  console.log(JSON.stringify(out));
});
`,
    );
    const esm = JSON.parse(await sh(process.execPath, ['esm.mjs'], project)) as Record<string, unknown>;
    const cjs = JSON.parse(await sh(process.execPath, ['cjs.cjs'], project)) as Record<string, unknown>;
    assert.equal(esm.valid, true);
    assert.deepEqual(esm.wrong, ['hostname-mismatch']);
    assert.ok((esm.functions as string[]).includes('verifyCertificate'));
    assert.ok((esm.functions as string[]).includes('createClientCertVerifier'));
    assert.equal(cjs.sameInstance, true);
    // Both conditions load the library's bundle (scripts/bundle.ts), not tsc's module tree.
    const resolved = await sh(
      process.execPath,
      ['--input-type=module', '-e', "console.log(import.meta.resolve('certvet'))"],
      project,
    );
    assert.match(resolved.trim(), /\/node_modules\/certvet\/dist\/lib\/index\.js$/);
    delete cjs.sameInstance;
    assert.deepEqual(cjs, esm);
  });

  test('TypeScript consumers get the types through both the import and require conditions', async () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        files: ['use.mts', 'use.cts'],
      }),
    );
    const body = `
const r: TargetResult['status'] = 'ok';
const v: boolean = verifyCertificate({ leaf: loadCertificates(new Uint8Array(), 'x').certificates[0]!, anchors: [], time: new Date() }).valid;
// @ts-expect-error: not a status
const bad: TargetResult['status'] = 'fine';
export { r, v, bad };
`;
    writeFileSync(
      join(project, 'use.mts'),
      `import { verifyCertificate, loadCertificates, type TargetResult } from 'certvet';\n${body}`,
    );
    writeFileSync(
      join(project, 'use.cts'),
      `import certvet = require('certvet');\nconst { verifyCertificate, loadCertificates } = certvet;\ntype TargetResult = certvet.TargetResult;\n${body}`,
    );
    await sh(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
      project,
    );
  });

  /** Runs `use` against a TLS endpoint on 127.0.0.1 serving the lab chain. */
  async function withEndpoint(use: (port: number) => Promise<void>): Promise<void> {
    const server = tls.createServer(
      { key: await privateKeyPem(chain.leaf.key), cert: chain.leaf.pem + chain.intermediate.pem },
      (s) => s.end(),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await use((server.address() as AddressInfo).port);
    } finally {
      await new Promise((r) => server.close(r));
    }
  }

  test('the certvet bin runs', async () => {
    const out = await sh('npx', ['--no-install', 'certvet', '--version'], project);
    assert.equal(out.trim(), PKG.version);
  });

  test('the installed bin checks real endpoints with its probe worker threads', async () => {
    // The bin is the bundle (dist/cli/): its worker file and chunks must be found where npm put
    // them. A worker that cannot start fails its probes as handshake-failed, never ok.
    await withEndpoint(async (port) => {
      const targets = Array.from({ length: 24 }, () => `127.0.0.1:${port}`);
      const out = await sh(
        'npx',
        [
          '--no-install',
          'certvet',
          'check',
          ...targets,
          '--ca',
          'root.pem',
          '--revocation',
          'off',
          '--format',
          'jsonl',
          '--workers',
          '2',
          '--concurrency',
          '8',
        ],
        project,
      );
      const results = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { status: string });
      assert.equal(results.length, 24);
      assert.deepEqual(new Set(results.map((r) => r.status)), new Set(['ok']));
    });
  });

  test('the library scans with worker threads from the installed bundle', async () => {
    // The library is a bundle too (dist/lib/): a checker's `workers` start dist/lib/probeWorker.js.
    await withEndpoint(async (port) => {
      writeFileSync(
        join(project, 'workers.mjs'),
        `import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { createChecker } from 'certvet';
// Counts the probes handed to worker threads (so the test knows the workers did run some).
let toWorkers = 0;
const post = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (m, ...rest) {
  if (m?.type === 'probe') toWorkers++;
  return post.call(this, m, ...rest);
};
const checker = createChecker({ ca: readFileSync('root.pem', 'utf8'), revocation: 'off', workers: 2 });
const statuses = [];
for await (const r of checker.scan(Array.from({ length: 12 }, () => '127.0.0.1:${port}'), { concurrency: 4 }))
  statuses.push(r.status + (r.findings[0] ? ' ' + r.findings[0].code : ''));
await checker.close();
console.log(JSON.stringify([...new Set(statuses)]), statuses.length, toWorkers > 0 ? 'on workers' : 'no worker ran');
`,
      );
      assert.equal((await sh(process.execPath, ['workers.mjs'], project)).trim(), '["ok"] 12 on workers');
    });
  });

  test('a broken install (no Public Suffix List) fails a wildcard check loudly, never ok', async () => {
    // tldts is loaded on the first wildcard match under the webpki profile (src/verify/names/
    // dns.ts): when it cannot be, the verdict must not be a pass, nor the name taken as matched.
    const wild = await makeChain({ names: ['*.wild.test'] });
    writeFileSync(join(project, 'wild.pem'), wild.leaf.pem + wild.intermediate.pem);
    writeFileSync(join(project, 'wild-root.pem'), wild.root.pem);
    const args = [
      'verify',
      'wild.pem',
      '--ca',
      'wild-root.pem',
      '--host',
      'www.wild.test',
      '--profile',
      'webpki',
      '--format',
      'json',
    ];
    const bin = join(project, 'node_modules/.bin/certvet');
    const ok = spawnSync(bin, args, { cwd: project, encoding: 'utf8', env: shellEnv() });
    assert.equal(ok.status, 0, ok.stderr);
    const psl = join(project, 'node_modules/tldts');
    renameSync(psl, `${psl}.away`);
    try {
      const broken = spawnSync(bin, args, { cwd: project, encoding: 'utf8', env: shellEnv() });
      assert.equal(broken.status, 70, `${broken.stdout}\n${broken.stderr}`);
      assert.equal(broken.stdout, '', 'no report, so no verdict');
      assert.match(broken.stderr, /certvet: internal error: .*Cannot find (module|package) 'tldts'/);
    } finally {
      renameSync(`${psl}.away`, psl);
    }
  });

  test('the JSON Schema resolves from CommonJS and ESM', async () => {
    const out = await sh(
      process.execPath,
      [
        '-e',
        `const p = require.resolve('certvet/schema/result.schema.json');
         const s = require('certvet/schema/result.schema.json');
         console.log(JSON.stringify({ p, defs: Object.keys(s.$defs) }));`,
      ],
      project,
    );
    const r = JSON.parse(out) as { p: string; defs: string[] };
    assert.equal(r.p, join(project, 'node_modules/certvet/schema/result.schema.json'));
    assert.ok(r.defs.includes('TargetResult') && r.defs.includes('Report'));
    writeFileSync(
      join(project, 'schema.mjs'),
      "console.log(fileURLToPath(import.meta.resolve('certvet/schema/result.schema.json')));\nimport { fileURLToPath } from 'node:url';\n",
    );
    assert.equal((await sh(process.execPath, ['schema.mjs'], project)).trim(), r.p);
  });
});
