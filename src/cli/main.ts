#!/usr/bin/env node
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
