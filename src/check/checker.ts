/**
 * The one composition root (DESIGN.md §1): `createChecker(options)` builds, once, everything a
 * check needs — anchors, intermediates, CRLs, revocation mode and sources with their shared
 * caches, AIA, the fetch policy, timeouts, profile, thresholds, client identity, lookup, pins
 * and policy — and checks endpoints with it: `check()` one target, `scan()` many, streamed in
 * completion order with back-pressure. The CLI, the demo, the verified HTTPS clients and the
 * monitor all build their pipelines here; nobody wires caches by hand.
 */
import { setMaxListeners } from 'node:events';
import { isIP } from 'node:net';
import { createSecureContext, rootCertificates } from 'node:tls';
import type { TargetResult } from '../model/result.js';
import { startDeadline } from '../probe/deadline.js';
import type { Observation } from '../probe/observation.js';
import { type ClientIdentity, type LookupFn, probe, systemLookup } from '../probe/probe.js';
import { createProbePool } from '../probe/probePool.js';
import { clientIdentityOptions } from '../probe/secureContext.js';
import { defaultServername } from '../probe/sni.js';
import { STARTTLS_PROTOCOLS } from '../probe/starttls/protocols.js';
import { AiaFetcher, type AiaFetcherOptions } from '../revocation/aia.js';
import {
  OcspCache,
  type OcspCacheOptions,
  type RevocationContext,
  type RevocationMode,
  type RevocationSourceKind,
} from '../revocation/checkRevocation.js';
import { CrlCache, type CrlCacheOptions } from '../revocation/crlCache.js';
import { FetchPolicy } from '../revocation/fetchPolicy.js';
import { effectiveConcurrency } from '../scan/concurrency.js';
import { parseTarget, redactTarget, type StartTlsProtocol, TargetError } from '../scan/target.js';
import { parseDurationText } from '../util/duration.js';
import { untilAborted } from '../util/untilAborted.js';
import type { Crl } from '../verify/crl.js';
import { loadCrls } from '../verify/loadCrls.js';
import type { TlsProfile } from '../verify/options.js';
import type { Certificate } from '../x509/certificate.js';
import { loadCertificates } from '../x509/load.js';
import { writePem } from '../x509/pem.js';
import { CertvetOptionError } from './errors.js';
import { checkFingerprint, checkIssuer, checkPins, type Policy, runPolicy } from './expectations.js';
import { type DnsLookup, lookupFrom } from './lookup.js';
import {
  assessObservation,
  checkTarget as checkScanTarget,
  type ExtraCheck,
  type Prober,
  probeTarget,
  type ScanTarget,
} from './pipeline.js';
import { type CertificateRules, checkRules } from './rules.js';

/** PEM text (any number of blocks), DER bytes, or parsed certificates. */
export type CertificateSource =
  | string
  | Uint8Array
  | Certificate
  | readonly (string | Uint8Array | Certificate)[];
/** PEM text or DER bytes of CRLs, or parsed CRLs. */
export type CrlSource = string | Uint8Array | Crl | readonly (string | Uint8Array | Crl)[];
/** Milliseconds, or a string such as "10s", "500ms", "2m". */
export type Duration = number | string;

