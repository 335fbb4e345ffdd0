import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { installPackedPackage, NO_NPM, REPO_ROOT } from './support/packedProject.js';

const DOC = join(REPO_ROOT, 'docs', 'mtls.md');

/*
 * The recipe of docs/mtls.md, run as written by bash with the `certvet` of the published
 * package on PATH (this build packed and installed into an empty project), so `&` and `kill`
 * act on the real process.
 */
test("docs/mtls.md: the recipe runs as written, with the packed package's certvet", {
  skip: NO_NPM,
  timeout: 240_000,
}, async () => {
  const doc = readFileSync(DOC, 'utf8');
  const block = /<!-- recipe -->\s*```bash\n([\s\S]*?)```\s*<!-- \/recipe -->/.exec(doc);
  assert.ok(block, 'the recipe block is in docs/mtls.md');
  const dir = mkdtempSync(join(tmpdir(), 'certvet-recipe-'));
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const packed = await installPackedPackage('certvet-recipe-pkg-');
  writeFileSync(join(dir, 'recipe.sh'), `set -u\n${block![1]}`);
  try {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn('bash', [join(dir, 'recipe.sh')], {
        cwd: dir,
        env: {
          ...process.env,
          // The bin's `#!/usr/bin/env node` runs the Node that runs this test.
          PATH: `${packed.binDir}:${dirname(process.execPath)}:${process.env.PATH}`,
          PORT: String(port),
          NO_COLOR: '1',
        },
      });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      const t = setTimeout(() => p.kill(), 60_000);
      p.on('close', (code) => {
        clearTimeout(t);
        resolve({ code, stdout, stderr });
      });
    });
    const o = out.stdout;
    assert.match(o, /with certificate: ok/, o + out.stderr);
    assert.match(o, /without certificate: exit 1/, o);
    assert.match(o, /after revocation: exit 2/, o);
    assert.match(o, /new CA: ok/, o);
    assert.match(o, /accepted .*alice/);
    assert.match(o, /rejected .*alice.*revoked/);
    assert.match(o, /reloaded CRL/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    packed.remove();
  }
});
