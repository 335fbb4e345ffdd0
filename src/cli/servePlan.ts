/*
 * From a validated service config (src/monitor/config.ts) to what the monitor runs: one
 * checker per group (its anchors, intermediates, CRLs, client identity and thresholds over the
 * defaults) and per /probe module, and the monitored targets with stable ids. Every file the
 * config names is read here, with the CLI's bounded readers, so `serve --check-config` reports
 * an unreadable CA or a bad target-file line before the service starts; errors name the config
 * key (and the target file's line).
 */
import { type Checker, createChecker, type TargetObject } from '../check/checker.js';
import { CertvetOptionError } from '../check/errors.js';
import type { DnsLookup } from '../check/lookup.js';
import {
  type CheckOptionsConfig,
  ConfigError,
  configPath,
  type GroupConfig,
  type ServeConfig,
} from '../monitor/config.js';
import type { MonitoredTarget } from '../monitor/model.js';
import type { MonitorGroup, MonitorPlan } from '../monitor/service.js';
import { targetId } from '../monitor/targetId.js';
import { parseResolve, parseTarget, TargetError } from '../scan/target.js';
import { type TargetEntry, TargetFileError, targetFileEntries } from '../scan/targetFile.js';
import type { Certificate } from '../x509/certificate.js';
import { readAllCertificates, readCrlFile } from './certificateFiles.js';
import { loadClientIdentity, readPassphrase } from './clientIdentity.js';
import { InputError, UsageError } from './errors.js';
import { INPUT_LIMITS, readInput } from './files.js';

const CRL_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The service's answer caches, shared by every group (a library checker's defaults are sized
 * for one trust context: 64 CRLs, 256 issuers, 4,096 OCSP answers).
 */
const SERVICE_CACHES = {
  crl: { maxEntries: 256 },
  aia: { maxEntries: 1024 },
  ocsp: { maxEntries: 16_384 },
} as const;

export { targetId } from '../monitor/targetId.js';

async function atKey<T>(key: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof UsageError || e instanceof InputError || e instanceof CertvetOptionError)
      throw new ConfigError(`${key}: ${e.message}`);
    throw e;
  }
}

interface Built {
  readonly checker: Checker;
}

/** One checker from check options layered over the defaults. */
async function checkerFor(
  config: ServeConfig,
  o: CheckOptionsConfig,
  key: string,
  lookup: DnsLookup | undefined,
  cache: Map<string, Certificate[]>,
  shareCachesWith: Checker | undefined,
): Promise<Built> {
  const d = config.defaults;
  const pick = <K extends keyof CheckOptionsConfig>(k: K): CheckOptionsConfig[K] => o[k] ?? d[k];
  const certs = async (paths: readonly string[] | undefined, what: string, sub: string) => {
    const out: Certificate[] = [];
    for (const p of paths ?? []) {
      const abs = configPath(config, p);
      let c = cache.get(abs);
      if (!c) {
        c = await atKey(`${key}.${sub}`, () => readAllCertificates(abs, { what, flag: sub }));
        cache.set(abs, c);
      }
      out.push(...c);
    }
    return out;
  };
  const ca = pick('ca');
  const anchors = await certs(ca, 'CA file', 'ca');
  const intermediates = await certs(pick('chain'), 'chain file', 'chain');
  const crls = [];
  for (const p of pick('crl') ?? [])
    crls.push(...(await atKey(`${key}.crl`, () => readCrlFile(configPath(config, p), CRL_MAX_BYTES, 'crl'))));
  const passEnv = pick('clientKeyPassEnv');
  const passFile = pick('clientKeyPassFile');
  const pass = await atKey(`${key}.clientKeyPass`, () =>
    readPassphrase({ env: passEnv, file: passFile ? configPath(config, passFile) : undefined }),
  );
  const cert = pick('clientCert');
  const clientKey = pick('clientKey');
  const pfx = pick('clientPfx');
  const client = await atKey(`${key}.client`, () =>
    loadClientIdentity(
      {
        cert: cert ? configPath(config, cert) : undefined,
        key: clientKey ? configPath(config, clientKey) : undefined,
        pfx: pfx ? configPath(config, pfx) : undefined,
      },
      pass,
      { cert: 'clientCert', key: 'clientKey', pfx: 'clientPfx' },
    ),
  );
  try {
    const checker = createChecker({
      ...(ca !== undefined ? { ca: anchors, systemCa: pick('systemCa') === true } : {}),
      intermediates,
      crls,
      revocation: pick('revocation') ?? 'soft',
      profile: pick('profile') ?? 'webpki',
      strict: pick('strict') === true,
      warnDays: pick('warnDays') ?? 30,
      critDays: pick('critDays') ?? 7,
      warnPercent: pick('warnPercent') ?? 0,
      timeout: pick('timeout') ?? 10_000,
      ...(pick('starttls') ? { starttls: pick('starttls')! } : {}),
      ...(client ? { client } : {}),
      ...(lookup ? { lookup } : {}),
      // The one set of caches every checker of the plan shares is sized for all of them.
      ...(shareCachesWith ? { shareCachesWith } : { caches: SERVICE_CACHES }),
    });
    return { checker };
  } catch (e) {
    if (e instanceof CertvetOptionError) throw new ConfigError(`${key}: ${e.message}`);
    throw e;
  }
}