export interface CheckerOptions {
  /** Trust anchors; when given, only these are trusted unless `systemCa` is true. */
  readonly ca?: CertificateSource;
  /** Also trust Node's bundled Mozilla roots (the default when no `ca` is given). */
  readonly systemCa?: boolean;
  /** Extra intermediates, to complete chains servers send incompletely. */
  readonly intermediates?: CertificateSource;
  /** CRLs to honour (RFC 5280 §6.3); their unknowns follow `revocation`. */
  readonly crls?: CrlSource;
  /** Revocation checking: off, soft (unknown is a warning, the default) or hard (critical). */
  readonly revocation?: RevocationMode;
  /** Order of the network sources (default ['ocsp', 'crl']); a staple is always used. */
  readonly revocationSources?: readonly RevocationSourceKind[];
  readonly ocspNonce?: boolean;
  /** Complete incomplete chains from AIA caIssuers URLs (default true). */
  readonly aia?: boolean;
  /** Hosts, IP addresses or CIDR blocks certificate-named URLs may be fetched from. */
  readonly fetchAllow?: readonly string[];
  readonly fetchDeny?: readonly string[];
  /** A fetch policy built elsewhere (e.g. shared with the mTLS verifier); overrides fetchAllow/fetchDeny. */
  readonly fetchPolicy?: FetchPolicy;
  /** One OCSP/CRL/AIA fetch (default 5s). */
  readonly fetchTimeout?: Duration;
  /** Largest CRL downloaded (default 64 MiB). */
  readonly crlMaxBytes?: number;
  /** The whole per-target deadline: probe, AIA, OCSP and CRL (default 10s). */
  readonly timeout?: Duration;
  readonly connectTimeout?: Duration;
  /** Retries of transient connection failures (default 0). */
  readonly retries?: number;
  /** webpki (default) or rfc5280. */
  readonly profile?: TlsProfile;
  /** Profile rules critical instead of warnings (default false). */
  readonly strict?: boolean;
  readonly warnDays?: number;
  readonly critDays?: number;
  readonly warnPercent?: number;
  /** A client certificate to present: `{ cert, key }` (PEM) or `{ pfx }`, with `passphrase`. */
  readonly client?: ClientIdentity;
  /** A resolver with `dns.lookup`'s signature (default: the system's). */
  readonly lookup?: DnsLookup;
  readonly servername?: string;
  /** The name the certificate must be valid for (default: the host dialled). */
  readonly expectName?: string;
  readonly starttls?: StartTlsProtocol;
  /** SPKI pins in HPKP syntax (`sha256/BASE64`): some certificate of the path must match. */
  readonly pins?: readonly string[];
  /** The leaf's expected issuer DN. */
  readonly expectIssuer?: string;
  /** The leaf's expected SHA-256 fingerprint (hex). */
  readonly expectFingerprint?: string;
  /** Your own rules: findings returned join the result with `custom:` codes. */
  readonly policy?: Policy;
  /** The common rules as data: key types and sizes, maximum validity, required EKU, forbidden issuers. */
  readonly rules?: CertificateRules;
  /** Also try each TLS version and report which the server accepts. */
  readonly probeProtocols?: boolean;
  /** Verify as of this time instead of now. */
  readonly at?: Date;
  /**
   * Threads the TLS handshakes run on: the calling thread plus `workers − 1` worker threads
   * (default 1: this thread only). Verification, revocation and the caches stay in the calling
   * thread. Call `close()` when done to stop the workers (idle ones never hold the process open).
   */
  readonly workers?: number;
  /**
   * Use another checker's answer caches (OCSP answers, CRLs, AIA issuers) instead of new ones,
   * so that checkers with different trust or thresholds — the service's groups — fetch a CRL
   * once between them. Cached answers do not depend on trust: a CRL or an issuer certificate is
   * checked against each path when it is used, and an OCSP answer is kept per certificate and
   * issuer. CRL and AIA downloads then follow that checker's fetch settings (policy, timeouts,
   * size limit, lookup), so those options and `caches` are refused beside this one.
   */
  readonly shareCachesWith?: Checker;
  /** Sizes and lifetimes of the shared answer caches (defaults in src/revocation/). */
  readonly caches?: {
    readonly ocsp?: Omit<OcspCacheOptions, 'now'>;
    readonly crl?: Omit<CrlCacheOptions, 'now'>;
    readonly aia?: Omit<AiaFetcherOptions, 'now'>;
  };
}

/** A target: the CLI's grammar ("host:port", "https://…", "smtp://…", "[::1]:443") or an object. */
export type TargetInput = string | TargetObject;

/** The target-file shape: per-target options override the checker's. */
export interface TargetObject {
  readonly target: string;
  readonly port?: number;
  /** Dial this address instead of resolving the host (curl's --resolve). */
  readonly resolve?: string;
  readonly servername?: string;
  readonly expectName?: string;
  readonly starttls?: StartTlsProtocol;
  readonly ca?: CertificateSource;
  readonly client?: ClientIdentity;
  readonly warnDays?: number;
  readonly critDays?: number;
  readonly revocation?: RevocationMode;
  readonly pins?: readonly string[];
  readonly expectIssuer?: string;
  readonly expectFingerprint?: string;
  /** Replaces the checker's rule set for this target. */
  readonly rules?: CertificateRules;
}

export interface CheckCallOptions {
  readonly signal?: AbortSignal;
}

export interface ScanCallOptions extends CheckCallOptions {
  /** Targets checked at once (default 32; capped by the open-file limit). */
  readonly concurrency?: number;
}

export interface Checker {
  /** Checks one target: probe, verification, AIA, revocation, expectations. Never throws for the endpoint's faults. */
  check(target: TargetInput, o?: CheckCallOptions): Promise<TargetResult>;
  /** Checks many targets concurrently; results arrive in completion order, and a slow consumer slows the scan. */
  scan(
    targets: Iterable<TargetInput> | AsyncIterable<TargetInput>,
    o?: ScanCallOptions,
  ): AsyncIterable<TargetResult>;
  /**
   * Connects and records what the endpoint sends — the certificates exactly as sent, the
   * staple, protocol, cipher, timings, or why it could not connect — without judging it
   * (`certvet inspect`). Never throws for the endpoint's faults.
   */
  observe(target: TargetInput, o?: CheckCallOptions): Promise<Observation>;
  /** Stops the checker's worker threads (`workers` > 1); checks still running end as errors. Nothing to do otherwise. */
  close(): Promise<void>;
}

