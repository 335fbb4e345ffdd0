import type { Command } from 'commander';
import { createChecker } from '../../check/checker.js';
import type { DnsLookup } from '../../check/lookup.js';
import { LAB_DOMAIN } from '../../lab/labEndpoints.js';
import { labTarget, startLab } from '../../lab/zoo.js';
import { buildReport, exitCodeOf, type TargetResult } from '../../model/result.js';
import { FORMATS, type Format, renderReport } from '../../report/render.js';
import { colorsFor } from '../../report/style.js';
import { UsageError } from '../errors.js';
import { oneOf } from '../parse.js';
import { describeEndpoints } from './lab.js';

/** The lab's names resolve to its addresses; nothing goes to the system resolver. */
function labLookup(lab: Awaited<ReturnType<typeof startLab>>): DnsLookup {
  return (host, _o, cb) => {
    const e = lab.endpoints.find((x) => x.host === host);
    if (e) cb(null, [{ address: e.address, family: e.address.includes(':') ? 6 : 4 }]);
    else cb(Object.assign(new Error(`demo: no lab endpoint named ${host}`), { code: 'ENOTFOUND' }), []);
  };
}

/**
 * `certvet demo --serve`: the lab, and certvet serve monitoring it (every 30 s, a store in a
 * temporary directory removed at exit), until SIGINT/SIGTERM. The offline showcase of the service.
 */
async function serveDemo(
  listen: string,
  io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream },
): Promise<number> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { openSqliteStore } = await import('../../monitor/store/sqliteStore.js').catch((e: Error) => {
    throw new UsageError(
      `demo --serve: the SQLite store needs better-sqlite3, an optional dependency that is not installed here (${e.message.split('\n')[0]}); npm install better-sqlite3`,
    );
  });
  const { startMonitor } = await import('../../monitor/service.js');
  const { buildApp, listenHttp } = await import('../../monitor/http.js');
  const { dashboardFile } = await import('../../monitor/dashboard/assets.js');
  const { probeAllowList } = await import('../../monitor/probeAllow.js');
  const { targetId } = await import('../../monitor/targetId.js');
  io.stdout.write('Starting the certvet lab (a CA and a zoo of TLS servers on 127.0.0.1)…\n');
  const lab = await startLab();
  const dir = mkdtempSync(join(tmpdir(), 'certvet-demo-serve-'));
  try {
    const checker = createChecker({
      ca: lab.caPem,
      intermediates: lab.intermediatesPem,
      lookup: labLookup(lab),
    });
    const targets = lab.endpoints.map((e) => {
      const target = labTarget(e);
      return {
        monitored: {
          id: targetId('lab', target, undefined),
          group: 'lab',
          target,
          intervalSec: 30,
          labels: { env: 'demo' },
          warnDays: 30,
          critDays: 7,
        },
        input: target,
      };
    });
    const plan = {
      groups: [{ name: 'lab', checker, targets }],
      modules: new Map(),
      probeChecker: checker,
      probeAllow: [`*.${LAB_DOMAIN}:*`],
      concurrency: 16,
      jitter: 0.1,
      retentionDays: 1,
    };
    const monitor = startMonitor(plan, { store: openSqliteStore(join(dir, 'demo.db')) });
    const app = buildApp({
      monitor,
      probe: () => ({ allow: probeAllowList(plan.probeAllow), modules: plan.modules, fallback: checker }),
      tokens: () => [],
      dashboard: dashboardFile,
    });
    const http = await listenHttp(app, listen).catch(async (e: Error) => {
      await monitor.stop();
      throw new UsageError(`--listen ${listen}: ${e.message}`);
    });
    io.stdout.write(
      `${describeEndpoints(lab.endpoints)}\n\ncertvet serve is monitoring the ${targets.length} lab endpoints every 30 s.\nDashboard: http://${http.address}/   (metrics: /metrics, API: /api/v1/targets; Ctrl-C stops)\n`,
    );
    await new Promise<void>((resolve) => {
      const done = () => {
        process.off('SIGINT', done);
        process.off('SIGTERM', done);
        resolve();
      };
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    await http.close();
    await monitor.stop({ flushMs: 0 });
    return 0;
  } finally {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

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
    .option(
      '--serve',
      'instead: monitor the lab with certvet serve and print the dashboard URL (Ctrl-C stops)',
      false,
    )
    .option('--listen <host:port>', 'with --serve: the HTTP address', '127.0.0.1:9219')
    .action(async (f: { format: Format; color: boolean; serve: boolean; listen: string }) => {
      if (f.serve) {
        process.exitCode = await serveDemo(f.listen, io);
        return;
      }
      const started = performance.now();
      // Narration goes to stderr for machine-readable formats, so stdout stays parseable.
      const say = f.format === 'text' ? io.stdout : io.stderr;
      say.write('Starting the certvet lab (a CA and a zoo of TLS servers on 127.0.0.1)…\n');
      const lab = await startLab();
      try {
        say.write(
          `${describeEndpoints(lab.endpoints)}\n\n$ certvet check <${lab.endpoints.length} targets> --ca lab-ca.pem --chain lab-intermediates.pem\n\n`,
        );
        const checker = createChecker({
          ca: lab.caPem,
          intermediates: lab.intermediatesPem,
          lookup: labLookup(lab),
        });
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
