/**
 * The `certvet` command as users run it: `dist/cli/`, built by `npm run build` after tsc from
 * tsc's own output (dist/src), with esbuild — `main.js` (the bin), `probeWorker.js` (the
 * `--workers` threads) and the chunks they share, each command still loaded on demand.
 *
 * Why a bundle: `certvet check` otherwise loads 111 ES modules one by one at every start (and a
 * probe worker thread loads its own share again); bundled, it loads 24 files (counted with a
 * module-loader hook). It starts about 35 ms sooner, a probe worker gives its first result
 * about 30 ms sooner (docs/performance.md, "The bin is a bundle"), and Node 20's module loader
 * no longer opens dozens of files at once (under a low `ulimit -n` it failed with EMFILE).
 *
 * Only certvet's own code is bundled: its dependencies stay ordinary `dependencies`, loaded from
 * node_modules (so the package holds one copy of each, under its own licence), and the library
 * (`import 'certvet'`, dist/src) is not bundled at all. The source maps chain through tsc's, so
 * they point at src/*.ts. Everything is flat in one directory, so `new URL('./probeWorker.js',
 * import.meta.url)` in the pool finds the worker beside it, bundled or not, and
 * `./main.js` from a src/cli module is the running CLI in both layouts.
 */
import { chmodSync, realpathSync, rmSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));
const out = `${root}dist/cli`;

export async function bundleCli(): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  const result = await build({
    entryPoints: {
      main: `${root}dist/src/cli/main.js`,
      probeWorker: `${root}dist/src/probe/probeWorker.js`,
    },
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
    throw new Error(`the CLI bundle took in files outside dist/src: ${foreign.join(', ')}`);
  chmodSync(`${out}/main.js`, 0o755);
}

// Compared by real path: `npm run build` through a symlinked directory must still bundle (a
// build that silently skipped this would pack a package without its bin).
if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  await bundleCli();
  console.log(`bundled the CLI into ${relative(process.cwd(), out) || out}`);
}
