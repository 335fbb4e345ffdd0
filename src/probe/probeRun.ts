import { isIP, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tidyErrorMessage } from '../util/errorText.js';
import { DeadlineError, withDeadline } from './deadline.js';
import type { Observation } from './observation.js';
import { DEFAULT_TIMEOUTS, type ProbeOptions, type ProbeTimeouts } from './options.js';
import { ProbeError } from './probeError.js';
import { defaultServername } from './sni.js';
import type { Leave } from './starttls/index.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * One probe in progress: its options and budget, and what it has learned so far. The steps
 * fill it in; `buildObservation` turns it into the result, whenever the probe ends.
 */
export interface ProbeRun {
  readonly o: ProbeOptions;
  readonly t: ProbeTimeouts;
  /** performance.now() when the probe began: the total deadline counts from here. */
  readonly started: number;
  readonly timings: Mutable<Observation['timings']>;
  readonly servername: string | null;
  address: string | null;
  certificates: Uint8Array[];
  protocol: string | null;
  cipher: string | null;
  alpn: string | null;
  ocspStaple: Uint8Array | null;
  crossCheck: Observation['crossCheck'];
  clientCert: Observation['clientCert'];
  clientCertReply?: string;
  /** How the protocol (STARTTLS, or over TLS from the first byte) leaves the session, if it says. */
  leave: Leave | null;
  /**
   * What the server sent after the handshake while the probe listened for its verdict on our
   * client certificate (latin1, the first 4 KiB): a greeting over implicit TLS, an answer to the
   * after-TLS question. The leave reads on from there.
   */
  heardAfterTls: string;
  /** Sockets to destroy when the probe ends. */
  socket: Socket | null;
  tlsSock: TLSSocket | null;
}

export function beginProbe(o: ProbeOptions): ProbeRun {
  const t = { ...DEFAULT_TIMEOUTS, ...o.timeouts };
  const started = performance.now();
  const timings = { dnsMs: 0, connectMs: 0, starttlsMs: 0, handshakeMs: 0, totalMs: 0 };
  const servername = o.servername !== undefined ? o.servername : defaultServername(o.host);
  return {
    o,
    t,
    started,
    timings,
    servername,
    address: o.address ?? (isIP(o.host) ? o.host : null),
    certificates: [],
    protocol: null,
    cipher: null,
    alpn: null,
    ocspStaple: null,
    crossCheck: null,
    clientCert: 'unknown',
    leave: null,
    heardAfterTls: '',
    socket: null,
    tlsSock: null,
  };
}

/** What is left of the total deadline, in ms (at least 1). */
export function remaining(run: ProbeRun): number {
  return Math.max(1, run.t.totalMs - (performance.now() - run.started));
}

/**
 * Runs one step of the probe under its own time limit (`ownMs`) and what is left of the whole
 * deadline, whichever ends first. A step that runs out of its own limit is a `timeout` saying so;
 * a step the whole deadline cuts short is a `timeout` naming that deadline — in the same words
 * whichever timer fires first, the step's or the caller's deadline signal (they end within a
 * millisecond of each other). Other errors are the caller's to describe.
 */
export async function runStep<T>(
  run: ProbeRun,
  p: Promise<T>,
  ownMs: number,
  step: string,
  onCancel?: () => void,
): Promise<T> {
  const left = remaining(run);
  // Within a few ms of each other, the two limits are one: the whole deadline's.
  const byWhole = left <= ownMs + 10;
  try {
    return await withDeadline(p, Math.min(ownMs, left), step, run.o.signal, onCancel);
  } catch (e) {
    if (!(e instanceof DeadlineError)) throw e;
    const own = e.step === step && !byWhole;
    throw new ProbeError(
      'timeout',
      own ? e.message : `${step} did not complete within the check's ${run.t.totalMs} ms deadline`,
    );
  }
}

/** The dialled endpoint for messages: `address:port`, IPv6 in brackets. */
export function where(run: ProbeRun): string {
  const { address } = run;
  return `${address && isIP(address) === 6 ? `[${address}]` : address}:${run.o.port}`;
}

/**
 * Ends the probe: closes its sockets, stamps the total time and returns the Observation.
 * A failure after the caller's signal fired is reported as the timeout (or interruption) it is,
 * unless the step already described its own timeout.
 */
export function buildObservation(run: ProbeRun, failure: Observation['error']): Observation {
  const { o, timings } = run;
  const error: Observation['error'] =
    failure && failure.code !== 'timeout' && o.signal?.aborted
      ? {
          code: 'timeout',
          message:
            o.signal.reason instanceof DeadlineError
              ? tidyErrorMessage(o.signal.reason.message)
              : 'interrupted before the check completed',
        }
      : failure;
  run.tlsSock?.destroy();
  run.socket?.destroy();
  timings.totalMs = Math.round(performance.now() - run.started);
  return {
    address: run.address,
    port: o.port,
    servername: run.servername,
    certificates: run.certificates,
    protocol: run.protocol,
    cipher: run.cipher,
    alpn: run.alpn,
    ocspStaple: run.ocspStaple,
    crossCheck: run.crossCheck,
    clientCert: run.clientCert,
    ...(run.clientCertReply !== undefined ? { clientCertReply: run.clientCertReply } : {}),
    timings,
    error,
  };
}
