/*
 * `certvet serve`: the monitoring service (DESIGN.md §9). With `-c certvet.yaml`: targets
 * checked on schedule, history in SQLite, /metrics, /probe, the JSON API and the dashboard, and
 * notifications. Without a config, `--probe-allow PATTERN` runs a stateless exporter (/probe,
 * /metrics) like blackbox_exporter. SIGHUP and POST /-/reload re-read the config (a bad one is
 * reported and the running one kept); SIGTERM/SIGINT finish the checks in flight, commit and
 * exit 0. `--check-config` validates the config and everything it names, then exits.
 */
import type { Command } from 'commander';
import { createChecker } from '../../check/checker.js';
import { CertvetOptionError } from '../../check/errors.js';
import { ConfigError, configPath, loadConfig, type ServeConfig } from '../../monitor/config.js';
import type { HttpServer } from '../../monitor/http.js';
import { probeAllowList } from '../../monitor/probeAllow.js';
import type { Monitor, MonitorPlan } from '../../monitor/service.js';
import { neutralize } from '../../report/sanitize.js';
import type { Certificate } from '../../x509/certificate.js';
import { readAllCertificates } from '../certificateFiles.js';
import { UsageError } from '../errors.js';
import { collect } from '../parse.js';
import { buildServePlan } from '../servePlan.js';

interface ServeFlags {
  config?: string;
  listen?: string;
  probeAllow: string[];
  ca: string[];
  checkConfig: boolean;
  testNotify?: string;
}

interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** A config or plan error as a usage error (exit 64), the message as the config module wrote it. */
async function asUsage<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ConfigError || e instanceof CertvetOptionError) throw new UsageError(e.message);
    // The store's errors name the file and what to do (a newer schema, an addon for another Node).
    if (e instanceof Error && /^CERTVET_STORE_/.test(String((e as { code?: unknown }).code)))
      throw new UsageError(e.message);
    throw e;
  }
}

function describe(plan: MonitorPlan): string {
  const n = plan.groups.reduce((a, g) => a + g.targets.length, 0);
  return `${n} target${n === 1 ? '' : 's'} in ${plan.groups.length} group${plan.groups.length === 1 ? '' : 's'}`;
}

/** Resolves on the first SIGTERM or SIGINT. */
function untilTerminated(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => {
      process.off('SIGTERM', term);
      process.off('SIGINT', int);
      resolve(sig);
    };
    const term = on('SIGTERM');
    const int = on('SIGINT');
    process.once('SIGTERM', term);
    process.once('SIGINT', int);
  });
}

