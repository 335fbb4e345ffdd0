/*
 * The published package as a new user gets it: `npm pack` this build, then `npm install` the
 * tarball into an empty project in a temporary directory (outside this repository, so nothing
 * resolves from the repository's own node_modules). The docs tests run the documented examples
 * there, and the packaging test inspects it. The tarball is packed from the build `npm test`
 * just made (`--ignore-scripts`: `prepack` would rebuild dist/ under the running suite).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const run = promisify(execFile);

const npmVersion = spawnSync('npm', ['--version'], { encoding: 'utf8' });
/** A skip reason when npm is not there, else false. */
export const NO_NPM: string | false =
  npmVersion.error || npmVersion.status !== 0 ? 'npm is not installed: cannot pack the package' : false;

/** The environment of a plain shell: none of the running `npm test`'s package or lifecycle variables. */
export function shellEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^npm_(package|lifecycle)_|^npm_command$|^INIT_CWD$/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** Runs a command; its stdout, or an error carrying the command line, stdout and stderr. */
export async function sh(
  cmd: string,
  args: readonly string[],
  cwd: string,
  options: { env?: NodeJS.ProcessEnv; timeout?: number } = {},
): Promise<string> {
  try {
    const r = await run(cmd, [...args], {
      cwd,
      env: options.env ?? shellEnv(),
      maxBuffer: 16 << 20,
      timeout: options.timeout ?? 120_000,
    });
    return r.stdout;
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `${cmd} ${args.join(' ')} failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`,
    );
  }
}

export interface PackedProject {
  /** The consumer project: `import 'certvet'` there resolves to the installed tarball. */
  readonly dir: string;
  /** The paths packed into the tarball. */
  readonly files: readonly string[];
  /** The installed package's bin (`node_modules/.bin/certvet`). */
  readonly bin: string;
  /** The directory holding the installed bin, to put on PATH. */
  readonly binDir: string;
  /** Removes the project and the tarball. */
  remove(): void;
}

/** Packs this build and installs it into a new, empty ES-module project. */
export async function installPackedPackage(prefix = 'certvet-pack-'): Promise<PackedProject> {
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  try {
    const packed = JSON.parse(
      await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], REPO_ROOT),
    ) as { filename: string; files: { path: string }[] }[];
    const tarball = join(tmp, packed[0]!.filename);
    const dir = join(tmp, 'consumer');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '0.0.0', private: true, type: 'module' }),
    );
    // --omit=optional: better-sqlite3 (only `certvet serve` needs it) would be built from
    // source here, about a minute per install; the library and the CLI do not need it.
    await sh(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=optional', tarball],
      dir,
    );
    const binDir = join(dir, 'node_modules', '.bin');
    return {
      dir,
      files: packed[0]!.files.map((f) => f.path),
      bin: join(binDir, 'certvet'),
      binDir,
      remove: () => rmSync(tmp, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
