/**
 * The baseline client of `npm run bench:scan`: a bare Node program that completes one verified
 * TLS handshake per target (tls.connect, one shared secure context with the benchmark CA,
 * rejectUnauthorized) at a fixed concurrency, then exits. Run as a whole process, like certvet.
 * Usage: node bareClient.js CA_FILE TARGETS_FILE CONCURRENCY
 */
import { readFileSync } from 'node:fs';
import { connect, createSecureContext } from 'node:tls';

const [caFile, targetsFile, concurrency] = process.argv.slice(2);
const secureContext = createSecureContext({ ca: readFileSync(caFile!) });
const targets = readFileSync(targetsFile!, 'utf8').split('\n').filter(Boolean);
let next = 0;
let failed = 0;
const one = (target: string) =>
  new Promise<void>((resolve) => {
    const i = target.lastIndexOf(':');
    const s = connect(
      {
        host: target.slice(0, i),
        port: Number(target.slice(i + 1)),
        secureContext,
        rejectUnauthorized: true,
      },
      () => {
        s.destroy();
        resolve();
      },
    );
    s.on('error', () => {
      failed++;
      resolve();
    });
  });
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < targets.length) await one(targets[next++]!);
  }),
);
if (failed) console.error(`bareClient: ${failed} handshakes failed`);
process.exitCode = failed ? 1 : 0;