async function runServe(f: ServeFlags, io: Io): Promise<number> {
  const log = (line: string) => io.stderr.write(`certvet serve: ${neutralize(line)}\n`);
  let config: ServeConfig | null = null;
  let plan: MonitorPlan | null = null;
  if (f.config) {
    config = await asUsage(() => loadConfig(f.config!));
    plan = await asUsage(() => buildServePlan(config!));
  } else if (f.probeAllow.length === 0)
    throw new UsageError(
      'serve: give a config (-c certvet.yaml), or --probe-allow PATTERN to run a stateless /probe exporter',
    );
  if (f.testNotify !== undefined) {
    if (!config) throw new UsageError('--test-notify: no config given (-c FILE)');
    const cfg = config;
    const { createNotifier } = await import('../../monitor/notify/notifier.js');
    const notifier = await asUsage(() => createNotifier(cfg.notify, { baseDir: cfg.baseDir }));
    try {
      await notifier.sendTest(f.testNotify);
      io.stdout.write(`sent a test notification through "${neutralize(f.testNotify)}"\n`);
      return 0;
    } catch (e) {
      if ((e as { code?: unknown }).code === 'CERTVET_NOTIFY_CONFIG')
        throw new UsageError(`--test-notify: ${(e as Error).message}`);
      io.stderr.write(`certvet serve: the test notification failed: ${neutralize((e as Error).message)}\n`);
      return 3;
    } finally {
      await notifier.close();
    }
  }
  if (f.checkConfig) {
    if (!plan || !config) throw new UsageError('--check-config: no config given (-c FILE)');
    io.stdout.write(
      `${f.config}: ok — ${describe(plan)}, ${plan.modules.size} probe module${plan.modules.size === 1 ? '' : 's'}, ${config.notify.length} notification channel${config.notify.length === 1 ? '' : 's'}\n`,
    );
    return 0;
  }
  // Loaded only to run: --check-config needs neither SQLite nor the HTTP server.
  const { buildApp, listenHttp } = await import('../../monitor/http.js');
  const { startMonitor } = await import('../../monitor/service.js');
  // The stateless exporter's checker: --ca (else the system roots).
  const anchors: Certificate[] = [];
  for (const p of f.ca) anchors.push(...(await readAllCertificates(p, { what: 'CA file', flag: '--ca' })));
  const exporterChecker = plan ? null : createChecker(anchors.length ? { ca: anchors } : {});
  let monitor: Monitor | null = null;
  if (plan && config) {
    const { openSqliteStore } = await import('../../monitor/store/sqliteStore.js').catch((e: Error) => {
      throw new UsageError(
        `serve: the SQLite store needs better-sqlite3, an optional dependency that is not installed or not built for Node ${process.version} (${e.message.split('\n')[0]}); install it with \`npm install better-sqlite3\` (it builds from source where no prebuilt binary can be downloaded: python3, make and a C++ compiler)`,
      );
    });
    const { createNotifier } = await import('../../monitor/notify/notifier.js');
    const storePath = configPath(config, config.store);
    const store = await asUsage(() => openSqliteStore(storePath));
    const record = (
      channel: string,
      eventId: number,
      outcome: 'sent' | 'failed' | 'suppressed',
      error: string | null,
    ) => {
      try {
        if (eventId > 0) store.recordNotification({ eventId, channel, outcome, at: Date.now(), error });
      } catch (e) {
        log(`could not record a notification: ${(e as Error).message}`);
      }
    };
    const cfg = config;
    const notifier = await asUsage(() =>
      createNotifier(cfg.notify, {
        baseDir: cfg.baseDir,
        // Every delivery is recorded with its event (errors carry no secrets: the notifier removes them).
        onSent: (channel, event) => record(channel, event.id, 'sent', null),
        onSuppressed: (channel, event, previousAt) =>
          record(
            channel,
            event.id,
            'suppressed',
            `the same ${event.type} event was queued for this channel at ${new Date(previousAt).toISOString()} (dedupWindow)`,
          ),
        onError: (channel, event, error) => {
          log(`notification "${channel}" of ${event.type} for ${event.target} failed: ${error.message}`);
          record(channel, event.id, 'failed', error.message);
        },
      }),
    );
    monitor = startMonitor(plan, { store, notifier, log });
  }
  const dashboardFile = monitor
    ? (await import('../../monitor/dashboard/assets.js')).dashboardFile
    : undefined;
  let current = config;
  const reload = async () => {
    if (!f.config || !monitor) throw new UsageError('nothing to reload: no config file');
    const next = await asUsage(() => loadConfig(f.config!));
    // The answer caches (CRLs, OCSP, AIA) carry over: a reload does not fetch every CRL again.
    const nextPlan = await asUsage(() => buildServePlan(next, { cachesFrom: monitor!.plan.probeChecker }));
    if (current && (next.listen !== current.listen || next.store !== current.store))
      log('listen and store changes take effect at the next start');
    const old = monitor.plan;
    monitor.reload(nextPlan);
    current = next;
    // The old plan's checkers are done with once their checks end (their worker threads stop).
    for (const c of new Set([...old.groups.map((g) => g.checker), ...old.modules.values(), old.probeChecker]))
      void c.close();
  };
  const tokens = await asUsage(() => readTokens(current));
  let tokenList = tokens;
  const app = buildApp({
    monitor,
    probe: () => ({
      allow: probeAllowList(current ? current.probe.allow : f.probeAllow),
      modules: monitor ? monitor.plan.modules : new Map(),
      fallback: monitor ? monitor.plan.probeChecker : exporterChecker!,
    }),
    tokens: () => tokenList,
    ...(f.config
      ? {
          reload: async () => {
            await reload();
            tokenList = await asUsage(() => readTokens(current));
          },
        }
      : {}),
    ...(dashboardFile ? { dashboard: dashboardFile } : {}),
  });
  let http: HttpServer;
  try {
    http = await listenHttp(app, f.listen ?? current?.listen ?? '127.0.0.1:9219');
  } catch (e) {
    await monitor?.stop();
    throw new UsageError(`cannot listen on ${f.listen ?? current?.listen}: ${(e as Error).message}`);
  }
  const onHup = () => {
    reload().then(
      () => log(`reloaded ${f.config}`),
      (e: Error) => log(`reload failed, keeping the running config: ${e.message}`),
    );
  };
  process.on('SIGHUP', onHup);
  io.stdout.write(
    `certvet serve: listening on http://${http.address}/ — ${monitor ? describe(monitor.plan) : `stateless exporter (/probe allows ${f.probeAllow.length} pattern${f.probeAllow.length === 1 ? '' : 's'})`}\n`,
  );
  const signal = await untilTerminated();
  process.off('SIGHUP', onHup);
  log(`${signal}: finishing the checks in flight`);
  await http.close();
  await monitor?.stop();
  await exporterChecker?.close();
  return 0;
}

/** Bearer tokens from the config's `auth.tokens` (environment variables or files). */
async function readTokens(config: ServeConfig | null): Promise<string[]> {
  const out: string[] = [];
  const { readFileSync } = await import('node:fs');
  for (const [i, t] of (config?.auth?.tokens ?? []).entries()) {
    let v: string | undefined;
    if (t.env) {
      v = process.env[t.env];
      if (v === undefined)
        throw new ConfigError(`auth.tokens.${i}.env: environment variable ${t.env} is not set`);
    } else {
      try {
        v = readFileSync(configPath(config!, t.file!), 'utf8').trim();
      } catch (e) {
        throw new ConfigError(
          `auth.tokens.${i}.file: cannot read ${t.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
    }
    if (v.trim().length < 16)
      throw new ConfigError(`auth.tokens.${i}: a token must be at least 16 characters`);
    out.push(v.trim());
  }
  return out;
}

export function registerServe(program: Command, io: Io): void {
  program
    .command('serve')
    .description(
      'the monitoring service: scheduled checks, history, /metrics, /probe, API, dashboard, notifications',
    )
    .option('-c, --config <file>', 'service config (YAML or JSON; see docs/serve.md)')
    .option('--listen <host:port>', 'HTTP address (default: the config’s listen, else 127.0.0.1:9219)')
    .option(
      '--probe-allow <pattern>',
      'without a config: targets /probe may check (glob, repeatable)',
      collect,
      [],
    )
    .option('--ca <file>', 'without a config: trust anchors for /probe (PEM, repeatable)', collect, [])
    .option('--check-config', 'validate the config and the files it names, then exit', false)
    .option(
      '--test-notify <channel>',
      'send one test notification through a channel of the config, then exit',
    )
    .action(async (flags: ServeFlags) => {
      process.exitCode = await runServe(flags, io);
    });
}
