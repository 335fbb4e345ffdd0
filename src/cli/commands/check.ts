import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { type Command, Option } from 'commander';
import { type Checker, checkerInternals, createChecker, type TargetObject } from '../../check/checker.js';
import { CertvetOptionError } from '../../check/errors.js';
import type { DnsLookup } from '../../check/lookup.js';
import type { ScanTarget } from '../../check/pipeline.js';
import { exitCodeOf } from '../../model/result.js';
import { type ClientIdentity, type LookupFn, systemLookup } from '../../probe/probe.js';
import { FORMATS, type Format, reportChunks } from '../../report/render.js';
import { ResultSpool } from '../../report/resultSpool.js';
import { colorsFor } from '../../report/style.js';
import type { RevocationMode, RevocationSourceKind } from '../../revocation/checkRevocation.js';
import { effectiveConcurrency } from '../../scan/concurrency.js';
import { inShard } from '../../scan/shard.js';
import {
  parseResolve,
  parseTarget,
  STARTTLS_PROTOCOLS,
  type StartTlsProtocol,
  TargetError,
} from '../../scan/target.js';
import { type TargetEntry, TargetFileError, targetFileEntries } from '../../scan/targetFile.js';
import { fdBudget } from '../../util/fdBudget.js';
import type { TlsProfile } from '../../verify/options.js';
import type { Certificate } from '../../x509/certificate.js';
import { readAllCertificates, readCrlFile } from '../certificateFiles.js';
import { loadClientIdentity, readPassphrase } from '../clientIdentity.js';
import { InputError, UsageError } from '../errors.js';
import { INPUT_LIMITS, readInput } from '../files.js';
import { deferOptimisation } from '../optimisingCompiler.js';
import {
  collect,
  collectResolve,
  oneOf,
  parseDuration,
  parseNonNegativeInt,
  parsePositiveInt,
  parseShard,
  parseSources,
  parseTime,
  parseWorkers,
} from '../parse.js';
import { openReportOutput } from '../reportOutput.js';

export interface CheckFlags {
  file?: string;
  ca: string[];
  systemCa: boolean;
  chain: string[];
  crl: string[];
  resolve: string[];
  servername?: string;
  expectName?: string;
  warnDays: number;
  critDays: number;
  warnPercent: number;
  timeout: number;
  connectTimeout?: number;
  concurrency: number;
  workers: number;
  retries: number;
  starttls?: StartTlsProtocol;
  clientCert?: string;
  clientKey?: string;
  clientPfx?: string;
  clientKeyPassEnv?: string;
  clientKeyPassFile?: string;
  profile: TlsProfile;
  strict: boolean;
  at?: Date;
  format: Format;
  output?: string;
  color: boolean;
  quiet: boolean;
  shard?: { k: number; n: number };
  probeProtocols: boolean;
  allAddresses: boolean;
  revocation: RevocationMode;
  revocationSource: RevocationSourceKind[];
  fetchAllow: string[];
  fetchDeny: string[];
  fetchTimeout: number;
  crlMaxBytes: number;
  aia: boolean;
  ocspNonce: boolean;
  pin: string[];
  expectIssuer?: string;
  expectFingerprint?: string;
}

/** The defaults of every `check` flag (as commander would fill them), for programmatic runs. */
export function defaultCheckFlags(overrides: Partial<CheckFlags> = {}): CheckFlags {
  return {
    ca: [],
    systemCa: false,
    chain: [],
    crl: [],
    resolve: [],
    warnDays: 30,
    critDays: 7,
    warnPercent: 0,
    timeout: 10_000,
    concurrency: 32,
    workers: Math.min(availableParallelism(), 256),
    retries: 0,
    profile: 'webpki',
    strict: false,
    format: 'text',
    color: true,
    quiet: false,
    probeProtocols: false,
    allAddresses: false,
    revocation: 'soft',
    revocationSource: ['ocsp', 'crl'],
    fetchAllow: [],
    fetchDeny: [],
    fetchTimeout: 5000,
    crlMaxBytes: 64 * 1024 * 1024,
    aia: true,
    ocspNonce: false,
    pin: [],
    ...overrides,
  };
}

