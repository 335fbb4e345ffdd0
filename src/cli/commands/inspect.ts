import type { Command } from 'commander';
import { type CertificateDetails, certificateDetails, renderInspectText } from '../../report/inspectText.js';
import { colorsFor } from '../../report/style.js';
import { loadCertificates, MAX_CERT_FILE_BYTES } from '../../x509/load.js';
import { InputError } from '../errors.js';
import { readInputFile } from '../files.js';
import { oneOf } from '../parse.js';

interface InspectFlags {
  format: 'text' | 'json';
  color: boolean;
}

export function registerInspect(
  program: Command,
  io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream },
): void {
  program
    .command('inspect')
    .description('show every certificate in PEM or DER files: names, validity, key, extensions, fingerprints')
    .argument('<file...>', 'certificate files (PEM with any number of certificates, or DER); - for stdin')
    .option('--format <format>', 'text or json', oneOf(['text', 'json'] as const), 'text')
    .option('--no-color', 'no colour in text output (NO_COLOR is honoured too)')
    .action((files: string[], flags: InspectFlags) => {
      const now = Date.now();
      const details: CertificateDetails[] = [];
      const problems: string[] = [];
      for (const file of files) {
        let data: Uint8Array;
        try {
          data = readInputFile(file, MAX_CERT_FILE_BYTES, 'certificate file');
        } catch (e) {
          problems.push((e as Error).message);
          continue;
        }
        const loaded = loadCertificates(data, file);
        loaded.certificates.forEach((cert, i) => {
          details.push(certificateDetails(cert, file, i, now));
        });
        for (const p of loaded.problems) problems.push(`${p.source}: ${p.message}`);
        if (loaded.certificates.length === 0 && loaded.problems.length === 0)
          problems.push(`${file}: contains no certificate`);
      }
      if (flags.format === 'json')
        io.stdout.write(JSON.stringify({ version: 1, certificates: details, problems }, null, 2) + '\n');
      else {
        const c = colorsFor(io.stdout, flags.color);
        io.stdout.write(details.map((d) => renderInspectText(d, c)).join('\n'));
      }
      if (problems.length) {
        if (flags.format !== 'json' || details.length === 0) throw new InputError(problems.join('\n'));
        process.exitCode = 3;
      }
    });
}
