import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { SHORT_SCAN, shouldDeferOptimisation } from '../src/cli/optimisingCompiler.js';

describe('check defers the optimising compiler only where it competes with the scan', () => {
  const node20 = { threads: 2, cores: 2, v8: '11.3.244.8-node.33', nodeArguments: '', plannedTargets: 1000 };

  test('applies to a short scan on a runtime without Maglev when every core runs a scan thread', () => {
    assert.equal(shouldDeferOptimisation(node20), true);
    assert.equal(shouldDeferOptimisation({ ...node20, plannedTargets: SHORT_SCAN }), true);
    assert.equal(
      shouldDeferOptimisation({ ...node20, plannedTargets: SHORT_SCAN + 1 }),
      false,
      'a long scan',
    );
    assert.equal(shouldDeferOptimisation({ ...node20, threads: 8, cores: 4 }), true);
  });

  test('not with an idle core, on runtimes with Maglev (V8 12+), or when the user tuned V8', () => {
    assert.equal(shouldDeferOptimisation({ ...node20, threads: 1 }), false, '--workers 1 on two cores');
    assert.equal(shouldDeferOptimisation({ ...node20, v8: '12.4.254.21-node.33' }), false, 'Node 22');
    assert.equal(shouldDeferOptimisation({ ...node20, v8: '13.6.233.10-node.29' }), false, 'Node 24');
    for (const flag of [
      '--no-turbofan',
      '--turbofan',
      '--max-opt=1',
      '--jitless',
      '--no-opt',
      '--maglev',
      '--no_turbofan',
      '--noturbofan',
      '--max_opt=2',
      '--always-turbofan',
      '--turbo-filter=foo',
    ])
      assert.equal(
        shouldDeferOptimisation({ ...node20, nodeArguments: `--max-semi-space-size=2 ${flag}` }),
        false,
        flag,
      );
    assert.equal(
      shouldDeferOptimisation({
        ...node20,
        nodeArguments: '--max-old-space-size=1024 --max-semi-space-size=2',
      }),
      true,
      "the bin's own sizing flags are not V8 tuning of the compiler",
    );
  });

  test('while deferred V8 compiles nothing with TurboFan; after end() it does again (checked with --trace-opt)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'certvet-jit-'));
    try {
      const module = pathToFileURL(join(import.meta.dirname, '../src/cli/optimisingCompiler.js')).href;
      const script = join(dir, 'child.mjs');
      writeFileSync(
        script,
        `import { deferOptimisation } from ${JSON.stringify(module)};
const d = deferOptimisation({ threads: 2, cores: 2, v8: '11.3.0', nodeArguments: '', plannedTargets: 10 });
function hotWhileDeferred(n) { let s = 0; for (let i = 0; i < 50; i++) s += (i * n) % 7; return s; }
for (let i = 0; i < 300000; i++) hotWhileDeferred(i);
console.log('deferred=' + d.deferred);
for (let i = 0; i < ${SHORT_SCAN}; i++) d.onResult();
console.log('after results deferred=' + d.deferred);
function hotAfter(n) { let s = 0; for (let i = 0; i < 50; i++) s += (i * n) % 5; return s; }
for (let round = 0; round < 3; round++) {
  for (let i = 0; i < 200000; i++) hotAfter(i);
  await new Promise((r) => setTimeout(r, 30));
}
`,
      );
      const r = spawnSync(process.execPath, ['--trace-opt', script], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      const turbofan = (fn: string) =>
        new RegExp(`completed (compiling|optimizing) \\S+ <JSFunction ${fn} [^\\n]*target TURBOFAN`).test(
          r.stdout,
        );
      assert.match(r.stdout, /deferred=true/);
      assert.match(r.stdout, /after results deferred=false/);
      assert.equal(turbofan('hotWhileDeferred'), false, 'optimised by TurboFan while deferred');
      assert.equal(turbofan('hotAfter'), true, 'TurboFan is back once the results are in');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
