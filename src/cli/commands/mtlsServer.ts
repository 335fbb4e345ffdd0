import { type FSWatcher, watch } from 'node:fs';
import type { Command } from 'commander';
import { mtlsServerOptions } from '../../mtls/adapters.js';
import type { AllowRule } from '../../mtls/allow.js';
import { clientIdentityOf } from '../../mtls/gate.js';
import { createMtlsHttpsServer } from '../../mtls/servers.js';
import { createClientCertVerifier } from '../../mtls/verifier.js';
import type { Crl } from '../../verify/crl.js';
import { loadCrls } from '../../verify/loadCrls.js';
import { InputError } from '../errors.js';
import { readInputFile } from '../files.js';
import { collect, oneOf, parseNonNegativeInt } from '../parse.js';

interface Flags {
  cert: string;
  key: string;
  ca: string;
  crl?: string;
  port: number;
  host: string;
  allowSpiffe: string[];
  allowSan: string[];
  allowSubject: string[];
  allowFingerprint: string[];
  revocation: 'off' | 'soft' | 'hard';
}

/**
 * `certvet mtls-server`: a demonstration HTTPS server that requires client certificates,
 * verified by certvet, and prints who connected. CA and CRL files are re-read when they
 * change (CA rotation and CRL refresh without a restart).
 */
export function registerMtlsServer(
  program: Command,
  io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream },
): void {
  program
    .command('mtls-server')
    .description(
      'run an HTTPS server that requires client certificates (verified by certvet) and prints who connected',
    )
    .requiredOption('--cert <file>', 'server certificate chain (PEM)')
    .requiredOption('--key <file>', 'server private key (PEM)')
    .requiredOption(
      '--ca <file>',
      'CA certificates that may issue client certificates (PEM; re-read when it changes)',
    )
    .option('--crl <file>', 'CRL to honour (PEM or DER; re-read when it changes)')
    .option('--port <n>', 'port', parseNonNegativeInt, 8443)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--allow-spiffe <domain>', 'allow SPIFFE IDs of this trust domain (repeatable)', collect, [])
    .option(
      '--allow-san <pattern>',
      'allow certificates with a SAN matching this pattern, * as wildcard (repeatable)',
      collect,
      [],
    )
    .option('--allow-subject <pattern>', 'allow subjects matching this pattern (repeatable)', collect, [])
    .option('--allow-fingerprint <sha256>', 'allow this certificate (repeatable)', collect, [])
    .option(
      '--revocation <mode>',
      'network revocation checks of client certificates: off, soft or hard',
      oneOf(['off', 'soft', 'hard'] as const),
      'off',
    )
    .action(async (f: Flags) => {
      const read = (p: string, what: string) =>
        Buffer.from(readInputFile(p, 16 << 20, what)).toString('utf8');
      const crls = (): Crl[] => {
        if (!f.crl) return [];
        try {
          return loadCrls(readInputFile(f.crl, 256 << 20, 'CRL file'), f.crl);
        } catch (e) {
          throw new InputError((e as Error).message);
        }
      };
      const allow: AllowRule[] = [
        ...f.allowSpiffe.map((spiffeTrustDomain) => ({ spiffeTrustDomain })),
        ...f.allowSan.map((san) => ({ san })),
        ...f.allowSubject.map((subject) => ({ subject })),
        ...f.allowFingerprint.map((fingerprint) => ({ fingerprint })),
      ];
      const verifier = createClientCertVerifier({
        ca: read(f.ca, 'CA file'),
        crls: crls(),
        allow,
        revocation: f.revocation,
      });
      const log = (line: string) => io.stdout.write(`${new Date().toISOString()} ${line}\n`);
      verifier.on('accepted', (v) =>
        log(
          `accepted ${v.identity.subject} (sha256 ${v.identity.sha256.slice(0, 16)}…, expires ${v.identity.notAfter})`,
        ),
      );
      verifier.on('rejected', (v) =>
        log(
          `rejected ${v.identity?.subject ?? '(no certificate)'}: ${v.findings
            .filter((x: { severity: string }) => x.severity === 'critical')
            .map((x: { code: string }) => x.code)
            .join(', ')}`,
        ),
      );
      const tlsFiles = () => ({ cert: read(f.cert, 'certificate'), key: read(f.key, 'key') });
      // The gate decides at connection time, before Node's HTTP parser sees the connection;
      // a refused client is disconnected (so TLS clients such as `certvet check` see it).
      const server = createMtlsHttpsServer(
        verifier,
        tlsFiles(),
        (req, res) => {
          const id = clientIdentityOf(req);
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(`${JSON.stringify({ hello: id?.commonName ?? null, identity: id })}\n`);
        },
        { rejection: 'close' },
      );
      const reload = (what: string) => {
        try {
          verifier.update({ ca: read(f.ca, 'CA file'), crls: crls() });
          server.setSecureContext(mtlsServerOptions(verifier, tlsFiles()));
          log(`reloaded ${what}`);
        } catch (e) {
          log(`could not reload ${what}: ${(e as Error).message} (keeping the previous trust)`);
        }
      };
      const watchers: FSWatcher[] = [];
      for (const [file, what] of [
        [f.ca, 'CA bundle'],
        ...(f.crl ? [[f.crl, 'CRL'] as const] : []),
      ] as const) {
        try {
          watchers.push(watch(file, () => reload(what)));
        } catch {
          /* the file may not support watching; SIGHUP still reloads */
        }
      }
      const onHup = () => reload('CA bundle and CRL');
      process.on('SIGHUP', onHup);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(f.port, f.host, () => resolve());
      });
      const port = (server.address() as { port: number }).port;
      io.stdout.write(
        `certvet mtls-server listening on https://${f.host.includes(':') ? `[${f.host}]` : f.host}:${port} (client certificates required; Ctrl-C to stop)\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      for (const w of watchers) w.close();
      process.off('SIGHUP', onHup);
      server.closeAllConnections();
      server.close();
    });
}
