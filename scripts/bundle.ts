/**
 * The `certvet` command and the library as users get them, built by `npm run build` after tsc
 * from tsc's own output (dist/src), with esbuild:
 * - `dist/cli/`: `main.js` (the bin), `probeWorker.js` (the `--workers` threads) and the
 *   chunks they share, each command still loaded on demand;
 * - `dist/lib/`: `index.js` (`import 'certvet'`, and `require` through Node's require(esm)),
 *   `probeWorker.js` (a checker's `workers`) and their shared chunk. The types stay tsc's
 *   (dist/src/*.d.ts), and the package's tests and benchmarks import dist/src directly.
 *
 * Why a bundle: `certvet check` otherwise loads 111 ES modules one by one at every start (and a
 * probe worker thread loads its own share again); bundled, it loads 24 files (counted with a
 * module-loader hook). It starts about 35 ms sooner, a probe worker gives its first result
 * about 30 ms sooner (docs/performance.md, "The bin is a bundle"), and Node 20's module loader
 * no longer opens dozens of files at once (under a low `ulimit -n` it failed with EMFILE).
 *
 * The library is bundled for the same reason: `import 'certvet'` loaded its 297 modules one by
 * one, 133 ms on Node 20, and 84 ms as a bundle, of which undici (which the verified
 * dispatcher extends) is about 66 ms (docs/performance.md, "The library is a bundle too").
 *
 * Only certvet's own code is bundled: its dependencies stay ordinary `dependencies`, loaded from
 * node_modules (so the package holds one copy of each, under its own licence). The source maps
 * chain through tsc's, so they point at src/*.ts. Each bundle is flat in one directory, so
 * `new URL('./probeWorker.js', import.meta.url)` in the pool finds the worker beside it, bundled
 * or not, and `./main.js` from a src/cli module is the running CLI in both layouts.
 */
import { chmodSync, realpathSync, rmSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = `${root}dist/src/probe/probeWorker.js`;

/** The bin: dist/cli. */
export function bundleCli(): Promise<void> {
  return bundle('dist/cli', { main: `${root}dist/src/cli/main.js`, probeWorker: WORKER }, 'main.js');
}

/** The library: dist/lib. */
export function bundleLibrary(): Promise<void> {
  return bundle('dist/lib', { index: `${root}dist/src/index.js`, probeWorker: WORKER });
}

async function bundle(dir: string, entryPoints: Record<string, string>, bin?: string): Promise<void> {
  const out = `${root}${dir}`;
  rmSync(out, { recursive: true, force: true });
  const result = await build({
    entryPoints,
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    packages: 'external',
    chunkNames: 'chunk-[hash]',
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    absWorkingDir: root,
    logLevel: 'silent',
  });
  if (result.errors.length > 0 || result.warnings.length > 0)
    throw new Error(`esbuild: ${[...result.errors, ...result.warnings].map((m) => m.text).join('; ')}`);
  // Only certvet's own modules are inside (a dependency bundled by mistake would be a second copy).
  const foreign = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('dist/src/'));
  if (foreign.length > 0)
    throw new Error(`the ${dir} bundle took in files outside dist/src: ${foreign.join(', ')}`);
  if (bin) chmodSync(`${out}/${bin}`, 0o755);
}

// Compared by real path: `npm run build` through a symlinked directory must still bundle (a
// build that silently skipped this would pack a package without its bin).
if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  await bundleCli();
  await bundleLibrary();
  console.log(
    `bundled the CLI into ${relative(process.cwd(), `${root}dist/cli`)} and the library into ${relative(process.cwd(), `${root}dist/lib`)}`,
  );
}
