import { isIP } from 'node:net';
import { InvalidArgumentError } from 'commander';
import { parseResolve } from '../scan/target.js';
import { parseDurationText } from '../util/duration.js';

/** --at TIME: ISO 8601 (date or date-time), or seconds since the epoch. */
export function parseTime(value: string): Date {
  const v = value.trim();
  const d = /^\d+$/.test(v) ? new Date(Number(v) * 1000) : new Date(v);
  if (Number.isNaN(d.getTime()))
    throw new InvalidArgumentError(`"${value}" is not an ISO 8601 time or epoch seconds`);
  return d;
}

export function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`"${value}" is not a non-negative integer`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`"${value}" is too large`);
  return n;
}

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!(choices as readonly string[]).includes(value))
      throw new InvalidArgumentError(`"${value}" is not one of ${choices.join(', ')}`);
    return value as T;
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** --timeout DURATION: "10s", "500ms", "2m", or plain seconds. Returns milliseconds. */
export function parseDuration(value: string): number {
  const ms = parseDurationText(value);
  if (ms === null) throw new InvalidArgumentError(`"${value}" is not a duration (e.g. 10s, 500ms, 2m)`);
  if (ms < 1 || ms > 3600_000) throw new InvalidArgumentError(`"${value}" is out of range (1ms to 1h)`);
  return ms;
}

export function parsePositiveInt(value: string): number {
  const n = parseNonNegativeInt(value);
  if (n < 1) throw new InvalidArgumentError(`"${value}" must be at least 1`);
  return n;
}

/** --workers N: 1 to 256 threads. */
export function parseWorkers(value: string): number {
  const n = parsePositiveInt(value);
  if (n > 256) throw new InvalidArgumentError(`"${value}" must be at most 256`);
  return n;
}

/** --shard K/N with 1 <= K <= N. */
export function parseShard(value: string): { k: number; n: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`"${value}" is not K/N (e.g. 2/5)`);
  const k = Number(m[1]);
  const n = Number(m[2]);
  if (n < 1 || k < 1 || k > n) throw new InvalidArgumentError(`"${value}": K must be between 1 and N`);
  return { k, n };
}

/** --revocation-source ocsp,crl: a non-empty list without repeats. */
export function parseSources(value: string): ('ocsp' | 'crl')[] {
  const parts = value
    .split(',')
    .map((x) => x.trim().toLowerCase())
    .filter(Boolean);
  if (!parts.length || parts.some((p) => p !== 'ocsp' && p !== 'crl') || new Set(parts).size !== parts.length)
    throw new InvalidArgumentError(`"${value}" must list ocsp and/or crl, e.g. ocsp,crl`);
  return parts as ('ocsp' | 'crl')[];
}

/** --resolve HOST:PORT:ADDR (repeatable): validated when given, so a bad one is exit 64 naming the flag. */
export function collectResolve(value: string, previous: string[] = []): string[] {
  try {
    parseResolve(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.replace(/^--resolve "[^"]*": /, ''));
  }
  return [...previous, value];
}

/** --ip ADDR: an IPv4 or IPv6 address (brackets allowed). */
export function parseIp(value: string): string {
  const v = value.trim().replace(/^\[(.*)\]$/, '$1');
  if (!isIP(v)) throw new InvalidArgumentError(`"${value}" is not an IPv4 or IPv6 address`);
  return v;
}

/** --email ADDR: local@domain. */
export function parseEmail(value: string): string {
  if (!/^[^@\s]+@[^@\s]+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not an email address`);
  return value;
}

/** --uri URI: an absolute URI (scheme:…), e.g. spiffe://example.org/workload. */
export function parseUri(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\S+$/i.test(value))
    throw new InvalidArgumentError(`"${value}" is not an absolute URI (e.g. spiffe://example.org/service)`);
  return value;
}

/** A TCP port, 0 to 65535 (0: any free port, where that makes sense). */
export function parsePort(value: string): number {
  const n = parseNonNegativeInt(value);
  if (n > 65535) throw new InvalidArgumentError(`"${value}" is not a port (0 to 65535)`);
  return n;
}