const OPTION_KEYS: ReadonlySet<string> = new Set([
  'ca',
  'systemCa',
  'intermediates',
  'crls',
  'revocation',
  'revocationSources',
  'ocspNonce',
  'aia',
  'fetchAllow',
  'fetchDeny',
  'fetchPolicy',
  'fetchTimeout',
  'crlMaxBytes',
  'timeout',
  'connectTimeout',
  'retries',
  'profile',
  'strict',
  'warnDays',
  'critDays',
  'warnPercent',
  'client',
  'lookup',
  'servername',
  'expectName',
  'starttls',
  'pins',
  'expectIssuer',
  'expectFingerprint',
  'policy',
  'rules',
  'probeProtocols',
  'at',
  'caches',
  'shareCachesWith',
  'workers',
] satisfies (keyof CheckerOptions)[]);

const TARGET_KEYS: ReadonlySet<string> = new Set([
  'target',
  'port',
  'resolve',
  'servername',
  'expectName',
  'starttls',
  'ca',
  'client',
  'warnDays',
  'critDays',
  'revocation',
  'pins',
  'expectIssuer',
  'expectFingerprint',
  'rules',
] satisfies (keyof TargetObject)[]);

/** Milliseconds from a Duration, validated. */
export function durationMs(value: Duration, option: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 1 || value > 3600_000)
      throw new CertvetOptionError(option, `${value} is not a duration between 1 ms and 1 h`);
    return Math.round(value);
  }
  const ms = parseDurationText(String(value));
  if (ms === null) throw new CertvetOptionError(option, `"${value}" is not a duration (e.g. 10s, 500ms, 2m)`);
  return durationMs(ms, option);
}

function certificatesOf(src: CertificateSource, option: string): Certificate[] {
  const items = Array.isArray(src) ? (src as readonly (string | Uint8Array | Certificate)[]) : [src];
  const out: Certificate[] = [];
  items.forEach((item, i) => {
    const where = items.length > 1 || Array.isArray(src) ? `${option}[${i}]` : option;
    if (typeof item === 'string' || item instanceof Uint8Array) {
      const bytes = typeof item === 'string' ? Buffer.from(item, 'utf8') : item;
      const { certificates, problems } = loadCertificates(bytes, where);
      if (problems.length)
        throw new CertvetOptionError(where, problems.map((p) => `${p.source}: ${p.message}`).join('; '));
      out.push(...certificates);
    } else if (item && typeof item === 'object' && (item as Certificate).der instanceof Uint8Array)
      out.push(item as Certificate);
    else throw new CertvetOptionError(where, 'expected PEM text, DER bytes or a parsed certificate');
  });
  return out;
}

function crlsOf(src: CrlSource, option: string): Crl[] {
  const items = Array.isArray(src) ? (src as readonly (string | Uint8Array | Crl)[]) : [src];
  const out: Crl[] = [];
  items.forEach((item, i) => {
    const where = Array.isArray(src) ? `${option}[${i}]` : option;
    if (typeof item === 'string' || item instanceof Uint8Array) {
      try {
        out.push(...loadCrls(typeof item === 'string' ? Buffer.from(item, 'utf8') : item, where));
      } catch (e) {
        throw new CertvetOptionError(where, (e as Error).message);
      }
    } else if (item && typeof item === 'object' && (item as Crl).tbs instanceof Uint8Array)
      out.push(item as Crl);
    else throw new CertvetOptionError(where, 'expected PEM text, DER bytes or a parsed CRL');
  });
  return out;
}

function pemOf(certs: readonly Certificate[]): string[] {
  return certs.map((c) => writePem(c.der, 'CERTIFICATE'));
}

function checkKeys(o: object, allowed: ReadonlySet<string>, where: string): void {
  for (const k of Object.keys(o))
    if (!allowed.has(k))
      throw new CertvetOptionError(`${where}${k}`, `unknown option (known: ${[...allowed].join(', ')})`);
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], option: string): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw new CertvetOptionError(option, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
  return v as T;
}

function flag(v: unknown, option: string): void {
  if (v !== undefined && typeof v !== 'boolean')
    throw new CertvetOptionError(option, 'must be true or false');
}

function stringList(v: unknown, option: string): void {
  if (v === undefined) return;
  if (!Array.isArray(v) || v.some((e) => typeof e !== 'string'))
    throw new CertvetOptionError(
      option,
      `must be an array of strings (e.g. ["10.0.0.0/8"]), not ${JSON.stringify(v)}`,
    );
}

/**
 * A client identity OpenSSL can use, checked once here rather than failing every handshake
 * (even with servers that never ask for it). Messages name the problem, never the key.
 */