interface CheckIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  lookup?: LookupFn;
}

/** Certificates of --ca / --chain / per-target `ca` files, each file read once per run. */
async function loadAnchors(
  paths: readonly string[],
  cache: Map<string, Certificate[]>,
  role: { what: string; flag?: string },
): Promise<Certificate[]> {
  const out: Certificate[] = [];
  for (const p of paths) {
    let certs = cache.get(p);
    if (!certs) {
      certs = await readAllCertificates(p, role);
      cache.set(p, certs);
    }
    out.push(...certs);
  }
  return out;
}

/** Target file entries name their client identity with these keys. */
const ENTRY_IDENTITY_KEYS = { cert: 'clientCert', key: 'clientKey', pfx: 'clientPfx' } as const;

/** Prefixes a per-entry error with the target file and line ("hosts.yaml:12: …"). */
async function atEntry<T>(where: string | null, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (where && (e instanceof UsageError || e instanceof InputError)) {
      const E = e instanceof UsageError ? UsageError : InputError;
      throw new E(`${where}: ${e.message}`);
    }
    throw e;
  }
}

/**
 * What a check run will check: the checker built once from the flags, and the targets as a
 * stream (`targets()` may be iterated more than once; each pass re-reads the entries, never
 * holding more than one prepared target per consumer).
 */
export interface TargetPlan {
  readonly checker: Checker;
  /** Targets after --shard (before --all-addresses), counted by the validation pass. */
  readonly total: number;
  targets(): AsyncIterable<ScanTarget>;
}

/**
 * Reads the flags and the target file and validates every target (a bad line is a usage
 * error naming file:line before anything is checked), without keeping the prepared targets:
 * the scan reads them again as it goes, so memory does not grow with the file.
 */
