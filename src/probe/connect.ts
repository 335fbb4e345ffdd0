import { Socket } from 'node:net';
import { DeadlineError, withDeadline } from './deadline.js';
import { systemLookup } from './options.js';
import { describeNetError, ProbeError } from './probeError.js';
import { type ProbeRun, remaining, where } from './probeRun.js';
import { STARTTLS } from './starttls/index.js';

/** Step 1: the address to dial — given (`address`, an IP host) or the first one the lookup returns. */
export async function resolveAddress(run: ProbeRun): Promise<void> {
  const { o, t } = run;
  if (run.address) return;
  const t0 = performance.now();
  let addrs: string[];
  try {
    addrs = await withDeadline(
      (o.lookup ?? systemLookup)(o.host),
      Math.min(t.connectMs, remaining(run)),
      `resolving ${o.host}`,
      o.signal,
    );
  } catch (e) {
    if (e instanceof DeadlineError) throw new ProbeError('timeout', e.message);
    throw new ProbeError(
      'dns-failed',
      `cannot resolve ${o.host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  run.timings.dnsMs = Math.round(performance.now() - t0);
  if (!addrs.length) throw new ProbeError('dns-failed', `${o.host} has no addresses`);
  run.address = addrs[0]!;
}

/** Step 2: the TCP connection to the resolved address. */
export async function connectTcp(run: ProbeRun): Promise<Socket> {
  const { o, t } = run;
  const t1 = performance.now();
  const sock = new Socket();
  run.socket = sock;
  try {
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
        sock.connect({ host: run.address!, port: o.port });
      }),
      Math.min(t.connectMs, remaining(run)),
      `connecting to ${where(run)}`,
      o.signal,
      () => sock.destroy(),
    );
  } catch (e) {
    if (e instanceof DeadlineError) throw new ProbeError('timeout', e.message);
    throw new ProbeError('connect-failed', describeNetError(e as NodeJS.ErrnoException, where(run)));
  }
  sock.removeAllListeners('error');
  sock.on('error', () => {});
  run.timings.connectMs = Math.round(performance.now() - t1);
  return sock;
}

/** Step 3 (STARTTLS targets only): the plain-text exchange that turns the connection into TLS. */
export async function runStartTls(run: ProbeRun, sock: Socket): Promise<void> {
  const { o, t } = run;
  if (!o.starttls) return;
  const t2 = performance.now();
  try {
    await withDeadline(
      STARTTLS[o.starttls]({ socket: sock, host: run.servername ?? o.host }),
      Math.min(t.handshakeMs, remaining(run)),
      `the ${o.starttls} STARTTLS exchange`,
      o.signal,
    );
  } catch (e) {
    if (e instanceof DeadlineError) throw new ProbeError('timeout', e.message);
    throw new ProbeError(
      'starttls-failed',
      `${o.starttls} STARTTLS with ${where(run)} failed: ${(e as Error).message}`,
    );
  }
  run.timings.starttlsMs = Math.round(performance.now() - t2);
}