async function groupEntries(config: ServeConfig, g: GroupConfig, i: number): Promise<TargetEntry[]> {
  const out: TargetEntry[] = [];
  for (const t of g.targets ?? [])
    out.push(
      typeof t === 'string'
        ? { target: t, line: 0 }
        : ({
            ...t,
            ca: t.ca === undefined ? undefined : Array.isArray(t.ca) ? t.ca : [t.ca],
            line: 0,
          } as TargetEntry),
    );
  if (g.targetsFile) {
    const file = configPath(config, g.targetsFile);
    const data = await atKey(`groups.${i}.targetsFile`, () =>
      readInput(file, { what: 'target file', flag: 'targetsFile', limit: INPUT_LIMITS.targets }),
    );
    try {
      out.push(...targetFileEntries(data, g.targetsFile));
    } catch (e) {
      if (e instanceof TargetFileError) throw new ConfigError(`groups.${i}.targetsFile: ${e.message}`);
      throw e;
    }
  }
  return out;
}

/**
 * Reads everything the config names and builds the monitor's plan. Every checker of the plan
 * (groups, modules, /probe) shares one set of answer caches, so a CRL named by many groups is
 * fetched once; `cachesFrom` (the running plan's probeChecker, on a reload) carries them over.
 */
export async function buildServePlan(
  config: ServeConfig,
  o: { lookup?: DnsLookup; cachesFrom?: Checker } = {},
): Promise<MonitorPlan> {
  const where = (k: string) => (config.file ? `${config.file}: ${k}` : k);
  const resolveMap = new Map<string, string>();
  for (const [i, r] of config.resolve.entries()) {
    try {
      const x = parseResolve(r);
      resolveMap.set(`${x.host}:${x.port}`, x.address);
    } catch (e) {
      throw new ConfigError(where(`resolve.${i}: ${(e as Error).message}`));
    }
  }
  const cache = new Map<string, Certificate[]>();
  const wrap = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof ConfigError && config.file && !e.message.startsWith(config.file))
        throw new ConfigError(`${config.file}: ${e.message}`);
      throw e;
    }
  };
  return wrap(async () => {
    const groups: MonitorGroup[] = [];
    const ids = new Set<string>();
    // The /probe checker is made first: it holds the caches every other checker shares.
    const probeChecker = (await checkerFor(config, {}, 'defaults', o.lookup, cache, o.cachesFrom)).checker;
    for (const [i, g] of config.groups.entries()) {
      const { checker } = await checkerFor(config, g, `groups.${i}`, o.lookup, cache, probeChecker);
      const entries = await groupEntries(config, g, i);
      const renotifyMs = g.renotify ?? config.defaults.renotify;
      const targets: MonitorGroup['targets'][number][] = [];
      for (const [j, e] of entries.entries()) {
        const at = e.line
          ? `groups.${i}.targetsFile (${g.targetsFile}:${e.line})`
          : `groups.${i}.targets.${j}`;
        let spec: ReturnType<typeof parseTarget>;
        try {
          spec = parseTarget(e.target, {
            starttls: e.starttls ?? g.starttls ?? config.defaults.starttls ?? null,
          });
        } catch (err) {
          if (err instanceof TargetError) throw new ConfigError(`${at}: ${err.message}`);
          throw err;
        }
        const port = e.port ?? spec.port;
        const resolve = e.resolve ?? resolveMap.get(`${spec.host}:${port}`);
        const anchors = e.ca
          ? await (async () => {
              const out: Certificate[] = [];
              for (const p of e.ca!) {
                const abs = configPath(config, p);
                let c = cache.get(abs);
                if (!c) {
                  c = await atKey(`${at}.ca`, () =>
                    readAllCertificates(abs, { what: 'CA file', flag: 'ca' }),
                  );
                  cache.set(abs, c);
                }
                out.push(...c);
              }
              return out;
            })()
          : undefined;
        const input: TargetObject = {
          target: e.target,
          ...(e.port ? { port: e.port } : {}),
          ...(resolve ? { resolve } : {}),
          ...(e.servername ? { servername: e.servername } : {}),
          ...(e.expectName ? { expectName: e.expectName } : {}),
          ...(e.starttls ? { starttls: e.starttls } : {}),
          ...(anchors ? { ca: anchors } : {}),
          ...(e.warnDays !== undefined ? { warnDays: e.warnDays } : {}),
          ...(e.critDays !== undefined ? { critDays: e.critDays } : {}),
          ...(e.revocation ? { revocation: e.revocation } : {}),
          ...(e.rules ? { rules: e.rules } : {}),
        };
        const id = targetId(g.name, e.target, resolve);
        if (ids.has(id))
          throw new ConfigError(`${at}: "${e.target}" is already monitored in group "${g.name}"`);
        ids.add(id);
        const monitored: MonitoredTarget = {
          id,
          group: g.name,
          target: e.target,
          intervalSec: Math.round((g.interval ?? config.defaults.interval) / 1000),
          labels: g.labels ?? {},
          warnDays: e.warnDays ?? g.warnDays ?? config.defaults.warnDays ?? 30,
          critDays: e.critDays ?? g.critDays ?? config.defaults.critDays ?? 7,
          renotifySec: renotifyMs === undefined ? null : Math.round(renotifyMs / 1000),
        };
        targets.push({ monitored, input });
      }
      groups.push({ name: g.name, checker, targets });
    }
    const modules = new Map<string, Checker>();
    for (const [name, m] of Object.entries(config.modules))
      modules.set(
        name,
        (await checkerFor(config, m, `modules.${name}`, o.lookup, cache, probeChecker)).checker,
      );
    return {
      groups,
      modules,
      probeChecker,
      probeAllow: config.probe.allow,
      concurrency: config.defaults.concurrency,
      jitter: config.defaults.jitter,
      retentionDays: config.retention,
    };
  });
}
