import { tidyErrorMessage } from '../util/errorText.js';
import { connectTcp, resolveAddress, runStartTls } from './connect.js';
import { judgeClientCertificate, leaveSession, tlsHandshakeWithCapture } from './handshake.js';
import type { Observation } from './observation.js';
import type { ProbeOptions } from './options.js';
import { ProbeError } from './probeError.js';
import { beginProbe, buildObservation } from './probeRun.js';
import { IMPLICIT_TLS_LEAVES } from './starttls/index.js';

export {
  type ClientIdentity,
  DEFAULT_TIMEOUTS,
  type LookupFn,
  type ProbeOptions,
  type ProbeTimeouts,
  systemLookup,
} from './options.js';

/**
 * Connects to one endpoint and records what it presents. Never decides trust (verification
 * is off during the handshake; Node's own verdict is kept as `crossCheck`), never throws:
 * failures become `error`. Every step is bounded by its timeout and the total deadline.
 *
 * The steps: resolve the address, connect TCP, run STARTTLS (if asked), the TLS handshake with
 * the wire captured, then (TLS 1.3) listen for a post-handshake client-certificate refusal, and
 * leave the session as its protocol asks (a goodbye, a failed MySQL login, close_notify).
 */
export async function probe(o: ProbeOptions): Promise<Observation> {
  const run = beginProbe(o);
  try {
    await resolveAddress(run);
    const sock = await connectTcp(run);
    await runStartTls(run, sock);
    if (!o.starttls && o.protocolOverTls) run.leave = IMPLICIT_TLS_LEAVES[o.protocolOverTls];
    const tls = await tlsHandshakeWithCapture(run, sock);
    if (tls) {
      await judgeClientCertificate(run, tls);
      leaveSession(run, tls);
    }
    return buildObservation(run, null);
  } catch (e) {
    if (e instanceof ProbeError) return buildObservation(run, { code: e.code, message: e.message });
    if (o.signal?.aborted)
      return buildObservation(run, {
        code: 'timeout',
        message: `aborted: ${tidyErrorMessage((e as Error).message)}`,
      });
    return buildObservation(run, {
      code: 'handshake-failed',
      message: tidyErrorMessage((e as Error).message),
    });
  }
}
