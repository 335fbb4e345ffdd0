/*
 * `certvet serve` (and `demo --serve`) as a child process for the end-to-end tests, the wait
 * they all need, and Debian's Chromium launched the way this machine allows (no background
 * networking: its connections would be refused by the closed network).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { CLI } from './cli.js';

export interface ServeProcess {
  readonly proc: ChildProcess;
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly base: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code when the process has ended. */
  readonly exited: Promise<number | null>;
}

/** Starts `certvet ARGS…` and waits for its "listening on http://…" line (20 s at most). */
export async function startServeProcess(
  args: readonly string[],
  o: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ServeProcess> {
  const proc = spawn(process.execPath, [CLI, ...args], {
    ...(o.cwd ? { cwd: o.cwd } : {}),
    env: { ...process.env, NO_COLOR: '1', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => {
    out += d;
    err += d;
  });
  const exited = new Promise<number | null>((r) => proc.on('close', r));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`certvet ${args.join(' ')} did not start:\n${out}`));
    }, o.timeoutMs ?? 20_000);
    const onData = () => {
      const m = /listening on (http:\/\/\S+?)\/?[\s—]/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`certvet ${args.join(' ')} exited with ${code}:\n${out}`));
    });
  });
  return { proc, base, output: () => out, stderr: () => err, exited };
}

/** Polls `fn` until it gives a truthy value (20 s by default); the error names what was awaited. */
export async function until<T>(
  what: string,
  fn: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  o: { ms?: number; intervalMs?: number; diagnostics?: () => string } = {},
): Promise<T> {
  const end = Date.now() + (o.ms ?? 20_000);
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${o.diagnostics?.() ?? ''}`);
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 150));
  }
}

export const CHROMIUM = '/usr/bin/chromium';

/** Debian's Chromium, headless, with nothing that reaches for the network on its own. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
