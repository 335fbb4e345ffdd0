import type { Socket } from 'node:net';
import {
  type ConnectionOptions,
  checkServerIdentity,
  type SecureContext,
  type TLSSocket,
  connect as tlsConnect,
} from 'node:tls';
import { CapturingStream } from './capture.js';
import { DeadlineError } from './deadline.js';
import { parseServerHandshake } from './handshakeParser.js';
import { lightenIdentityCheck } from './lightIdentityCheck.js';
import type { Observation } from './observation.js';
import { peerChain } from './peerChain.js';
import { describePlainTextAnswer, PLAIN_TEXT_QUOTED } from './plainTextAnswer.js';
import { describeTlsError, isClientCertAlert, ProbeError } from './probeError.js';
import { type ProbeRun, remaining, runStep, where } from './probeRun.js';
import { secureContextFor } from './secureContext.js';
import { AFTER_TLS, firstLine } from './starttls/afterTls.js';

/** A TLS connection whose bytes from the server are captured, so the handshake can be re-read from the wire. */
export interface CapturedTls {
  readonly ts: TLSSocket;
  /**
   * The chain exactly as sent (order, extras) from the wire; Node's rebuilt chain as a fallback.
   * Each call re-reads the capture (until a reading is complete: nothing later can change it)
   * and refreshes `certificateRequested`.
   */
  sentChain(): Uint8Array[];
  /** Whether the server sent a CertificateRequest, as of the last `sentChain()`. */
  readonly certificateRequested: boolean;
  /** The version the ServerHello chose, as of the last `sentChain()` (null: not read). */
  readonly protocolFromWire: string | null;
  /**
   * Whether the last `sentChain()` read the server's Certificate message from the wire (so the
   * handshake messages before it, a CertificateRequest included, were seen), rather than
   * falling back to Node's rebuilt chain.
   */
  readonly readFromWire: boolean;
  /** Whether we offer a client certificate. */
  readonly haveClientCert: boolean;
  /**
   * What befell the connection so far, recorded from its start: a server may refuse with an
   * alert milliseconds after the handshake, before anyone listens again, and that error must not
   * be lost (GnuTLS over TLS 1.2 does exactly this).
   */
  readonly failure: NodeJS.ErrnoException | null;
  readonly ended: boolean;
  /** The leaf as read from the wire so far, or null (no fallback to Node's chain). */
  leafFromWire(): Uint8Array | null;
  /** The first bytes the server sent (at most `n`), e.g. to say what answered instead of TLS. */
  firstServerBytes(n: number): Uint8Array;
}

/**
 * Step 4: the TLS handshake over the capture, verification off (Node's verdict is kept as the
 * cross-check). Returns null when the server refused the handshake over the client certificate:
 * the probe ends there, without error, with what the server had sent.
 */
