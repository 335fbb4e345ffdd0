import { rootCertificates } from 'node:tls';
import type { Command } from 'commander';
import type { Finding } from '../../findings/catalogue.js';
import { chainEntry } from '../../model/chainEntryBuilder.js';
import { buildReport, exitCodeOf, statusOf, type TargetResult } from '../../model/result.js';
import { colorsFor } from '../../report/style.js';
import { renderVerifyText } from '../../report/verifyText.js';
import type { Crl } from '../../verify/crl.js';
import type { ExpectedName, Profile } from '../../verify/options.js';
import { verifyCertificate } from '../../verify/verify.js';
import type { Certificate } from '../../x509/certificate.js';
import { loadCertificates } from '../../x509/load.js';
import { OID } from '../../x509/oids.js';
import { readAllCertificates, readCrlFile } from '../certificateFiles.js';
import { UsageError } from '../errors.js';
import { INPUT_LIMITS } from '../files.js';
import {
  collect,
  oneOf,
  parseEmail,
  parseIp,
  parseNonNegativeInt,
  parsePositiveInt,
  parseTime,
  parseUri,
} from '../parse.js';

interface VerifyFlags {
  chain: string[];
  ca: string[];
  systemCa: boolean;
  crl: string[];
  host?: string;
  ip?: string;
  email?: string;
  uri?: string;
  purpose?: 'server' | 'client' | 'email';
  profile: Profile;
  lenient: boolean;
  revocation: 'soft' | 'hard';
  strictAnchors: boolean;
  at?: Date;
  maxDepth?: number;
  format: 'text' | 'json';
  color: boolean;
  crlMaxBytes: number;
}

