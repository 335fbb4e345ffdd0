import { Socket } from 'node:net';
import { systemLookup } from './options.js';
import { describeNetError, ProbeError } from './probeError.js';
import { type ProbeRun, runStep, where } from './probeRun.js';
import { STARTTLS } from './starttls/index.js';

/** Step 1: the address to dial — given (`address`, an IP host) or the first one the lookup returns. */
export async function resolveAddress(run: ProbeRun): Promise<void> {
  const { o, t } = run;
  if (run.address) return;
  const t0 = performance.now();
  let addrs: string[];
  try {
    addrs = await runStep(run, (o.lookup ?? systemLookup)(o.host), t.connectMs, `resolving ${o.host}`);
  } catch (e) {
    if (e instanceof ProbeError) throw e;
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
    await runStep(
      run,
      new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
        sock.connect({ host: run.address!, port: o.port });
      }),
      t.connectMs,
      `connecting to ${where(run)}`,
      () => sock.destroy(),
    );
  } catch (e) {
    if (e instanceof ProbeError) throw e;
    throw new ProbeError('connect-failed', describeNetError(e as NodeJS.ErrnoException, where(run)));
  }
  sock.removeAllListeners('error');
  sock.on('error', () => {});
  run.timings.connectMs = Math.round(performance.now() - t1);
  return sock;
}

/** The scheme of the same service over TLS from the first byte, for a hint. */
const IMPLICIT_TLS: Partial<Record<string, string>> = {
  smtp: 'smtps://',
  imap: 'imaps://',
  pop3: 'pop3s://',
  ftp: 'ftps://',
  ldap: 'ldaps://',
};

/** Step 3 (STARTTLS targets only): the plain-text exchange that turns the connection into TLS. */
export async function runStartTls(run: ProbeRun, sock: Socket): Promise<void> {
  const { o, t } = run;
  if (!o.starttls) return;
  const t2 = performance.now();
  try {
    run.leave =
      (await runStep(
        run,
        STARTTLS[o.starttls]({ socket: sock, host: run.servername ?? o.host, user: o.user ?? null }),
        t.handshakeMs,
        `the ${o.starttls} STARTTLS exchange with ${where(run)}`,
      )) ?? null;
  } catch (e) {
    if (e instanceof ProbeError) {
      // Silence from a server that should speak first is often TLS from the first byte.
      const alt = IMPLICIT_TLS[o.starttls];
      throw sock.bytesRead === 0
        ? new ProbeError(
            e.code,
            `${e.message}: the server sent nothing${alt ? ` (if it speaks TLS from the first byte, check it as ${alt}…)` : ''}`,
          )
        : e;
    }
    throw new ProbeError(
      'starttls-failed',
      `${o.starttls} STARTTLS with ${where(run)} failed: ${(e as Error).message}`,
    );
  } finally {
    run.timings.starttlsMs = Math.round(performance.now() - t2);
  }
}