export async function tlsHandshakeWithCapture(run: ProbeRun, sock: Socket): Promise<CapturedTls | null> {
  const { t } = run;
  const t3 = performance.now();
  const tls = openCapturedTls(run, sock);
  const { ts } = tls;
  const restoreIdentityCheck = lightenIdentityCheck(ts, () => tls.leafFromWire());
  try {
    await runStep(
      run,
      new Promise<void>((resolve, reject) => {
        ts.once('secureConnect', resolve);
        ts.once('error', reject);
        ts.once('close', () =>
          reject(
            Object.assign(new Error('socket disconnected before secure TLS connection was established'), {
              code: 'ECONNRESET',
            }),
          ),
        );
      }),
      t.handshakeMs,
      `the TLS handshake with ${where(run)}`,
    );
  } catch (e) {
    restoreIdentityCheck();
    run.certificates = tls.sentChain();
    if (e instanceof ProbeError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (run.certificates.length && (isClientCertAlert(err) || refusedAfterRequest(tls, err))) {
      run.clientCert = refusedVerdict(tls);
      // Node knows no protocol for a handshake that did not complete; the ServerHello does.
      run.protocol = ts.getProtocol() ?? tls.protocolFromWire;
      return null;
    }
    throw new ProbeError(
      'handshake-failed',
      describePlainTextAnswer(tls.firstServerBytes(PLAIN_TEXT_QUOTED), where(run), run.o.starttls ?? null) ??
        describeTlsError(err, where(run)),
    );
  }
  restoreIdentityCheck();
  run.timings.handshakeMs = Math.round(performance.now() - t3);
  run.certificates = tls.sentChain();
  run.protocol = ts.getProtocol() ?? null;
  run.cipher = ts.getCipher()?.standardName ?? ts.getCipher()?.name ?? null;
  run.alpn = ts.alpnProtocol || null;
  run.crossCheck = {
    authorized: ts.authorized,
    error: ts.authorizationError ? String(ts.authorizationError) : null,
  };
  return tls;
}

/** Node's identity check made for `name` instead of the name Node would pick (servername or host). */
function identityCheckFor(name: string): NonNullable<ConnectionOptions['checkServerIdentity']> {
  return (_picked, cert) => checkServerIdentity(name, cert);
}

/** Starts TLS on the connected socket through a capturing stream, listening for the keylog and an OCSP staple. */
function openCapturedTls(run: ProbeRun, sock: Socket): CapturedTls {
  const { o, servername } = run;
  let secureContext: SecureContext;
  try {
    secureContext = secureContextFor(o);
  } catch (e) {
    throw new ProbeError(
      'handshake-failed',
      `cannot use the client certificate or CA bundle: ${(e as Error).message}`,
    );
  }
  const capture = new CapturingStream(sock);
  const opts: ConnectionOptions & { requestOCSP: boolean } = {
    socket: capture.asDuplex(),
    // Only for Node's identity check in the cross-check (the connection is already made).
    host: o.host,
    rejectUnauthorized: false,
    requestOCSP: true,
    secureContext,
    ...(servername ? { servername } : {}),
    ...(o.alpn?.length ? { ALPNProtocols: [...o.alpn] } : {}),
    ...(o.identityName ? { checkServerIdentity: identityCheckFor(o.identityName) } : {}),
  };
  const ts = tlsConnect(opts);
  run.tlsSock = ts;
  // TLS 1.3 encrypts the server's Certificate message; the keylog gives the key to read it.
  let serverSecret: Buffer | null = null;
  ts.on('keylog', (line: Buffer) => {
    const m = /^SERVER_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]+ ([0-9a-f]+)/i.exec(line.toString('latin1'));
    if (m) serverSecret = Buffer.from(m[1]!, 'hex');
  });
  let certificateRequested = false;
  let protocolFromWire: string | null = null;
  // Kept for the whole connection (see CapturedTls.failure); also means no error is uncaught.
  let failure: NodeJS.ErrnoException | null = null;
  let ended = false;
  ts.on('error', (e: NodeJS.ErrnoException) => {
    failure ??= e;
  });
  ts.on('end', () => {
    ended = true;
  });
  let readFromWire = false;
  // The handshake as read from the capture, re-read only when more has been captured and the
  // last reading was not yet complete (later records cannot change a complete one).
  let parsed: {
    bytes: number;
    secret: Buffer | null;
    complete: boolean;
    certificates: Uint8Array[] | null;
  } | null = null;
  const fromWire = (): Uint8Array[] | null => {
    const bytes = capture.capturedBytes();
    if (parsed && (parsed.complete || (parsed.bytes === bytes && parsed.secret === serverSecret)))
      return parsed.certificates;
    let certificates: Uint8Array[] | null = null;
    let complete = false;
    try {
      const hs = parseServerHandshake(capture.captured(), serverSecret);
      certificateRequested = hs.certificateRequested;
      protocolFromWire = hs.protocol;
      if (hs.certificates?.length) certificates = hs.certificates;
      complete = hs.complete && certificates !== null;
    } catch {
      /* not (yet) readable */
    }
    parsed = { bytes, secret: serverSecret, complete, certificates };
    return certificates;
  };
  const tls: CapturedTls = {
    ts,
    sentChain: () => {
      const certificates = fromWire();
      readFromWire = certificates !== null;
      return certificates ?? peerChain(ts);
    },
    leafFromWire: () => fromWire()?.[0] ?? null,
    firstServerBytes: (n) => capture.captured().subarray(0, n),
    get certificateRequested() {
      return certificateRequested;
    },
    get protocolFromWire() {
      return protocolFromWire;
    },
    get readFromWire() {
      return readFromWire;
    },
    haveClientCert: Boolean(o.client?.pfx || o.client?.cert),
    get failure() {
      return failure;
    },
    get ended() {
      return ended;
    },
  };
  ts.on('OCSPResponse', (r: Buffer) => {
    if (r?.length) run.ocspStaple = new Uint8Array(r);
  });
  return tls;
}

/**
 * Step 5: how the server took our client certificate (or its absence). Under TLS 1.3 a refusal
 * arrives after the handshake, so listen for it. Before 1.3 OpenSSL refuses inside the
 * handshake, but servers that judge the certificate once the handshake is done — GnuTLS's
 * slapd and Exim, applications that verify and then close — refuse just after it: a server
 * that asked for a certificate (the handshake is plaintext up to then, so this is read from the
 * wire) is listened to as under 1.3. Servers that did not ask are not waited on.
 */
