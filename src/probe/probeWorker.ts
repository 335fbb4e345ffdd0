/*
 * A probe worker thread: runs `probe()` for the main thread's pool (src/probe/probePool.ts)
 * and posts each Observation back. Names are resolved by the main thread (its lookup
 * function), and cancellation arrives as a message carrying the abort reason, so a probe here
 * ends exactly as it would in the main thread: same deadlines, same error codes and messages.
 */
import { parentPort } from 'node:worker_threads';
import { DeadlineError } from './deadline.js';
import type { ClientIdentity, LookupFn } from './options.js';
import { probe } from './probe.js';
import { type FromWorker, type ToWorker, toWireError, type WireError } from './workerProtocol.js';

if (!parentPort) throw new Error('probeWorker.js runs only as a worker thread of the probe pool');
const port = parentPort;

const anchors = new Map<number, readonly string[]>();
const clients = new Map<number, ClientIdentity>();
const jobs = new Map<number, AbortController>();
const lookups = new Map<number, { resolve: (a: string[]) => void; reject: (e: Error) => void }>();

function errorOf(w: WireError): Error {
  if (w.name === 'DeadlineError' && w.step !== undefined && w.ms !== undefined)
    return new DeadlineError(w.step, w.ms);
  const e = new Error(w.message) as Error & { code?: string };
  e.name = w.name;
  if (w.code !== undefined) e.code = w.code;
  return e;
}

const post = (m: FromWorker) => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'ca':
      anchors.set(m.ref, m.ca);
      return;
    case 'client':
      clients.set(m.ref, m.client);
      return;
    case 'cancel':
      jobs.get(m.job)?.abort(errorOf(m.reason));
      return;
    case 'end':
      // Sessions still being left politely keep the thread alive until they are (each bounded
      // by LEAVE_MS: src/probe/handshake.ts); then nothing does, and the thread ends.
      port.unref();
      return;
    case 'lookup-result': {
      const waiting = lookups.get(m.job);
      lookups.delete(m.job);
      if (m.error) waiting?.reject(errorOf(m.error));
      else waiting?.resolve([...(m.addresses ?? [])]);
      return;
    }
    case 'probe': {
      const { job, options } = m;
      const controller = new AbortController();
      jobs.set(job, controller);
      const { caRef, clientRef, remoteLookup, ...rest } = options;
      const ca = caRef !== undefined ? anchors.get(caRef) : undefined;
      const client = clientRef !== undefined ? clients.get(clientRef) : undefined;
      const lookup: LookupFn = (host) =>
        new Promise<string[]>((resolve, reject) => {
          lookups.set(job, { resolve, reject });
          post({ type: 'lookup', job, host });
        });
      void probe({
        ...rest,
        ...(ca ? { ca } : {}),
        ...(client ? { client } : {}),
        ...(remoteLookup ? { lookup } : {}),
        signal: controller.signal,
      })
        .then(
          (observation) => post({ type: 'result', job, observation }),
          (e: unknown) => post({ type: 'failed', job, error: toWireError(e) }),
        )
        .finally(() => {
          jobs.delete(job);
          lookups.delete(job);
        });
      return;
    }
  }
});