function checkClientIdentity(c: unknown, option: string): void {
  if (c === undefined || (typeof c === 'object' && c !== null && usableIdentities.has(c))) return;
  if (c === null || typeof c !== 'object')
    throw new CertvetOptionError(
      option,
      'must be { cert, key } (PEM) or { pfx }, with an optional passphrase',
    );
  checkKeys(c, CLIENT_KEYS, `${option}.`);
  const id = c as ClientIdentity;
  if (id.pfx === undefined && (id.cert === undefined || id.key === undefined))
    throw new CertvetOptionError(option, 'needs both cert and key (PEM), or pfx');
  if (id.passphrase !== undefined && typeof id.passphrase !== 'string')
    throw new CertvetOptionError(`${option}.passphrase`, 'must be a string');
  try {
    createSecureContext({
      // The probe's own security level: legacy identities (SHA-1, small keys) are still usable.
      ciphers: 'DEFAULT:@SECLEVEL=0',
      ...clientIdentityOptions(id),
    });
  } catch (e) {
    throw new CertvetOptionError(option, `cannot be used: ${(e as Error).message}`);
  }
  usableIdentities.add(c);
}

/** Identities already checked (a target file's entries may share one). */
const usableIdentities = new WeakSet<object>();

const CLIENT_KEYS: ReadonlySet<string> = new Set(['cert', 'key', 'pfx', 'passphrase']);

function nonNegative(v: unknown, option: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new CertvetOptionError(option, 'must be a non-negative number');
  return v;
}

const systemAnchorsOnce: { certs?: Certificate[] } = {};
function systemAnchors(): Certificate[] {
  systemAnchorsOnce.certs ??= rootCertificates.flatMap(
    (p) => loadCertificates(Buffer.from(p), 'system store').certificates,
  );
  return systemAnchorsOnce.certs;
}

/** Internals shared with the verified HTTPS clients (not part of the public API). */
export interface CheckerInternals {
  /** The ScanTarget for `input`, with every option resolved. */
  prepare(input: TargetInput): ScanTarget;
  readonly lookup: LookupFn;
  readonly at: Date | undefined;
  /** The revocation pipeline with this checker's shared caches and fetch policy. */
  readonly revocation: Omit<RevocationContext, 'nowSec'>;
  /**
   * The answer caches, for `shareCachesWith` (the AIA fetcher exists even with `aia: false`),
   * with what their answers were fetched and judged with.
   */
  readonly answerCaches: {
    readonly crl: CrlCache;
    readonly ocsp: OcspCache;
    readonly aia: AiaFetcher;
    readonly fetch: RevocationContext['fetch'];
    readonly lookupOption: DnsLookup | undefined;
    readonly nonce: boolean;
    readonly at: Date | undefined;
  };
  /**
   * `scan()` over targets already prepared, yielding each result with the position of its
   * target in the input (the CLI's reports are in input order; jsonl is in completion order).
   */
  scanPrepared(
    targets: Iterable<ScanTarget> | AsyncIterable<ScanTarget>,
    o?: ScanCallOptions,
  ): AsyncIterable<IndexedResult>;
}

/** A result and the position of its target in the scan's input. */
export interface IndexedResult {
  readonly index: number;
  readonly result: TargetResult;
}

const internals = new WeakMap<Checker, CheckerInternals>();

/** The internals of a checker made by createChecker (for src/client/). */
export function checkerInternals(c: Checker): CheckerInternals {
  const i = internals.get(c);
  if (!i) throw new CertvetOptionError('checker', 'not made by createChecker');
  return i;
}

