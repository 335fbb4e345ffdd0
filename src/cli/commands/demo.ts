import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { labTarget, startLab } from '../../lab/zoo.js';
import { FORMATS, type Format } from '../../report/render.js';
import { oneOf } from '../parse.js';
import { defaultCheckFlags, runCheck } from './check.js';
import { describeEndpoints } from './lab.js';

/** `certvet demo`: start the lab, check every endpoint, print the report, stop. Offline. */
export function registerDemo(
  program: Command,
  io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream },
): void {
  program
    .command('demo')
    .description('the offline showcase: start the lab on 127.0.0.1, check it, print the report, stop')
    .option('--format <format>', `report format: ${FORMATS.join(', ')}`, oneOf(FORMATS), 'text')
    .option('--no-color', 'no colour')
    .action(async (f: { format: Format; color: boolean }) => {
      const started = performance.now();
      // Narration goes to stderr for machine-readable formats, so stdout stays parseable.
      const say = f.format === 'text' ? io.stdout : io.stderr;
      say.write('Starting the certvet lab (a CA and a zoo of TLS servers on 127.0.0.1)…\n');
      const lab = await startLab();
      const dir = mkdtempSync(join(tmpdir(), 'certvet-demo-'));
      try {
        writeFileSync(join(dir, 'ca.pem'), lab.caPem);
        writeFileSync(join(dir, 'intermediates.pem'), lab.intermediatesPem);
        say.write(
          `${describeEndpoints(lab.endpoints)}\n\n$ certvet check <${lab.endpoints.length} targets> --ca lab-ca.pem --chain lab-intermediates.pem\n\n`,
        );
        const code = await runCheck(
          lab.endpoints.map(labTarget),
          defaultCheckFlags({
            ca: [join(dir, 'ca.pem')],
            chain: [join(dir, 'intermediates.pem')],
            resolve: lab.endpoints.map((e) => `${e.host}:${e.port}:${e.address}`),
            format: f.format,
            color: f.color,
            quiet: true,
          }),
          {
            stdout: io.stdout,
            stderr: io.stderr,
            lookup: async (host) => {
              const e = lab.endpoints.find((x) => x.host === host);
              if (!e)
                throw Object.assign(new Error(`demo: no lab endpoint named ${host}`), { code: 'ENOTFOUND' });
              return [e.address];
            },
          },
        );
        say.write(
          `\nDemo finished in ${((performance.now() - started) / 1000).toFixed(1)} s (exit status of the check: ${code}). Start the lab yourself with "certvet lab start".\n`,
        );
      } finally {
        await lab.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
}