export async function judgeClientCertificate(run: ProbeRun, tls: CapturedTls): Promise<void> {
  if (run.protocol === 'TLSv1.3') return listenForClientCertRefusal(run, tls);
  run.certificates = tls.sentChain();
  if (tls.readFromWire && tls.certificateRequested) await listenForClientCertRefusal(run, tls);
  else run.clientCert = acceptedVerdict(tls);
}

/**
 * TLS 1.3 (and TLS 1.2 servers that judge late): a server judges our client certificate (or its
 * absence) only after our Finished, so its verdict comes after the handshake. After STARTTLS
 * the server is asked its protocol's next command (src/probe/starttls/afterTls.ts) and the
 * answer decides at once, tickets notwithstanding. A server that, as read from the wire, sent no
 * CertificateRequest cannot refuse one (certvet offers no post-handshake authentication):
 * nothing to wait for. One that asked has decided once it refuses (an alert, or a close or
 * reset with nothing sent), sends data, or sends its session tickets; until then it is still
 * deciding, which can take far longer than a loopback round trip on a busy host, so listen up
 * to `decisionWaitMs`. After the tickets, listen `settleMs` more: servers that verify in the
 * application close then. Silence for the whole decision wait is read as "went on" (a server
 * without session tickets); a decision wait cut short by the target's deadline or an abort is
 * a timeout, never a pass. When the handshake could not be read from the wire, a ticket ends
 * the wait (as before).
 */
async function listenForClientCertRefusal(run: ProbeRun, tls: CapturedTls): Promise<void> {
  const { ts } = tls;
  const signal = run.o.signal;
  const given = run.o.postHandshakeWaitMs;
  const settleMs = given ?? Math.min(1000, Math.max(50, run.timings.connectMs * 4 + 30));
  const decisionWaitMs = given ?? Math.max(1000, 2 * settleMs);
  // Knowing whether the server asked for a certificate decides how long to listen.
  run.certificates = tls.sentChain();
  const asked = tls.certificateRequested;
  if (tls.readFromWire && !asked) {
    run.clientCert = acceptedVerdict(tls);
    return;
  }
  const firstWait = asked ? decisionWaitMs : settleMs;
  const firstWaitLeft = remaining(run);
  const cutShort = firstWaitLeft < firstWait;
  // After STARTTLS the client speaks next: ask what a client asks next, and the answer decides
  // (src/probe/starttls/afterTls.ts) — at once, and refusals at the protocol level included.
  const question = asked && tls.readFromWire && run.o.starttls ? AFTER_TLS[run.o.starttls] : undefined;
  let reply = '';
  let refusedReply: string | null = null;
  let closed = false;
  let gotData = false;
  let ticket = false;
  let aborted = false;
  const lateError = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let immediate: NodeJS.Immediate | undefined;
    const stopTimers = () => {
      clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
      immediate = undefined;
    };
    const finish = (e: NodeJS.ErrnoException | null) => {
      if (settled) return;
      settled = true;
      stopTimers();
      signal?.removeEventListener('abort', onAbort);
      // Stop reading: what comes next is the session's leave's to read (a greeting, an
      // answer), or nobody's; a paused socket keeps it, bounded by its buffers.
      ts.off('data', onData);
      ts.pause();
      resolve(e);
    };
    // A timer can fire in the same loop turn as the bytes that would have answered arrive (a
    // busy event loop runs timers before it polls sockets): let one poll phase pass first.
    const arm = (ms: number) => {
      if (settled) return;
      stopTimers();
      timer = setTimeout(() => {
        immediate = setImmediate(() => finish(null));
      }, ms);
    };
    const onAbort = () => {
      aborted = true;
      finish(null);
    };
    // Read so that OpenSSL processes whatever the server sends next; data from the server means
    // it went on with us. What it said is kept (the start of it) for the session's leave.
    const onData = (d: Buffer) => {
      if (run.heardAfterTls.length < HEARD_AFTER_TLS_MAX)
        run.heardAfterTls += d.toString('latin1', 0, HEARD_AFTER_TLS_MAX - run.heardAfterTls.length);
      if (question) {
        reply += d.toString('latin1');
        const verdict = question.judge(reply);
        // A first line longer than any reply is a server that went on and talks (not a refusal).
        if (verdict === null && reply.length < 4096) return;
        if (verdict === 'refused') refusedReply = firstLine(reply) ?? reply.slice(0, 200);
        else gotData = true;
        return finish(null);
      }
      gotData = true;
      finish(null);
    };
    ts.on('data', onData);
    ts.resume();
    // A refusal may have come before this listener: an alert just after the handshake.
    if (tls.failure) return finish(tls.failure);
    if (tls.ended) {
      closed = true;
      return finish(null);
    }
    if (question) ts.write(question.ask);
    ts.once('session', () => {
      if (!asked) return finish(null);
      ticket = true;
      // With a question asked, its answer decides; tickets come before it.
      if (!question) arm(Math.min(settleMs, remaining(run)));
    });
    ts.once('error', (e) => finish(e as NodeJS.ErrnoException));
    ts.once('end', () => {
      closed = true;
      finish(null);
    });
    arm(Math.min(firstWait, firstWaitLeft));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  run.certificates = tls.sentChain();
  const requested = tls.certificateRequested;
  const decided = ticket || gotData || closed || lateError !== null || refusedReply !== null;
  if (refusedReply !== null) {
    run.clientCert = refusedVerdict(tls);
    run.clientCertReply = refusedReply;
  } else if (isClientCertAlert(lateError)) run.clientCert = refusedVerdict(tls);
  // Asked, then closed or reset without a byte of data: the certificate (or its absence) was refused.
  else if (requested && !gotData && (closed || lateError)) run.clientCert = refusedVerdict(tls);
  else if (lateError) return;
  else if (requested && !decided && (aborted || cutShort))
    throw new ProbeError(
      'timeout',
      `${where(run)} asked for a client certificate and had neither accepted nor refused the connection ${
        !aborted
          ? `within the ${Math.round(firstWaitLeft)} ms left of the ${run.t.totalMs} ms deadline`
          : signal?.reason instanceof DeadlineError
            ? `before the deadline (${signal.reason.ms} ms)`
            : 'before the check was interrupted'
      }`,
    );
  else run.clientCert = acceptedVerdict(tls);
}

