#!/usr/bin/env -S node --max-old-space-size=1024 --max-semi-space-size=2
/*
 * The old-space limit is a sizing hint, not a need: a scan allocates fast and what is in flight
 * survives into V8's old space, and with the default limit (a quarter of the machine's memory)
 * V8 let that garbage pile up — `check` over 100,000 targets peaked at 500 MB with a live heap
 * under 50 MB; with a stated limit V8 sizes the heap by what is live (40,000 targets: 183 MB
 * instead of 267 MB). 1 GiB is far above what certvet keeps (bounded caches, a spool on disk).
 * The young generation is kept small for the same reason (2 MB semi-spaces instead of 16): a
 * scan's garbage is short-lived, so scavenges stay cheap, and 100,000 targets on two threads
 * peaked at 343 MB with Node's default and 278 MB with this one, at the same CPU time
 * (docs/performance.md). They have to be given at start-up (v8.setFlagsFromString is too late),
 * hence the shebang; `node dist/src/cli/main.js` runs with Node's defaults.
 */
import { run } from './program.js';

// A reader that goes away (`certvet check … | head`) is not an error of ours: stop quietly.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });

run(process.argv).then((code) => {
  process.exitCode = code;
});
