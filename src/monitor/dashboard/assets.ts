/*
 * The dashboard's files (`certvet serve`, served at / by src/monitor/http.ts): the static page in
 * the package's top-level dashboard/ directory (index.html, app.js, app.css: no build step) and
 * uPlot from its installed npm package under /vendor/, so the dashboard works offline and from
 * an installed package alike. Only a fixed set of paths is served (no path is ever joined with a
 * request), each file read once, on first use.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { packageRoot } from '../../util/packageRoot.js';

export interface DashboardFile {
  readonly body: string | Uint8Array;
  readonly type: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

/** The dashboard/ directory: at the package's top level, in a build and an installed package alike. */
const dashboardDir = (): string => `${join(packageRoot(), 'dashboard')}${sep}`;

/** Every path served, with where it is read from and its content type. */
function table(): ReadonlyMap<string, { file: () => string; type: string }> {
  // Resolved when a file is read (inside dashboardFile's try: a broken install serves nothing).
  const require = createRequire(import.meta.url);
  return new Map([
    ['/index.html', { file: () => `${dashboardDir()}index.html`, type: HTML }],
    ['/app.js', { file: () => `${dashboardDir()}app.js`, type: JS }],
    ['/app.css', { file: () => `${dashboardDir()}app.css`, type: CSS }],
    ['/vendor/uplot.js', { file: () => require.resolve('uplot/dist/uPlot.iife.min.js'), type: JS }],
    ['/vendor/uplot.css', { file: () => require.resolve('uplot/dist/uPlot.min.css'), type: CSS }],
  ]);
}

let paths: ReadonlyMap<string, { file: () => string; type: string }> | null = null;
const cache = new Map<string, DashboardFile | null>();

/**
 * The dashboard file at `path` (as requested, below /; `/` is asked as `/index.html`), or null
 * when it is not one of the dashboard's files (or cannot be read).
 */
export function dashboardFile(path: string): DashboardFile | null {
  paths ??= table();
  const entry = paths.get(path);
  if (!entry) return null;
  if (cache.has(path)) return cache.get(path)!;
  let out: DashboardFile | null;
  try {
    out = { body: readFileSync(entry.file(), 'utf8'), type: entry.type };
  } catch {
    out = null;
  }
  cache.set(path, out);
  return out;
}

/** Every path the dashboard serves (tests, docs). */
export function dashboardPaths(): string[] {
  paths ??= table();
  return [...paths.keys()];
}
