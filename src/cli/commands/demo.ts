import type { Command } from 'commander';
import { createChecker } from '../../check/checker.js';
import type { DnsLookup } from '../../check/lookup.js';
import { labTarget, startLab } from '../../lab/zoo.js';
import { buildReport, exitCodeOf, type TargetResult } from '../../model/result.js';
import { FORMATS, type Format, renderReport } from '../../report/render.js';
import { colorsFor } from '../../report/style.js';
import { oneOf } from '../parse.js';
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
      try {
        say.write(
          `${describeEndpoints(lab.endpoints)}\n\n$ certvet check <${lab.endpoints.length} targets> --ca lab-ca.pem --chain lab-intermediates.pem\n\n`,
        );
        // The lab's names resolve to its addresses; nothing goes to the system resolver.
        const lookup: DnsLookup = (host, _o, cb) => {
          const e = lab.endpoints.find((x) => x.host === host);
          if (e) cb(null, [{ address: e.address, family: e.address.includes(':') ? 6 : 4 }]);
          else cb(Object.assign(new Error(`demo: no lab endpoint named ${host}`), { code: 'ENOTFOUND' }), []);
        };
        const checker = createChecker({ ca: lab.caPem, intermediates: lab.intermediatesPem, lookup });
        const targets = lab.endpoints.map(labTarget);
        const results: TargetResult[] = [];
        for await (const r of checker.scan(targets, { concurrency: 32 })) results.push(r);
        results.sort((a, b) => targets.indexOf(a.target) - targets.indexOf(b.target));
        const report = buildReport(results);
        io.stdout.write(renderReport(report, f.format, colorsFor(io.stdout, f.color)));
        const code = exitCodeOf(report);
        say.write(
          `\nDemo finished in ${((performance.now() - started) / 1000).toFixed(1)} s (exit status of the check: ${code}). Start the lab yourself with "certvet lab start".\n`,
        );
      } finally {
        await lab.close();
      }
    });
}
