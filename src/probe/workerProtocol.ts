/*
 * The messages between the probe pool (main thread, src/probe/probePool.ts) and its worker
 * threads (src/probe/probeWorker.ts). Only probes cross the boundary: DNS goes back to the
 * main thread (the caller's lookup function lives there), and verification, revocation and
 * every cache stay there, so a CRL is fetched once per run, not once per worker.
 *
 * Trust anchors and client identities are sent once per worker and referred to by number
 * afterwards: the worker then hands the probe the same objects every time, so its per-object
 * secure-context cache (src/probe/secureContext.ts) keeps working across jobs.
 */
import type { Observation } from './observation.js';
import type { ClientIdentity, ProbeOptions } from './options.js';

/** A probe's options as they cross the thread boundary: no functions, no signal; anchors and identities by reference. */
export type WireProbeOptions = Omit<ProbeOptions, 'lookup' | 'signal' | 'ca' | 'client'> & {
  readonly caRef?: number;
  readonly clientRef?: number;
  /** Whether the main thread has a lookup to ask (otherwise a given `address` or an IP host is dialled). */
  readonly remoteLookup: boolean;
};

export type ToWorker =
  | { readonly type: 'ca'; readonly ref: number; readonly ca: readonly string[] }
  | { readonly type: 'client'; readonly ref: number; readonly client: ClientIdentity }
  | { readonly type: 'probe'; readonly job: number; readonly options: WireProbeOptions }
  | { readonly type: 'cancel'; readonly job: number; readonly reason: WireError }
  /** The pool is closing: end once the sessions still being left are (nothing else holds the thread). */
  | { readonly type: 'end' }
  | {
      readonly type: 'lookup-result';
      readonly job: number;
      readonly addresses?: readonly string[];
      readonly error?: WireError;
    };

export type FromWorker =
  | { readonly type: 'result'; readonly job: number; readonly observation: Observation }
  | { readonly type: 'lookup'; readonly job: number; readonly host: string }
  /** The probe threw (it never should: it turns every failure into an Observation). */
  | { readonly type: 'failed'; readonly job: number; readonly error: WireError };

/** An error as it crosses the boundary: what the probe's messages need of it. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  /** A DeadlineError's step and milliseconds. */
  readonly step?: string;
  readonly ms?: number;
}

export function toWireError(e: unknown): WireError {
  const err = e instanceof Error ? e : new Error(String(e));
  const x = err as Error & { code?: unknown; step?: unknown; ms?: unknown };
  return {
    name: err.name,
    message: err.message,
    ...(typeof x.code === 'string' ? { code: x.code } : {}),
    ...(typeof x.step === 'string' ? { step: x.step } : {}),
    ...(typeof x.ms === 'number' ? { ms: x.ms } : {}),
  };
}
