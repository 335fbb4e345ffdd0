/**
 * The baseline client of `npm run bench:scan`: a bare Node program that completes one
 * verified TLS handshake per target (tls.connect, one shared secure context with the benchmark
 * CA, rejectUnauthorized) at a fixed concurrency, then exits. Run as a whole process, like
 * certvet. MODE isolates one cost of certvet's probe: `plain` (Node's own socket), `capture`
 * (through certvet's CapturingStream, which records the chain as sent and puts Node's
 * JavaScript JSStreamSocket between TLS and the TCP socket),
 * `keylog` (capture plus the keylog listener TLS 1.3 decryption needs).
 * Usage: node bareClient.js CA_FILE TARGETS_FILE CONCURRENCY [MODE]
 */
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { connect, createSecureContext } from 'node:tls';
import { CapturingStream } from '../src/probe/capture.js';

const [caFile, targetsFile, concurrency, mode = 'plain'] = process.argv.slice(2);
const secureContext = createSecureContext({ ca: readFileSync(caFile!) });
const targets = readFileSync(targetsFile!, 'utf8').split('\n').filter(Boolean);
let next = 0;
let failed = 0;
const one = (target: string) =>
  new Promise<void>((resolve) => {
    const i = target.lastIndexOf(':');
    const host = target.slice(0, i);
    const port = Number(target.slice(i + 1));
    const fail = () => {
      failed++;
      resolve();
    };
    const handshake = (socket?: CapturingStream) => {
      const s = connect(
        {
          host,
          port,
          secureContext,
          rejectUnauthorized: true,
          ...(socket ? { socket: socket.asDuplex() } : {}),
        },
        () => {
          s.destroy();
          resolve();
        },
      );
      if (mode === 'keylog') s.on('keylog', () => {});
      s.on('error', fail);
    };
    if (mode === 'plain') return handshake();
    const tcp = new Socket();
    tcp.once('error', fail);
    tcp.connect({ host, port }, () => handshake(new CapturingStream(tcp)));
  });
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < targets.length) await one(targets[next++]!);
  }),
);
if (failed) console.error(`bareClient: ${failed} handshakes failed`);
process.exitCode = failed ? 1 : 0;
