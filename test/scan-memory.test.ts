/*
 * Memory that a scan keeps must not grow with the number of targets (issue 10): a scan of
 * 12,000 targets (connections refused on 127.0.0.1, so it takes about two seconds) in a child
 * process with --expose-gc, the live heap measured after a full collection at the 2,000th and
 * the 12,000th result. A per-target leak of the size once found (a reaction left on a
 * long-lived promise by every pull of the scan: about 0.5 KB a target, 5 MB here) fails it; the
 * bound leaves room for V8's own noise. A count, not a timing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const INDEX = new URL('../src/index.js', import.meta.url).href;

test('a scan keeps no memory per target: the live heap after 12,000 targets is that after 2,000', () => {
  const script = `
    import { createChecker } from ${JSON.stringify(INDEX)};
    const c = createChecker({ revocation: 'off', timeout: 2000 });
    function* targets(n) { for (let i = 0; i < n; i++) yield '127.0.0.1:1'; }
    let n = 0;
    const heap = [];
    for await (const r of c.scan(targets(12000), { concurrency: 64 })) {
      if (r.status !== 'error') throw new Error('expected a refused connection, got ' + r.status);
      if (++n === 2000 || n === 12000) { globalThis.gc(); heap.push(process.memoryUsage().heapUsed); }
    }
    await c.close();
    console.log(JSON.stringify({ n, growthKb: Math.round((heap[1] - heap[0]) / 1024) }));
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { n: number; growthKb: number };
  assert.equal(out.n, 12000);
  assert.ok(out.growthKb < 2048, `the live heap grew by ${out.growthKb} KB over 10,000 targets`);
});