export function registerVerify(program: Command, io: { stdout: NodeJS.WriteStream }): void {
  program
    .command('verify')
    .description(
      'verify certificate file(s) offline: path building, RFC 5280 validation, name, purpose (no network)',
    )
    .argument(
      '<cert>',
      'the certificate to verify (PEM or DER); further certificates in the same file are used as intermediates',
    )
    .option('--chain <file>', 'intermediate certificates, in any order (repeatable)', collect, [])
    .option(
      '--ca <file>',
      'trust anchors (PEM bundle, repeatable); when given, only these are trusted unless --system-ca',
      collect,
      [],
    )
    .option(
      '--system-ca',
      "also trust Node's bundled Mozilla root store (the default when no --ca is given)",
      false,
    )
    .option('--crl <file>', 'a CRL to honour, PEM or DER (repeatable)', collect, [])
    .option('--host <name>', 'the DNS name the certificate must be valid for')
    .option('--crl-max-bytes <n>', 'largest CRL file read', parsePositiveInt, INPUT_LIMITS.crl)
    .option('--ip <addr>', 'the IP address the certificate must be valid for', parseIp)
    .option(
      '--email <addr>',
      'the email address the certificate must be valid for (client certificates)',
      parseEmail,
    )
    .option('--uri <uri>', 'the URI (e.g. a SPIFFE ID) the certificate must be valid for', parseUri)
    .option(
      '--purpose <purpose>',
      'server, client or email (extended key usage serverAuth / clientAuth / emailProtection; default: server, email with --profile smime)',
      oneOf(['server', 'client', 'email'] as const),
    )
    .option(
      '--profile <profile>',
      'rfc5280, webpki (CA/B Forum TLS Baseline Requirements on top) or smime (CA/B Forum S/MIME Baseline Requirements on top)',
      oneOf(['rfc5280', 'webpki', 'smime'] as const),
      'rfc5280',
    )
    .option(
      '--lenient',
      'report profile deviations (rules that do not by themselves break trust) as warnings',
      false,
    )
    .option(
      '--revocation <mode>',
      'what a --crl that cannot establish a status means: soft (warning) or hard (critical, and every certificate below the anchor must be covered by a --crl); a listed serial is always revoked',
      oneOf(['soft', 'hard'] as const),
      'soft',
    )
    .option(
      '--strict-anchors',
      'also judge the trust anchor by the profile rules (serial, AKI/SKI, criticality), as x509-limbo and pyca/cryptography do',
      false,
    )
    .option('--at <time>', 'verify as of this time (ISO 8601 or epoch seconds) instead of now', parseTime)
    .option(
      '--max-depth <n>',
      'maximum number of intermediates (self-issued ones not counted)',
      parseNonNegativeInt,
    )
    .option('--format <format>', 'text or json', oneOf(['text', 'json'] as const), 'text')
    .option('--no-color', 'no colour in text output (NO_COLOR is honoured too)')
    .action(async (certPath: string, flags: VerifyFlags) => {
      const names = [flags.host, flags.ip, flags.email, flags.uri].filter((x) => x !== undefined);
      if (names.length > 1) throw new UsageError('give at most one of --host, --ip, --email and --uri');
      const purpose = flags.purpose ?? (flags.profile === 'smime' ? 'email' : 'server');
      if (flags.profile === 'smime' && purpose !== 'email')
        throw new UsageError(
          `--profile smime judges email protection certificates: --purpose ${purpose} cannot pass it (use --purpose email, or leave it out)`,
        );
      const started = performance.now();
      const now = flags.at ?? new Date();
      const [leaf, ...rest] = await readAllCertificates(certPath, { what: 'certificate' });
      const intermediates = [...rest];
      for (const p of flags.chain)
        intermediates.push(...(await readAllCertificates(p, { what: 'chain file', flag: '--chain' })));
      const anchors: Certificate[] = [];
      for (const p of flags.ca)
        anchors.push(...(await readAllCertificates(p, { what: 'CA file', flag: '--ca' })));
      if (flags.ca.length === 0 || flags.systemCa)
        for (const pem of rootCertificates)
          anchors.push(...loadCertificates(Buffer.from(pem), 'system store').certificates);
      const crls: Crl[] = [];
      for (const p of flags.crl) crls.push(...(await readCrlFile(p, flags.crlMaxBytes)));
      const expected: ExpectedName[] = flags.host
        ? [{ kind: 'dns', value: flags.host }]
        : flags.ip
          ? [{ kind: 'ip', value: flags.ip }]
          : flags.email
            ? [{ kind: 'email', value: flags.email }]
            : flags.uri
              ? [{ kind: 'uri', value: flags.uri }]
              : [];
      const result = verifyCertificate({
        leaf: leaf!,
        intermediates,
        anchors,
        time: now,
        profile: flags.profile,
        conformance: flags.lenient ? 'warn' : 'enforce',
        purpose: purpose === 'client' ? 'clientAuth' : purpose === 'server' ? 'serverAuth' : 'any',
        // email: the leaf (and any CA's extKeyUsage) must allow emailProtection.
        ...(purpose === 'email' ? { requiredEku: [OID.emailProtection] } : {}),
        expectedNames: expected,
        maxDepth: flags.maxDepth ?? null,
        crls,
        crlPolicy: { mode: flags.revocation, requireCoverage: flags.revocation === 'hard' },
        strictAnchors: flags.strictAnchors,
      });
      const anchorIds = new Set(anchors.map((a) => a.sha256));
      const findings: Finding[] = [...result.findings];
      const settings = `profile ${flags.profile}${flags.lenient ? ' (lenient)' : ''}, purpose ${purpose}, ${expected[0] ? `name ${expected[0].value}` : 'no name checked'}, at ${now.toISOString()}`;
      const r: TargetResult = {
        target: certPath,
        host: expected[0]?.value ?? null,
        port: null,
        address: null,
        servername: null,
        status: statusOf(findings),
        findings,
        chain: result.path.map((c) =>
          chainEntry(c, anchorIds.has(c.sha256) ? 'trust-store' : 'peer', now.getTime()),
        ),
        durationMs: Math.round(performance.now() - started),
        verification: {
          valid: result.valid,
          anchored: result.anchored,
          profile: flags.profile,
          conformance: flags.lenient ? 'warn' : 'enforce',
          at: now.toISOString(),
        },
      };
      const report = buildReport([r]);
      if (flags.format === 'json') io.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else io.stdout.write(renderVerifyText(r, colorsFor(io.stdout, flags.color), settings));
      process.exitCode = exitCodeOf(report);
    });
}
