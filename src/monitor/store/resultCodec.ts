/*
 * How a check's TargetResult is stored: split into a *body* that repeats from check to check
 * of the same target (findings, the path, TLS facts) and the few fields that change every
 * time (durations, timings, days remaining). The body is identified by the SHA-256 of its
 * JSON, stored once, deflated; a check row keeps only its hash's row id and the `extra` JSON.
 * Measured with bench:serve: ~160 bytes per check instead of ~4.5 KB (docs/performance.md).
 *
 * joinResult(splitResult(r)) deep-equals r (key order aside); test/monitor-store.test.ts.
 */
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { ChainEntry } from '../../model/chainEntry.js';
import type { TargetResult, Timings } from '../../model/result.js';

export interface SplitResult {
  /** SHA-256 of the body's JSON: equal bodies are stored once. */
  readonly hash: Buffer;
  /** The body's JSON (not yet compressed: only a new body is). */
  readonly bodyJson: string;
  /** The volatile fields, JSON. */
  readonly extra: string;
  /** The path's SHA-256, leaf first. */
  readonly chainSha256: readonly string[];
}

interface Extra {
  /** durationMs */
  readonly d: number;
  /** timings: dns, connect, starttls, handshake, total (ms), when the result had them. */
  readonly t?: readonly [number, number, number, number, number];
  /** chain[i].daysRemaining */
  readonly r: readonly number[];
}

export function splitResult(result: TargetResult): SplitResult {
  const { durationMs, timings, chain, ...rest } = result;
  const stableChain = chain.map(({ daysRemaining: _d, ...entry }) => entry);
  const bodyJson = JSON.stringify({ ...rest, chain: stableChain });
  const extra: Extra = {
    d: durationMs,
    ...(timings
      ? {
          t: [timings.dnsMs, timings.connectMs, timings.starttlsMs, timings.handshakeMs, timings.totalMs],
        }
      : {}),
    r: chain.map((c) => c.daysRemaining),
  };
  return {
    hash: createHash('sha256').update(bodyJson).digest(),
    bodyJson,
    extra: JSON.stringify(extra),
    chainSha256: chain.map((c) => c.sha256),
  };
}

export function compressBody(bodyJson: string): Buffer {
  return deflateRawSync(bodyJson);
}

/** The body as stored, decompressed and parsed (callers cache it: bodies repeat). */
export function decodeBody(stored: Buffer): Omit<TargetResult, 'durationMs' | 'timings'> {
  return JSON.parse(inflateRawSync(stored).toString('utf8')) as Omit<TargetResult, 'durationMs' | 'timings'>;
}

export function joinResult(
  body: Omit<TargetResult, 'durationMs' | 'timings'>,
  extraJson: string,
): TargetResult {
  const extra = JSON.parse(extraJson) as Extra;
  const chain = body.chain.map((c, i): ChainEntry => ({ ...c, daysRemaining: extra.r[i] as number }));
  const timings: Timings | undefined = extra.t
    ? {
        dnsMs: extra.t[0],
        connectMs: extra.t[1],
        starttlsMs: extra.t[2],
        handshakeMs: extra.t[3],
        totalMs: extra.t[4],
      }
    : undefined;
  return { ...body, chain, durationMs: extra.d, ...(timings ? { timings } : {}) };
}
