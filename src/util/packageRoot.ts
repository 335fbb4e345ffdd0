/*
 * The directory of certvet's own package.json, found from this module's location: the library
 * (dist/src/…), the bundled CLI (dist/cli/, scripts/bundle.ts) and an installed package
 * (node_modules/certvet/…) sit at different depths, so a fixed `../../../` would be right in
 * only one of them. Files beside the build (package.json, dashboard/) are found from here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The package's root directory (no trailing separator). Throws if there is none: a broken install. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && isCertvet(file)) {
      root = dir;
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`certvet's package.json was not found above ${start}`);
  }
}

function isCertvet(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'certvet';
  } catch {
    return false;
  }
}

/** certvet's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
}
