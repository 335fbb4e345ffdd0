/*
 * The directory of certvet's own package.json, found from this module's location: the library
 * (dist/src/…), the bundled CLI (dist/cli/, scripts/bundle.ts) and an installed package
 * (node_modules/certvet/…) sit at different depths, so a fixed `../../../` would be right in
 * only one of them. Files beside the build (package.json, dashboard/) are found from here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Found {
  readonly root: string;
  readonly version: string;
}
let found: Found | undefined;

/** The nearest package.json above this module that is certvet's, read once. */
function find(): Found {
  if (found !== undefined) return found;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    const pkg = existsSync(file) ? readJson(file) : null;
    if (pkg?.name === 'certvet') {
      found = { root: dir, version: String(pkg.version) };
      return found;
    }
    if (dirname(dir) === dir) throw new Error(`certvet's package.json was not found above ${start}`);
  }
}

function readJson(file: string): { name?: unknown; version?: unknown } | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
  } catch {
    return null;
  }
}

/** The package's root directory (no trailing separator). Throws if there is none: a broken install. */
export const packageRoot = (): string => find().root;

/** certvet's version, from its package.json. */
export const packageVersion = (): string => find().version;
