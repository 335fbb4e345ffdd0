/*
 * Probes spread over threads (`--workers N`, the checker's `workers` option). The TLS
 * handshakes — the capture, OpenSSL's key exchange and signature checks, the parsing of the
 * handshake from the wire — are the scan's CPU; verification, revocation, AIA and every cache
 * stay in the main thread, which also takes a share of the probes itself (slot 0), so N slots
 * are the main thread plus N−1 workers. Workers start lazily, when every slot is busy, so a
 * one-target check starts none; an idle worker does not keep the process alive.
 *
 * What crosses the boundary is in src/probe/workerProtocol.ts. A worker that dies fails its
 * probes closed: each becomes an Observation with `handshake-failed`, never a silent gap or a
 * pass, and later probes go to the other slots (or a new worker).
 */
import { Worker } from 'node:worker_threads';
import { abortReason } from './deadline.js';
import { LEAVE_MS } from './handshake.js';
import type { Observation } from './observation.js';
import { type ProbeOptions, systemLookup } from './options.js';
import { probe } from './probe.js';
import { type FromWorker, type ToWorker, toWireError, type WireProbeOptions } from './workerProtocol.js';

export interface ProbePool {
  /** Slots: the main thread plus up to `size − 1` worker threads. */
  readonly size: number;
  probe(o: ProbeOptions): Promise<Observation>;
  /** Probes run so far: in the main thread, and per worker started. */
  stats(): { readonly mainThread: number; readonly workers: readonly number[] };
  /** Stops the workers; probes still in flight end as `handshake-failed`. */
  close(): Promise<void>;
}

interface Pending {
  readonly options: ProbeOptions;
  readonly resolve: (o: Observation) => void;
  readonly dispose: () => void;
}

interface WorkerSlot {
  readonly worker: Worker;
  readonly jobs: Map<number, Pending>;
  readonly sentCa: Set<number>;
  readonly sentClient: Set<number>;
  alive: boolean;
  /** The thread has ended (its 'exit' event came). */
  exited: boolean;
  probes: number;
}

/**
 * How long closing the pool lets an idle worker finish leaving its sessions politely (a QUIT
 * and its answer, a MySQL login that fails: src/probe/handshake.ts `leaveSession`, each bounded
 * by LEAVE_MS) before stopping it, as the main thread's own sessions are left before it exits.
 */
const LEAVING_GRACE_MS = LEAVE_MS + 250;

const WORKER_URL = new URL('./probeWorker.js', import.meta.url);

/** An Observation for a probe that no thread could finish: the target is `error`, never ok. */
function failedObservation(o: ProbeOptions, message: string): Observation {
  return {
    address: o.address ?? null,
    port: o.port,
    servername: o.servername ?? null,
    certificates: [],
    protocol: null,
    cipher: null,
    alpn: null,
    ocspStaple: null,
    crossCheck: null,
    clientCert: 'unknown',
    timings: { dnsMs: 0, connectMs: 0, starttlsMs: 0, handshakeMs: 0, totalMs: 0 },
    error: { code: 'handshake-failed', message },
  };
}

/** Asks a worker to end once its sessions are left; settles when it has, or after LEAVING_GRACE_MS. */
function endOf(slot: WorkerSlot): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, LEAVING_GRACE_MS);
    slot.worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    slot.worker.postMessage({ type: 'end' } satisfies ToWorker);
  });
}