export function createChecker(options: CheckerOptions = {}): Checker {
  if (options === null || typeof options !== 'object')
    throw new CertvetOptionError('options', 'must be an object');
  checkKeys(options, OPTION_KEYS, '');
  const o = options;
  const revocationMode = oneOf(o.revocation, ['off', 'soft', 'hard'] as const, 'revocation') ?? 'soft';
  oneOf(o.starttls ?? undefined, STARTTLS_PROTOCOLS, 'starttls');
  for (const k of ['aia', 'strict', 'systemCa', 'ocspNonce', 'probeProtocols'] as const) flag(o[k], k);
  // A string here would be read character by character: a deny rule that never applies.
  stringList(o.fetchAllow, 'fetchAllow');
  stringList(o.fetchDeny, 'fetchDeny');
  checkClientIdentity(o.client, 'client');
  const profile = oneOf(o.profile, ['rfc5280', 'webpki'] as const, 'profile') ?? 'webpki';
  const sources = o.revocationSources ?? ['ocsp', 'crl'];
  if (!Array.isArray(sources) || sources.length === 0)
    throw new CertvetOptionError('revocationSources', 'must be a non-empty array of "ocsp" and "crl"');
  for (const [i, s] of sources.entries()) oneOf(s, ['ocsp', 'crl'] as const, `revocationSources[${i}]`);
  const warnDays = nonNegative(o.warnDays, 'warnDays') ?? 30;
  const critDays = nonNegative(o.critDays, 'critDays') ?? 7;
  if (critDays > warnDays)
    throw new CertvetOptionError('critDays', `(${critDays}) must not exceed warnDays (${warnDays})`);
  const warnPercent = nonNegative(o.warnPercent, 'warnPercent') ?? 0;
  const retries = nonNegative(o.retries, 'retries') ?? 0;
  const workers = o.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 256)
    throw new CertvetOptionError('workers', `${String(workers)} is not an integer from 1 to 256`);
  const pool = workers > 1 ? createProbePool(workers) : null;
  const prober: Prober = pool ? (p) => pool.probe(p) : probe;
  const timeout = o.timeout === undefined ? 10_000 : durationMs(o.timeout, 'timeout');
  const connectTimeout =
    o.connectTimeout === undefined ? Math.min(timeout, 5000) : durationMs(o.connectTimeout, 'connectTimeout');
  const fetchTimeout = o.fetchTimeout === undefined ? 5000 : durationMs(o.fetchTimeout, 'fetchTimeout');
  if (o.lookup !== undefined && typeof o.lookup !== 'function')
    throw new CertvetOptionError('lookup', "must be a function with dns.lookup's signature");
  if (o.policy !== undefined && typeof o.policy !== 'function')
    throw new CertvetOptionError('policy', 'must be a function (ctx) => findings');
  if (o.at !== undefined && !(o.at instanceof Date && Number.isFinite(o.at.getTime())))
    throw new CertvetOptionError('at', 'must be a valid Date');
  const userAnchors = o.ca !== undefined ? certificatesOf(o.ca, 'ca') : [];
  if (o.ca !== undefined && userAnchors.length === 0)
    throw new CertvetOptionError('ca', 'contains no certificate');
  const useSystem = o.ca === undefined || o.systemCa === true;
  const anchors = [...userAnchors, ...(useSystem ? systemAnchors() : [])];
  const intermediates = o.intermediates !== undefined ? certificatesOf(o.intermediates, 'intermediates') : [];
  // The cross-check's OpenSSL gets the same inputs as certvet: the anchors and the local
  // intermediates. OpenSSL takes a certificate of its store as a trust anchor only when it is
  // self-signed (no X509_V_FLAG_PARTIAL_CHAIN), so an intermediate there only completes chains;
  // a self-issued certificate given as an intermediate is left out (it would become an anchor).
  const intermediatePem = pemOf(intermediates.filter((c) => !c.selfIssued));
  const anchorPem =
    o.ca !== undefined
      ? [...pemOf(userAnchors), ...(o.systemCa ? rootCertificates : []), ...intermediatePem]
      : intermediatePem.length
        ? [...rootCertificates, ...intermediatePem]
        : undefined;
  const crls = o.crls !== undefined ? crlsOf(o.crls, 'crls') : [];
  let policy: FetchPolicy;
  if (o.fetchPolicy !== undefined) {
    if (!(o.fetchPolicy instanceof FetchPolicy))
      throw new CertvetOptionError('fetchPolicy', 'must be a FetchPolicy (or use fetchAllow/fetchDeny)');
    policy = o.fetchPolicy;
  } else
    try {
      policy = new FetchPolicy(o.fetchAllow ?? [], o.fetchDeny ?? []);
    } catch (e) {
      throw new CertvetOptionError('fetchAllow/fetchDeny', (e as Error).message);
    }
  const lookup = o.lookup ? lookupFrom(o.lookup) : systemLookup;
  let shared: CheckerInternals['answerCaches'] | null = null;
  if (o.shareCachesWith !== undefined) {
    if (
      o.shareCachesWith === null ||
      typeof o.shareCachesWith !== 'object' ||
      !internals.has(o.shareCachesWith)
    )
      throw new CertvetOptionError('shareCachesWith', 'must be a checker made by createChecker');
    for (const k of [
      'caches',
      'fetchAllow',
      'fetchDeny',
      'fetchPolicy',
      'fetchTimeout',
      'crlMaxBytes',
    ] as const)
      if (o[k] !== undefined)
        throw new CertvetOptionError(
          k,
          'cannot be given with shareCachesWith: the shared caches fetch with the settings of the checker that made them',
        );
    shared = internals.get(o.shareCachesWith)!.answerCaches;
    // What the cached answers were fetched and judged with must be the same here.
    if (o.lookup !== undefined && o.lookup !== shared.lookupOption)
      throw new CertvetOptionError(
        'lookup',
        'must be the same function as the shared checker’s (its caches resolve with it)',
      );
    if ((o.ocspNonce === true) !== shared.nonce)
      throw new CertvetOptionError('ocspNonce', 'must be the same as the shared checker’s');
    if (o.at?.getTime() !== shared.at?.getTime())
      throw new CertvetOptionError('at', 'must be the same as the shared checker’s');
  }
  const cacheOptions = <K extends 'ocsp' | 'crl' | 'aia'>(kind: K) => {
    const c = o.caches?.[kind];
    if (c === undefined) return {};
    if (typeof c !== 'object' || c === null)
      throw new CertvetOptionError(`caches.${kind}`, 'must be an object');
    for (const [k, v] of Object.entries(c))
      if (!k.endsWith('Ms') && k !== 'maxEntries')
        throw new CertvetOptionError(`caches.${kind}.${k}`, 'unknown option');
      else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        throw new CertvetOptionError(`caches.${kind}.${k}`, 'must be a non-negative number');
    return c as NonNullable<NonNullable<CheckerOptions['caches']>[K]>;
  };
  const fetchOptions = {
    timeoutMs: fetchTimeout,
    policy,
    ...(o.lookup ? { lookup: async (h: string) => (await lookup(h))[0]! } : {}),
  };
  // One set of caches for everything this checker does: a CRL shared by many endpoints is
  // fetched once, an intermediate's OCSP answer asked once.
  const revocation = {
    mode: revocationMode,
    sources,
    crlCache:
      shared?.crl ??
      new CrlCache({ ...fetchOptions, maxBytes: o.crlMaxBytes ?? 64 * 1024 * 1024 }, cacheOptions('crl')),
    ocspCache: shared?.ocsp ?? new OcspCache(cacheOptions('ocsp')),
    nonce: o.ocspNonce === true,
    // Shared caches come with the fetch settings they were filled with (policy, timeouts, lookup).
    fetch: shared?.fetch ?? { ...fetchOptions, maxOcspBytes: 1024 * 1024 },
  };
  const aiaFetcher =
    shared?.aia ?? new AiaFetcher({ ...fetchOptions, maxBytes: 1024 * 1024 }, cacheOptions('aia'));
  const aia = o.aia === false ? undefined : aiaFetcher;
  const expectations = (t: TargetObject | null): ExtraCheck[] => {
    const out: ExtraCheck[] = [];
    const pins = t?.pins ?? o.pins;
    if (pins !== undefined) {
      if (!Array.isArray(pins))
        throw new CertvetOptionError('pins', 'must be an array of sha256/BASE64 strings');
      out.push(checkPins(pins));
    }
    const issuer = t?.expectIssuer ?? o.expectIssuer;
    if (issuer !== undefined) out.push(checkIssuer(issuer));
    const fp = t?.expectFingerprint ?? o.expectFingerprint;
    if (fp !== undefined) out.push(checkFingerprint(fp));
    const rules = t?.rules ?? o.rules;
    if (rules !== undefined) out.push(checkRules(rules, t?.rules ? `target ${t.target}: rules` : 'rules'));
    if (o.policy) out.push(runPolicy(o.policy));
    return out;
  };
  const baseExtra = expectations(null);

  const prepare = (input: TargetInput): ScanTarget => {
    const t: TargetObject | null = typeof input === 'string' ? null : input;
    if (t !== null) {
      if (typeof t !== 'object' || typeof t.target !== 'string')
        throw new CertvetOptionError('target', 'must be a string or an object with a `target` string');
    } else if (typeof input !== 'string') throw new CertvetOptionError('target', 'must be a string');
    const raw = t?.target ?? (input as string);
    // Messages never repeat a password a target may (wrongly) carry; parseTarget refuses it.
    const shown = redactTarget(raw);
    if (t !== null) checkKeys(t, TARGET_KEYS, `target ${shown}: `);
    let spec: ReturnType<typeof parseTarget>;
    try {
      oneOf(t?.starttls ?? undefined, STARTTLS_PROTOCOLS, `target ${shown}: starttls`);
      spec = parseTarget(raw, { starttls: t?.starttls ?? o.starttls ?? null });
    } catch (e) {
      if (e instanceof TargetError) throw new CertvetOptionError('target', e.message);
      throw e;
    }
    // A target's own `starttls` may not contradict its scheme (the checker-wide one only applies
    // to targets without a scheme).
    if (t?.starttls !== undefined && spec.scheme !== null && t.starttls !== spec.starttls)
      throw new CertvetOptionError(
        `target ${shown}: starttls`,
        `"${t.starttls}" contradicts the ${spec.scheme}:// scheme (${spec.starttls ? `STARTTLS ${spec.starttls}` : 'TLS from the first byte'}); write the target without a scheme, or leave starttls out`,
      );
    if (t?.port !== undefined) {
      if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535)
        throw new CertvetOptionError(`target ${shown}: port`, 'must be an integer from 1 to 65535');
      spec = { ...spec, port: t.port };
    }
    if (t?.resolve !== undefined && isIP(t.resolve) === 0)
      throw new CertvetOptionError(`target ${shown}: resolve`, `"${String(t.resolve)}" is not an IP address`);
    const tWarn = nonNegative(t?.warnDays, `target ${shown}: warnDays`) ?? warnDays;
    const tCrit = nonNegative(t?.critDays, `target ${shown}: critDays`) ?? critDays;
    if (tCrit > tWarn)
      throw new CertvetOptionError(
        `target ${shown}: critDays`,
        `(${tCrit}) must not exceed warnDays (${tWarn})`,
      );
    const targetAnchors = t?.ca !== undefined ? certificatesOf(t.ca, `target ${shown}: ca`) : null;
    const mode =
      oneOf(t?.revocation, ['off', 'soft', 'hard'] as const, `target ${shown}: revocation`) ?? revocationMode;
    // Unless told otherwise, the name dialled is indicated (SNI): virtual hosts choose by it.
    const servername = t?.servername ?? o.servername ?? defaultServername(spec.host);
    if (t?.client !== undefined) checkClientIdentity(t.client, `target ${shown}: client`);
    const client = t?.client ?? o.client;
    const extra =
      t && (t.pins || t.expectIssuer || t.expectFingerprint || t.rules) ? expectations(t) : baseExtra;
    return {
      spec,
      servername,
      address: t?.resolve ?? null,
      expectName: t?.expectName ?? o.expectName ?? servername,
      policy: {
        anchors: targetAnchors ?? anchors,
        localIntermediates: intermediates,
        profile,
        conformance: o.strict ? 'enforce' : 'warn',
        warnDays: tWarn,
        critDays: tCrit,
        warnPercent,
        crls,
        crlMode: mode === 'hard' ? 'hard' : 'soft',
        crlUnknownsByRevocation: mode !== 'off',
      },
      ...(targetAnchors
        ? { caPem: [...pemOf(targetAnchors), ...intermediatePem] }
        : anchorPem
          ? { caPem: anchorPem }
          : {}),
      ...(client ? { client } : {}),
      timeouts: { totalMs: timeout, handshakeMs: timeout, connectMs: connectTimeout },
      probeProtocols: o.probeProtocols === true,
      revocation: mode === revocationMode ? revocation : { ...revocation, mode },
      ...(aia ? { aia } : {}),
      ...(extra.length ? { extraChecks: extra } : {}),
    };
  };

  const runOne = (t: ScanTarget, signal: AbortSignal | undefined) =>
    checkScanTarget(t, {
      retries,
      lookup,
      prober,
      ...(o.at ? { at: o.at } : {}),
      ...(signal ? { signal } : {}),
    });

  const checker: Checker = {
    check(target, call = {}) {
      let t: ScanTarget;
      try {
        t = prepare(target);
      } catch (e) {
        return Promise.reject(e);
      }
      return runOne(t, call.signal);
    },
    async *scan(targets, call = {}) {
      for await (const r of scanStream(targets, prepare, runOne, call)) yield r.result;
    },
    async observe(target, call = {}) {
      const t = prepare(target);
      const deadline = startDeadline(timeout, `the connection to ${t.spec.raw}`, call.signal);
      try {
        return await probeTarget(t, deadline.signal, lookup, { postHandshakeWaitMs: 0 }, prober);
      } finally {
        deadline.dispose();
      }
    },
    close: async () => {
      await pool?.close();
    },
  };
  internals.set(checker, {
    prepare,
    lookup,
    at: o.at,
    revocation,
    answerCaches: {
      crl: revocation.crlCache,
      ocsp: revocation.ocspCache,
      aia: aiaFetcher,
      fetch: revocation.fetch,
      lookupOption: shared ? shared.lookupOption : o.lookup,
      nonce: revocation.nonce,
      at: o.at,
    },
    scanPrepared: (targets, call = {}) => scanStream(targets, (t) => t, runOne, call),
  });
  return checker;
}