export async function planTargets(
  args: readonly string[],
  f: CheckFlags,
  lookup?: LookupFn,
): Promise<TargetPlan> {
  const fileName = f.file === '-' ? 'stdin' : f.file;
  let fileEntries: Iterable<TargetEntry> = [];
  if (f.file) {
    const data = await readInput(f.file, { what: 'target file', flag: '-f', limit: INPUT_LIMITS.targets });
    try {
      fileEntries = targetFileEntries(data, fileName!);
    } catch (e) {
      if (e instanceof TargetFileError) throw new UsageError(e.message);
      throw e;
    }
  }
  const argEntries: TargetEntry[] = args.map((a) => ({ target: a, line: 0 }));
  function* entries(): Generator<TargetEntry> {
    yield* argEntries;
    yield* fileEntries;
  }
  const resolveMap = new Map<string, string>();
  for (const r of f.resolve) {
    try {
      const x = parseResolve(r);
      resolveMap.set(`${x.host}:${x.port}`, x.address);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const cache = new Map<string, Certificate[]>();
  const caRole = { what: 'CA file', flag: '--ca' };
  const userAnchors = await loadAnchors(f.ca, cache, caRole);
  const local = await loadAnchors(f.chain, new Map(), { what: 'chain file', flag: '--chain' });
  const crls = [];
  for (const p of f.crl) crls.push(...(await readCrlFile(p, f.crlMaxBytes)));
  const pass = await readPassphrase({ env: f.clientKeyPassEnv, file: f.clientKeyPassFile });
  const globalClient = await loadClientIdentity(
    { cert: f.clientCert, key: f.clientKey, pfx: f.clientPfx },
    pass,
  );
  // The one composition root: anchors, CRLs, revocation and its caches, AIA, the fetch policy,
  // timeouts, thresholds and expectations are built once, by the library.
  let checker: Checker;
  try {
    checker = createChecker({
      ...(f.ca.length ? { ca: userAnchors, systemCa: f.systemCa } : {}),
      intermediates: local,
      crls,
      revocation: f.revocation,
      revocationSources: f.revocationSource,
      ocspNonce: f.ocspNonce,
      aia: f.aia,
      fetchAllow: f.fetchAllow,
      fetchDeny: f.fetchDeny,
      fetchTimeout: f.fetchTimeout,
      crlMaxBytes: f.crlMaxBytes,
      timeout: f.timeout,
      ...(f.connectTimeout !== undefined ? { connectTimeout: f.connectTimeout } : {}),
      retries: f.retries,
      workers: f.workers,
      profile: f.profile,
      strict: f.strict,
      warnDays: f.warnDays,
      critDays: f.critDays,
      warnPercent: f.warnPercent,
      ...(globalClient ? { client: globalClient } : {}),
      ...(lookup ? { lookup: dnsLookupOf(lookup) } : {}),
      ...(f.servername ? { servername: f.servername } : {}),
      ...(f.expectName ? { expectName: f.expectName } : {}),
      ...(f.starttls ? { starttls: f.starttls } : {}),
      ...(f.pin.length ? { pins: f.pin } : {}),
      ...(f.expectIssuer ? { expectIssuer: f.expectIssuer } : {}),
      ...(f.expectFingerprint ? { expectFingerprint: f.expectFingerprint } : {}),
      probeProtocols: f.probeProtocols,
      ...(f.at ? { at: f.at } : {}),
    });
  } catch (e) {
    if (e instanceof CertvetOptionError) throw new UsageError(flagMessage(e));
    throw e;
  }
  const prepare = checkerInternals(checker).prepare;
  const entryClients = new Map<string, ClientIdentity | undefined>();
  /** One entry as a scan target, or null when it belongs to another shard. */
  const toTarget = async (e: TargetEntry): Promise<ScanTarget | null> => {
    let spec: ReturnType<typeof parseTarget>;
    try {
      spec = parseTarget(e.target, { starttls: e.starttls ?? f.starttls ?? null });
    } catch (err) {
      if (err instanceof TargetError)
        throw new UsageError(`${e.line ? `${fileName}:${e.line}: ` : ''}${err.message}`);
      throw err;
    }
    if (e.port) spec = { ...spec, port: e.port };
    if (f.shard && !inShard(spec.raw, f.shard.k, f.shard.n)) return null;
    const where = e.line ? `${fileName}:${e.line}` : null;
    const anchors = e.ca
      ? await atEntry(where, () => loadAnchors(e.ca!, cache, { what: 'CA file', flag: 'ca' }))
      : null;
    const address = e.resolve ?? resolveMap.get(`${spec.host}:${spec.port}`);
    let client: ClientIdentity | undefined;
    if (e.clientCert || e.clientKey) {
      const k = JSON.stringify([e.clientCert, e.clientKey]);
      if (!entryClients.has(k))
        entryClients.set(
          k,
          await atEntry(where, () =>
            loadClientIdentity({ cert: e.clientCert, key: e.clientKey }, pass, ENTRY_IDENTITY_KEYS),
          ),
        );
      client = entryClients.get(k);
    }
    const target: TargetObject = {
      target: e.target,
      ...(e.port ? { port: e.port } : {}),
      ...(address ? { resolve: address } : {}),
      ...(e.servername ? { servername: e.servername } : {}),
      ...(e.expectName ? { expectName: e.expectName } : {}),
      ...(e.starttls ? { starttls: e.starttls } : {}),
      ...(anchors ? { ca: anchors } : {}),
      ...(client ? { client } : {}),
      ...(e.warnDays !== undefined ? { warnDays: e.warnDays } : {}),
      ...(e.critDays !== undefined ? { critDays: e.critDays } : {}),
      ...(e.revocation ? { revocation: e.revocation } : {}),
      ...(e.rules ? { rules: e.rules } : {}),
    };
    try {
      return prepare(target);
    } catch (err) {
      if (err instanceof CertvetOptionError)
        throw new UsageError(`${where ? `${where}: ` : ''}${err.message}`);
      throw err;
    }
  };
  async function* targets(): AsyncGenerator<ScanTarget> {
    for (const e of entries()) {
      const t = await toTarget(e);
      if (t) yield t;
    }
  }
  // The validation pass: every entry is prepared once and dropped.
  let seen = 0;
  let total = 0;
  for (const e of entries()) {
    seen++;
    if (await toTarget(e)) total++;
  }
  if (seen === 0)
    throw new UsageError(
      f.file ? `${fileName}: contains no targets` : 'no targets given (arguments or -f FILE)',
    );
  return { checker, total, targets };
}

/** The CLI's injectable resolver (host → addresses) in dns.lookup's shape, for the library. */
function dnsLookupOf(lookup: LookupFn): DnsLookup {
  return (host, _opts, cb) => {
    lookup(host).then(
      (addrs) =>
        cb(
          null,
          addrs.map((address) => ({ address, family: isIP(address) === 6 ? 6 : 4 })),
        ),
      (err: NodeJS.ErrnoException) => cb(err, []),
    );
  };
}

/** A library option error in the CLI's words (the flag, not the option). */
function flagMessage(e: CertvetOptionError): string {
  const flags: Readonly<Record<string, string>> = {
    pins: '--pin',
    expectIssuer: '--expect-issuer',
    expectFingerprint: '--expect-fingerprint',
    'fetchAllow/fetchDeny': '--fetch-allow/--fetch-deny',
    critDays: '--crit-days',
  };
  const flag = Object.entries(flags).find(([k]) => e.option === k || e.option.startsWith(`${k}[`))?.[1];
  return flag ? `${flag}: ${e.message.replace(/^certvet option [^:]+: /, '')}` : e.message;
}

/**
 * --all-addresses: one target per address of each name (IPv4 and IPv6), so a bad node behind
 * a round-robin name is not hidden by a good one. Names that do not resolve stay as they are
 * (their probe reports dns-failed).
 */
async function* expandAddresses(
  targets: AsyncIterable<ScanTarget>,
  lookup: LookupFn,
): AsyncGenerator<ScanTarget> {
  for await (const t of targets) {
    if (t.address || isIP(t.spec.host)) {
      yield t;
      continue;
    }
    let addrs: string[] = [];
    try {
      addrs = [...new Set(await lookup(t.spec.host))];
    } catch {
      addrs = [];
    }
    if (addrs.length === 0) yield t;
    else for (const a of addrs) yield { ...t, address: a };
  }
}

/**
 * Runs a check and writes the report; returns the exit status. Results stream: `jsonl` is
 * written (to stdout or -o) as each target completes; the other formats wait in a ResultSpool
 * (a compact entry per target in memory, the results themselves in a temporary file once
 * they are many) and are rendered one result at a time. The summary and exit status come
 * from counters.
 */
export async function runCheck(args: readonly string[], f: CheckFlags, io: CheckIo): Promise<number> {
  if (f.critDays > f.warnDays)
    throw new UsageError(`--crit-days (${f.critDays}) must not exceed --warn-days (${f.warnDays})`);
  const plan = await planTargets(args, f, io.lookup);
  const source = f.allAddresses ? expandAddresses(plan.targets(), io.lookup ?? systemLookup) : plan.targets();
  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error('interrupted'));
  const progress = !f.quiet && io.stderr.isTTY === true;
  const concurrency = effectiveConcurrency(f.concurrency, f.allAddresses ? undefined : plan.total);
  if (concurrency < Math.min(f.concurrency, plan.total)) {
    const { limit, measured } = fdBudget();
    io.stderr.write(
      `certvet: --concurrency ${f.concurrency} lowered to ${concurrency}: the open-file limit (ulimit -n) is ${limit}${measured ? '' : ' (assumed)'}; raise it to check more targets at once\n`,
    );
  }
  // Opened before the first check, so an unwritable -o fails at once, not after the scan.
  const out = openReportOutput(f.output, io.stdout);
  const spool = f.format === 'jsonl' ? null : new ResultSpool();
  const summary = { total: 0, ok: 0, warning: 0, critical: 0, error: 0 };
  const of = f.allAddresses ? '' : `/${plan.total}`;
  process.once('SIGINT', onSigint);
  const optimisation = deferOptimisation({
    threads: f.workers,
    cores: availableParallelism(),
    v8: process.versions.v8,
    nodeArguments: `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`,
    plannedTargets: plan.total,
  });
  try {
    try {
      const results = checkerInternals(plan.checker).scanPrepared(source, {
        concurrency,
        signal: controller.signal,
      });
      for await (const { index, result } of results) {
        summary.total++;
        optimisation.onResult();
        summary[result.status]++;
        if (spool) spool.add(result, index);
        else {
          await out.write(`${JSON.stringify(result)}\n`);
          await out.flush();
        }
        if (progress) io.stderr.write(`\r\x1b[2Kchecked ${summary.total}${of}`);
      }
    } catch (e) {
      // An interrupted scan ends with its reason; what was checked is still reported.
      if (!controller.signal.aborted) throw e;
    }
    optimisation.end();
    if (progress) io.stderr.write('\r\x1b[2K');
    if (controller.signal.aborted)
      io.stderr.write(
        `certvet: interrupted: ${summary.total} of ${f.allAddresses ? 'the' : plan.total} targets checked\n`,
      );
    if (spool) {
      const colors = colorsFor(io.stdout, f.color && !f.output);
      for (const chunk of reportChunks(spool, f.format, colors)) await out.write(chunk);
    }
    await out.close();
    await plan.checker.close();
    const code = exitCodeOf({ summary });
    return controller.signal.aborted ? Math.max(code, 130) : code;
  } finally {
    optimisation.end();
    process.off('SIGINT', onSigint);
    await plan.checker.close();
    spool?.close();
    out.destroy();
  }
}

export function registerCheck(program: Command, io: CheckIo): void {
  // The one definition of the defaults: commander shows and fills the same values.
  const D = defaultCheckFlags();
  program
    .command('check')
    .description(
      'verify TLS endpoints now (concurrently): chain, names, expiry, protocol; report; exit by worst status',
    )
    .argument(
      '[target...]',
      'host, host:port, [v6]:port, https://host, smtp://host (STARTTLS), smtps://host, mysql://[user@]host … (default port 443; docs/check.md lists them all)',
    )
    .option(
      '-f, --file <file>',
      'targets: one per line (# comments), or YAML/JSON with per-target options; - for stdin',
    )
    .option(
      '--ca <file>',
      'trust anchors (PEM, repeatable); when given, only these are trusted unless --system-ca',
      collect,
      [],
    )
    .option('--system-ca', "also trust Node's bundled Mozilla roots (the default without --ca)", false)
    .option(
      '--chain <file>',
      'intermediates known locally, to diagnose servers that omit theirs (repeatable)',
      collect,
      [],
    )
    .option('--crl <file>', 'a CRL to honour, PEM or DER (repeatable)', collect, [])
    .option(
      '--resolve <host:port:addr>',
      "connect to ADDR for HOST:PORT (curl's meaning; repeatable; [::1] for IPv6)",
      collectResolve,
      [],
    )
    .option('--servername <name>', 'SNI name to send (default: the host, none for IP addresses)')
    .option('--expect-name <name>', 'the name the certificate must be valid for (default: SNI name or host)')
    .option(
      '--warn-days <n>',
      'warn when a certificate in the path expires within N days',
      parseNonNegativeInt,
      D.warnDays,
    )
    .option(
      '--crit-days <n>',
      'critical when a certificate in the path expires within N days',
      parseNonNegativeInt,
      D.critDays,
    )
    .option(
      '--warn-percent <p>',
      'warn when less than P% of a certificate lifetime remains (short-lived certificates)',
      parseNonNegativeInt,
      D.warnPercent,
    )
    // Defaults shown as a user would write them (commander would print 10000 and 5000).
    .addOption(
      new Option('--timeout <duration>', 'per-target deadline (e.g. 10s, 500ms)')
        .argParser(parseDuration)
        .default(D.timeout, `${D.timeout / 1000}s`),
    )
    .option('--connect-timeout <duration>', 'TCP connect deadline (default: min(timeout, 5s))', parseDuration)
    .option('--concurrency <n>', 'targets checked at once', parsePositiveInt, D.concurrency)
    .option(
      '--workers <n>',
      'threads for the TLS handshakes (this one plus N-1 workers; 1: no workers; default: the CPUs)',
      parseWorkers,
      D.workers,
    )
    .option(
      '--retries <n>',
      'retries of transient network failures per target',
      parseNonNegativeInt,
      D.retries,
    )
    .option(
      '--starttls <proto>',
      `STARTTLS protocol for targets without a scheme (${STARTTLS_PROTOCOLS.join(', ')})`,
      oneOf(STARTTLS_PROTOCOLS),
    )
    .option('--client-cert <file>', 'client certificate (PEM) to present')
    .option('--client-key <file>', 'its private key (PEM, possibly encrypted)')
    .option('--client-pfx <file>', 'client certificate and key as PKCS#12')
    .option('--client-key-pass-env <var>', 'read the key/PKCS#12 passphrase from this environment variable')
    .option('--client-key-pass-file <file>', 'read the key/PKCS#12 passphrase from this file')
    .option(
      '--profile <profile>',
      'webpki (CA/B Forum rules) or rfc5280',
      oneOf(['webpki', 'rfc5280'] as const),
      D.profile,
    )
    .option('--strict', 'profile deviations are critical instead of warnings', false)
    .option('--at <time>', 'verify as of this time (ISO 8601 or epoch seconds)', parseTime)
    .option('--format <format>', FORMATS.join(', '), oneOf(FORMATS), 'text')
    .option('-o, --output <file>', 'write the report to a file')
    .option('--no-color', 'no colour (NO_COLOR is honoured too)')
    .option('-q, --quiet', 'no progress output', false)
    .option('--no-aia', 'do not fetch missing intermediates from AIA caIssuers URLs')
    .option(
      '--pin <sha256/BASE64>',
      'SPKI pin (HPKP syntax) some certificate of the path must match (repeatable): pin-mismatch',
      collect,
      [],
    )
    .option(
      '--expect-issuer <dn>',
      "the leaf's expected issuer DN, e.g. 'CN=Corp Issuing CA,O=Corp': issuer-mismatch",
    )
    .option(
      '--expect-fingerprint <hex>',
      "the leaf's expected SHA-256 fingerprint (colons allowed): fingerprint-mismatch",
    )
    .option(
      '--ocsp-nonce',
      'send a nonce with OCSP requests (RFC 8954); a response echoing another is rejected',
      false,
    )
    .option(
      '--revocation <mode>',
      'off, soft (unknown status is a warning) or hard (unknown is critical, and so is a certificate that names no OCSP responder or CRL)',
      oneOf(['off', 'soft', 'hard'] as const),
      D.revocation,
    )
    .addOption(
      new Option(
        '--revocation-source <list>',
        'network sources to ask, all of them (revoked from any is final): ocsp,crl; a staple is always used',
      )
        .argParser(parseSources)
        .default(D.revocationSource, D.revocationSource.join(',')),
    )
    .option(
      '--fetch-allow <cidr|host>',
      'only fetch OCSP/CRL URLs from these hosts or networks (repeatable)',
      collect,
      [],
    )
    .option(
      '--fetch-deny <cidr|host>',
      'never fetch from these hosts or networks (repeatable; link-local is always denied)',
      collect,
      [],
    )
    .addOption(
      new Option('--fetch-timeout <duration>', 'deadline for one OCSP or CRL fetch')
        .argParser(parseDuration)
        .default(D.fetchTimeout, `${D.fetchTimeout / 1000}s`),
    )
    .addOption(
      new Option('--crl-max-bytes <n>', 'largest CRL downloaded or read from a --crl file')
        .argParser(parsePositiveInt)
        .default(D.crlMaxBytes, `${D.crlMaxBytes} (64 MiB)`),
    )
    .option(
      '--probe-protocols',
      'also try TLS 1.0, 1.1, 1.2 and 1.3 one by one; report deprecated ones accepted',
      false,
    )
    .option(
      '--all-addresses',
      'check every address a name resolves to (IPv4 and IPv6), one result each',
      false,
    )
    .option('--shard <k/n>', 'check only shard K of N (deterministic split for batch runners)', parseShard)
    .action(async (args: string[], flags: CheckFlags) => {
      process.exitCode = await runCheck(args, flags, io);
    });
}