export function createProbePool(size: number): ProbePool {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`probe pool size ${size} is not a positive integer`);
  const workers: WorkerSlot[] = [];
  let mainInFlight = 0;
  let mainProbes = 0;
  let nextJob = 0;
  let closed = false;
  // Anchors and identities by reference: each distinct object is sent to a worker once.
  const refs = new WeakMap<object, number>();
  let nextRef = 0;
  const refOf = (x: object) => {
    let r = refs.get(x);
    if (r === undefined) {
      r = ++nextRef;
      refs.set(x, r);
    }
    return r;
  };

  const fail = (slot: WorkerSlot, why: string) => {
    if (!slot.alive) return;
    slot.alive = false;
    for (const [job, p] of slot.jobs) {
      slot.jobs.delete(job);
      p.dispose();
      p.resolve(
        failedObservation(
          p.options,
          `the probe of ${p.options.host}:${p.options.port} was lost: its worker thread stopped (${why})`,
        ),
      );
    }
  };

  const startWorker = (): WorkerSlot => {
    // A worker holds only its in-flight probes. A stated old-space limit makes V8 size its heap
    // by what is live (with the default, short-lived handshake garbage piled up: 100,000 targets
    // on 2 threads peaked 60 MB higher than on one); far above need, so not a constraint. A
    // small young generation (2 MB semi-spaces, as the CLI's main thread: see cli/main.ts)
    // costs no measurable CPU here and keeps about 25 MB less resident.
    const worker = new Worker(WORKER_URL, {
      resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 6 },
    });
    const slot: WorkerSlot = {
      worker,
      jobs: new Map(),
      sentCa: new Set(),
      sentClient: new Set(),
      alive: true,
      exited: false,
      probes: 0,
    };
    worker.unref();
    worker.on('message', (m: FromWorker) => onMessage(slot, m));
    worker.on('error', (e) => fail(slot, e.message));
    worker.on('exit', (code) => {
      slot.exited = true;
      fail(slot, `exit code ${code}`);
    });
    workers.push(slot);
    return slot;
  };

  const settle = (slot: WorkerSlot, job: number, obs: Observation) => {
    const p = slot.jobs.get(job);
    if (!p) return;
    slot.jobs.delete(job);
    if (slot.jobs.size === 0) slot.worker.unref();
    p.dispose();
    p.resolve(obs);
  };

  const onMessage = (slot: WorkerSlot, m: FromWorker) => {
    if (m.type === 'result') settle(slot, m.job, m.observation);
    else if (m.type === 'failed')
      settle(
        slot,
        m.job,
        failedObservation(slot.jobs.get(m.job)?.options ?? { host: '?', port: 0 }, m.error.message),
      );
    else if (m.type === 'lookup') {
      const p = slot.jobs.get(m.job);
      if (!p) return;
      const reply = (r: Omit<Extract<ToWorker, { type: 'lookup-result' }>, 'type' | 'job'>) => {
        if (slot.alive && slot.jobs.has(m.job))
          slot.worker.postMessage({ type: 'lookup-result', job: m.job, ...r } satisfies ToWorker);
      };
      (p.options.lookup ?? systemLookup)(m.host).then(
        (addresses) => reply({ addresses }),
        (e: unknown) => reply({ error: toWireError(e) }),
      );
    }
  };

  const inWorker = (slot: WorkerSlot, o: ProbeOptions): Promise<Observation> => {
    const job = ++nextJob;
    const { lookup, signal, ca, client, ...rest } = o;
    const post = (m: ToWorker) => slot.worker.postMessage(m);
    let caRef: number | undefined;
    if (ca) {
      caRef = refOf(ca);
      if (!slot.sentCa.has(caRef)) {
        post({ type: 'ca', ref: caRef, ca: [...ca] });
        slot.sentCa.add(caRef);
      }
    }
    let clientRef: number | undefined;
    if (client) {
      clientRef = refOf(client);
      if (!slot.sentClient.has(clientRef)) {
        post({ type: 'client', ref: clientRef, client });
        slot.sentClient.add(clientRef);
      }
    }
    const options: WireProbeOptions = {
      ...rest,
      ...(caRef !== undefined ? { caRef } : {}),
      ...(clientRef !== undefined ? { clientRef } : {}),
      remoteLookup: true,
    };
    return new Promise<Observation>((resolve) => {
      const onAbort = () => post({ type: 'cancel', job, reason: toWireError(abortReason(signal)) });
      signal?.addEventListener('abort', onAbort, { once: true });
      const dispose = () => signal?.removeEventListener('abort', onAbort);
      slot.jobs.set(job, { options: o, resolve, dispose });
      if (slot.jobs.size === 1) slot.worker.ref();
      slot.probes++;
      post({ type: 'probe', job, options });
      if (signal?.aborted) onAbort();
    });
  };

  const inMainThread = async (o: ProbeOptions): Promise<Observation> => {
    mainInFlight++;
    mainProbes++;
    try {
      return await probe(o);
    } finally {
      mainInFlight--;
    }
  };

  return {
    size,
    probe(o) {
      if (closed || size === 1) return inMainThread(o);
      const alive = workers.filter((w) => w.alive);
      // A new worker only when every slot is busy.
      const busiest = Math.min(mainInFlight, ...alive.map((w) => w.jobs.size));
      if (busiest > 0 && alive.length < size - 1) return inWorker(startWorker(), o);
      // The least loaded slot; on a tie a worker, since the main thread also verifies.
      let best: WorkerSlot | null = null;
      for (const w of alive) if (!best || w.jobs.size < best.jobs.size) best = w;
      if (best && best.jobs.size <= mainInFlight) return inWorker(best, o);
      return inMainThread(o);
    },
    stats: () => ({ mainThread: mainProbes, workers: workers.map((w) => w.probes) }),
    async close() {
      closed = true;
      await Promise.all(
        workers.map(async (w) => {
          // A worker with probes in flight is stopped at once (they end as errors); an idle one
          // is asked to end, and does when its sessions are left.
          const idle = w.jobs.size === 0;
          fail(w, 'the pool was closed');
          if (idle && !w.exited) await endOf(w);
          await w.worker.terminate();
        }),
      );
    },
  };
}