/**
 * A worker pool over an (async) iterable of targets, yielding results in completion order.
 * At most `concurrency` results wait for the consumer: a slow consumer slows the scan, so
 * memory depends on the concurrency, never on the number of targets. Stopping the iteration
 * (break) or aborting `signal` stops new checks and cancels the ones in flight.
 */
async function* scanStream<T>(
  targets: Iterable<T> | AsyncIterable<T>,
  prepare: (t: T) => ScanTarget,
  runOne: (t: ScanTarget, signal: AbortSignal) => Promise<TargetResult>,
  call: ScanCallOptions,
): AsyncGenerator<IndexedResult> {
  const requested = call.concurrency ?? 32;
  if (!Number.isInteger(requested) || requested < 1)
    throw new CertvetOptionError('concurrency', `${String(requested)} is not a positive integer`);
  const limit = effectiveConcurrency(requested);
  const stop = new AbortController();
  const signal = call.signal ? AbortSignal.any([call.signal, stop.signal]) : stop.signal;
  setMaxListeners(0, signal);
  const source =
    Symbol.asyncIterator in Object(targets)
      ? (targets as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (targets as Iterable<T>)[Symbol.iterator]();
  const ready: IndexedResult[] = [];
  let pulled = 0;
  let failure = null as { error: unknown } | null;
  let active = 0;
  let exhausted = false;
  let wakeConsumer: (() => void) | null = null;
  const wakeProducers: (() => void)[] = [];
  const notify = () => {
    wakeConsumer?.();
    wakeConsumer = null;
  };
  if (!signal.aborted) signal.addEventListener('abort', notify, { once: true });
  const DONE: IteratorResult<T> = { done: true, value: undefined };
  // Pulls are serialised: an async iterator must not be asked twice at once.
  let pulling: Promise<unknown> = Promise.resolve();
  const pull = (): Promise<IteratorResult<T> & { index?: number }> => {
    // The index is taken in pull order, inside the chain.
    const next = pulling.then(() => source.next()).then((n) => (n.done ? n : { ...n, index: pulled++ }));
    pulling = next.catch(() => undefined);
    // A source that waits (a queue, a socket) must not hold the scan past an abort.
    if (signal.aborted) return Promise.resolve(DONE);
    return untilAborted(next, signal, () => DONE);
  };
  const worker = async () => {
    try {
      for (;;) {
        if (signal.aborted || failure) return;
        while (ready.length >= limit && !signal.aborted)
          await new Promise<void>((r) => wakeProducers.push(r));
        if (signal.aborted) return;
        const n = await pull();
        if (n.done) return;
        const index = n.index!;
        const t = prepare(n.value);
        const r = await runOne(t, signal);
        if (signal.aborted && r.status === 'error') return; // cut short: not checked
        ready.push({ index, result: r });
        notify();
      }
    } catch (e) {
      failure ??= { error: e };
      notify();
    } finally {
      active--;
      if (active === 0) {
        exhausted = true;
        notify();
      }
    }
  };
  active = limit;
  for (let i = 0; i < limit; i++) void worker();
  try {
    for (;;) {
      if (ready.length) {
        const r = ready.shift()!;
        wakeProducers.shift()?.();
        yield r;
        continue;
      }
      if (failure) throw failure.error;
      // The caller's abort ends the scan with its reason, as undici does: a truncated scan is
      // not mistaken for a complete one.
      if (call.signal?.aborted) throw call.signal.reason;
      if (exhausted) return;
      await new Promise<void>((r) => {
        wakeConsumer = r;
      });
    }
  } finally {
    stop.abort(new Error('the scan was stopped'));
    for (const w of wakeProducers.splice(0)) w();
    if (!exhausted && 'return' in source && typeof source.return === 'function')
      Promise.resolve(source.return()).catch(() => {});
  }
}

/** One-off: `createChecker(options).check(target)`. */
export function checkTarget(
  target: TargetInput,
  options: CheckerOptions & CheckCallOptions = {},
): Promise<TargetResult> {
  const { signal, ...rest } = options;
  return createChecker(rest).check(target, signal ? { signal } : {});
}

/** One-off: `createChecker(options).scan(targets, { concurrency, signal })`. */
export function scan(
  targets: Iterable<TargetInput> | AsyncIterable<TargetInput>,
  options: CheckerOptions & ScanCallOptions = {},
): AsyncIterable<TargetResult> {
  const { signal, concurrency, ...rest } = options;
  return createChecker(rest).scan(targets, {
    ...(signal ? { signal } : {}),
    ...(concurrency !== undefined ? { concurrency } : {}),
  });
}

/**
 * Assesses a connection made elsewhere (the verified HTTPS clients): verification, AIA,
 * revocation and expectations under one deadline, exactly as `check()` would after its probe.
 */
export async function assessConnection(
  checker: Checker,
  input: TargetInput,
  observation: Observation,
  signal?: AbortSignal,
): Promise<TargetResult> {
  const i = checkerInternals(checker);
  const t = i.prepare(input);
  const started = performance.now();
  const deadline = startDeadline(t.timeouts?.totalMs ?? 10_000, `the verification of ${t.spec.raw}`, signal);
  try {
    const r = await assessObservation(t, observation, i.at ?? new Date(), deadline.signal);
    return { ...r, durationMs: Math.round(observation.timings.totalMs + performance.now() - started) };
  } finally {
    deadline.dispose();
  }
}