/**
 * A server that asked for a certificate (as read from the wire) and then ended the handshake —
 * with any alert, a reset or a close — refused the certificate we sent, or the lack of one.
 * Which alert says so varies: OpenSSL sends handshake_failure or certificate_required, GnuTLS
 * over TLS 1.2 decode_error (50), and servers that judge the certificate as the handshake ends
 * just close (a close can overtake their Finished). Nothing else in our last flight is likely
 * to fail by then: the server had already chosen everything and sent its ServerHelloDone.
 */
function refusedAfterRequest(tls: CapturedTls, err: NodeJS.ErrnoException): boolean {
  if (!tls.certificateRequested || !tls.readFromWire) return false;
  return (
    /SSL alert number \d+/.test(err.message) ||
    err.code === 'ECONNRESET' ||
    /socket disconnected before secure TLS connection/i.test(err.message)
  );
}

/** The server refused the handshake over client certificates: ours, or the one we did not send. */
function refusedVerdict(tls: CapturedTls): Observation['clientCert'] {
  return tls.haveClientCert ? 'rejected' : 'required-missing';
}

/** The server went on with us: did it ask for a certificate, and did we have one? */
function acceptedVerdict(tls: CapturedTls): Observation['clientCert'] {
  return tls.certificateRequested ? (tls.haveClientCert ? 'accepted' : 'optional') : 'not-requested';
}

/** The most of what a server says after the handshake that is kept for the session's leave. */
const HEARD_AFTER_TLS_MAX = 4096;

/** The longest a connection is kept to leave its session politely (one or two round trips). */
export const LEAVE_MS = 1000;

/**
 * Step 6: leave the session as its STARTTLS protocol asks (src/probe/starttls/index.ts `Leave`:
 * QUIT, LOGOUT or an LDAP unbind instead of a dropped session, a MySQL login that fails instead
 * of a dropped handshake, a TLS close_notify for PostgreSQL and XMPP).
 * What the probe observed is complete, so this runs on its own, after the probe has returned
 * its observation: it takes the connection over, spends at most LEAVE_MS of its own (never the
 * check's deadline, which the verification and revocation fetches after the probe need), and
 * destroys the connection when done either way.
 */
export function leaveSession(run: ProbeRun, tls: CapturedTls): void {
  const leave = run.leave;
  if (!leave || tls.failure || tls.ended) return;
  const sockets = [run.tlsSock, run.socket];
  // The probe's end (buildObservation) no longer destroys them: this does.
  run.tlsSock = null;
  run.socket = null;
  const release = () => {
    clearTimeout(timer);
    for (const s of sockets) s?.destroy();
  };
  const timer = setTimeout(release, LEAVE_MS);
  timer.unref();
  leave(tls.ts, run.heardAfterTls).then(release, release);
}
