/*
 * Secrets of a channel (SMTP password, HMAC key, a Slack URL, header values) read once, when
 * the notifier is built, from the environment variable or file the config names: a missing one
 * is a configuration error at start-up, not a failed delivery at the first incident. Read
 * secrets are kept only in the channel's closure, and `redact` strips them (and their base64
 * forms, as SMTP AUTH sends them) from any text that might be shown.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { NotifyConfigError } from './errors.js';

export interface SecretSource {
  /** The environment the service runs in (tests pass their own). */
  readonly env: NodeJS.ProcessEnv;
  /** Relative file paths are relative to this (the config file's directory). */
  readonly baseDir: string;
}

export function readEnvSecret(channel: string, what: string, name: string, src: SecretSource): string {
  const v = src.env[name];
  if (v === undefined || v === '')
    throw new NotifyConfigError(channel, `${what}: environment variable ${name} is not set`);
  return v;
}

/** A secret file: its content without the trailing newline editors add. */
export function readFileSecret(channel: string, what: string, path: string, src: SecretSource): string {
  const full = isAbsolute(path) ? path : resolve(src.baseDir, path);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new NotifyConfigError(channel, `${what}: cannot read ${full} (${code})`);
  }
  const v = text.replace(/\r?\n$/, '');
  if (v === '') throw new NotifyConfigError(channel, `${what}: ${full} is empty`);
  return v;
}

export function readFileText(channel: string, what: string, path: string, src: SecretSource): string {
  const full = isAbsolute(path) ? path : resolve(src.baseDir, path);
  try {
    return readFileSync(full, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new NotifyConfigError(channel, `${what}: cannot read ${full} (${code})`);
  }
}

/** Replaces every occurrence of each secret (raw, base64, and base64 of SASL PLAIN forms) by `***`. */
export function redact(text: string, secrets: readonly string[], user?: string): string {
  let out = text;
  const forms = new Set<string>();
  for (const s of secrets) {
    if (s.length < 2) continue;
    forms.add(s);
    forms.add(Buffer.from(s).toString('base64'));
    if (user !== undefined) forms.add(Buffer.from(`\0${user}\0${s}`).toString('base64'));
  }
  for (const f of [...forms].sort((a, b) => b.length - a.length)) out = out.split(f).join('***');
  return out;
}

/** A URL as it may be shown: its origin only (a webhook URL's path and query can be its credential). */
export function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}
