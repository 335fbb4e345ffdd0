import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { createChecker } from '../../check/checker.js';
import { type CertificateDetails, certificateDetails, renderInspectText } from '../../report/inspectText.js';
import { colorsFor } from '../../report/style.js';
import { parseResolve, parseTarget, STARTTLS_PROTOCOLS, type StartTlsProtocol } from '../../scan/target.js';
import { parseCertificate } from '../../x509/certificate.js';
import { readCertificates } from '../certificateFiles.js';
import { InputError } from '../errors.js';
import { collectResolve, oneOf, parseDuration } from '../parse.js';

interface InspectFlags {
  format: 'text' | 'json';
  color: boolean;
  resolve: string[];
  servername?: string;
  starttls?: StartTlsProtocol;
  timeout: number;
}

/** A live endpoint rather than a file: not an existing path, and written as host:port or scheme://. */
function isTarget(arg: string): boolean {
  return arg !== '-' && !existsSync(arg) && (/^[a-z][a-z0-9+.-]*:\/\//i.test(arg) || /:\d+$/.test(arg));
}

async function fetchEndpoint(
  arg: string,
  f: InspectFlags,
): Promise<{ certificates: Uint8Array[]; problem: string | null }> {
  let spec: ReturnType<typeof parseTarget>;
  try {
    spec = parseTarget(arg, f.starttls ? { starttls: f.starttls } : {});
  } catch (e) {
    return { certificates: [], problem: (e as Error).message };
  }
  const resolved = f.resolve
    .map((r) => parseResolve(r))
    .find((r) => r.host === spec.host && r.port === spec.port);
  // Through the library's composition root, as `check` is: inspect shows what was sent.
  const obs = await createChecker({ timeout: f.timeout, revocation: 'off', aia: false }).observe({
    target: arg,
    ...(f.starttls ? { starttls: f.starttls } : {}),
    ...(resolved ? { resolve: resolved.address } : {}),
    ...(f.servername ? { servername: f.servername } : {}),
  });
  const certificates = [...obs.certificates];
  return { certificates, problem: obs.error && !certificates.length ? `${arg}: ${obs.error.message}` : null };
}

export function registerInspect(
  program: Command,
  io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream },
): void {
  program
    .command('inspect')
    .description(
      'show every certificate in PEM or DER files, or sent by a live endpoint: names, validity, key, extensions, fingerprints',
    )
    .argument(
      '<file|target...>',
      'certificate files (PEM, DER; - for stdin) or endpoints (host:port, https://host, smtp://host …)',
    )
    .option('--format <format>', 'text or json', oneOf(['text', 'json'] as const), 'text')
    .option('--no-color', 'no colour in text output (NO_COLOR is honoured too)')
    .option(
      '--resolve <host:port:addr>',
      "for endpoints: connect to ADDR for HOST:PORT (curl's meaning; repeatable; [::1] for IPv6)",
      collectResolve,
      [],
    )
    .option('--servername <name>', 'for endpoints: SNI name')
    .option(
      '--starttls <proto>',
      `for endpoints without a scheme: ${STARTTLS_PROTOCOLS.join(', ')}`,
      oneOf(STARTTLS_PROTOCOLS),
    )
    .option('--timeout <duration>', 'for endpoints: deadline', parseDuration, 10_000)
    .action(async (files: string[], flags: InspectFlags) => {
      const now = Date.now();
      const details: CertificateDetails[] = [];
      const problems: string[] = [];
      for (const file of files) {
        if (isTarget(file)) {
          const r = await fetchEndpoint(file, flags);
          r.certificates.forEach((der, i) => {
            try {
              details.push(certificateDetails(parseCertificate(der), file, i, now));
            } catch (e) {
              problems.push(`${file} (certificate #${i} as sent): ${(e as Error).message}`);
            }
          });
          if (r.problem) problems.push(r.problem);
          continue;
        }
        let loaded: Awaited<ReturnType<typeof readCertificates>>;
        try {
          loaded = await readCertificates(file, { what: 'certificate file' });
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          problems.push(e.message);
          continue;
        }
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
