/*
 * `certvet serve`'s config: the documented shape loads (YAML and JSON), every error names
 * file:line and the key, the shipped JSON Schema is what the zod schema generates (and accepts
 * the documented example), and the plan reads every file the config names with errors that
 * say which key named it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { configSchemaText } from '../scripts/configSchema.js';
import { buildServePlan } from '../src/cli/servePlan.js';
import { issue } from '../src/lab/pki.js';
import { ConfigError, loadConfig } from '../src/monitor/config.js';
import { runCli } from './support/cli.js';
import { REPO_ROOT } from './support/packedProject.js';

const EXAMPLE = `listen: 127.0.0.1:9219
store: ./certvet.db
defaults: { interval: 5m, timeout: 10s, warnDays: 30, critDays: 7, revocation: soft }
groups:
  - name: intranet
    ca: [corp-root.pem]
    interval: 1m
    labels: { env: prod }
    targets: [api.corp.example:443, smtp://mail.corp.example, { target: db1.corp.example:5432, starttls: postgres, resolve: 10.1.2.3 }]
  - name: legacy
    targetsFile: hosts.txt
resolve: [ "api.corp.example:443:10.1.2.3" ]
modules: { corp: { ca: [corp-root.pem], revocation: hard } }
probe: { allow: [ "*.corp.example:*" ] }
notify:
  - { name: ops-hook, type: webhook, url: "http://127.0.0.1:9000/hook", events: [status-changed, expiry-threshold, revoked, rotated] }
retention: 30
`;

describe('certvet serve: the config', () => {
  let dir: string;
  const f = (n: string) => join(dir, n);
  const write = (name: string, text: string) => {
    writeFileSync(f(name), text);
    return f(name);
  };
  const errorOf = (text: string, name = 'bad.yaml'): string => {
    try {
      loadConfig(write(name, text));
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.code, 'CERTVET_CONFIG_INVALID');
      return e.message;
    }
    assert.fail('the config was accepted');
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-config-'));
    const root = await issue({ subject: 'CN=Corp Root', ca: true });
    writeFileSync(f('corp-root.pem'), root.pem);
    writeFileSync(f('hosts.txt'), '# legacy hosts\nold1.corp.example:443\nold2.corp.example:8443\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the documented shape loads, with durations in ms and relative paths against the config', () => {
    const c = loadConfig(write('certvet.yaml', EXAMPLE));
    assert.equal(c.listen, '127.0.0.1:9219');
    assert.equal(c.defaults.interval, 300_000);
    assert.equal(c.defaults.timeout, 10_000);
    assert.equal(c.groups[0]!.interval, 60_000);
    assert.deepEqual(c.groups[0]!.ca, ['corp-root.pem']);
    assert.equal(c.groups[0]!.targets!.length, 3);
    assert.equal(c.modules.corp!.revocation, 'hard');
    assert.deepEqual(c.probe.allow, ['*.corp.example:*']);
    assert.equal(c.notify[0]!.type, 'webhook');
    assert.equal(c.retention, 30);
    assert.equal(c.baseDir, dir);
    // JSON is YAML too.
    const j = loadConfig(
      write('certvet.json', JSON.stringify({ groups: [{ name: 'a', targets: ['x.example:443'] }] })),
    );
    assert.equal(j.groups[0]!.name, 'a');
    assert.equal(j.store, './certvet.db');
  });

  test('errors name file:line and the key', () => {
    assert.match(errorOf('listen: 127.0.0.1:9219\nlisten2: x\n'), /bad\.yaml:2: listen2: unknown key/);
    assert.match(
      errorOf('groups:\n  - name: a\n    targets: [x:443]\n    interval: soon\n'),
      /bad\.yaml:4: groups\.0\.interval: "soon" is not a interval|bad\.yaml:4: groups\.0\.interval: .*not a/,
    );
    assert.match(
      errorOf(
        'groups:\n  - name: a\n    targets:\n      - x:443\n      - { target: y:443, starttls: gopher }\n',
      ),
      /bad\.yaml:5: groups\.0\.targets\.1\.starttls: /,
    );
    assert.match(
      errorOf('groups:\n  - name: a\n'),
      /bad\.yaml:2: groups\.0: a group needs "targets" or "targetsFile"/,
    );
    assert.match(
      errorOf('groups:\n  - { name: a, targets: [x:443] }\n  - { name: a, targets: [y:443] }\n'),
      /bad\.yaml:3: groups\.1\.name: "a" is used by another group/,
    );
    assert.match(errorOf('listen: [1, 2\n'), /bad\.yaml:\d+:\d+: invalid YAML\/JSON/);
    assert.match(errorOf('listen: "no-port"\n'), /bad\.yaml:1: listen: expected HOST:PORT/);
    assert.match(
      errorOf('auth: { tokens: [ { env: A, file: b } ] }\n'),
      /bad\.yaml:1: auth\.tokens\.0: a token comes from "env".*exactly one/,
    );
    assert.throws(() => loadConfig(f('missing.yaml')), /missing\.yaml: cannot read the config: no such file/);
  });

  test('the shipped JSON Schema is generated from the zod schema and accepts the documented example', () => {
    const shipped = readFileSync(join(REPO_ROOT, 'schema', 'config.schema.json'), 'utf8');
    assert.deepEqual(
      JSON.parse(shipped),
      JSON.parse(configSchemaText()),
      'run `npm run schema:config` after changing src/monitor/config.ts',
    );
    const ajv = new Ajv2020({ strict: false });
    const validate = ajv.compile(JSON.parse(shipped) as object);
    assert.equal(validate(parseYaml(EXAMPLE)), true, JSON.stringify(validate.errors));
    assert.equal(
      validate({ groups: [{ name: 'a', targets: ['x'], bogus: 1 }] }),
      false,
      'unknown keys are refused',
    );
  });

  test('the plan reads what the config names; errors say which key', async () => {
    const plan = await buildServePlan(loadConfig(write('certvet.yaml', EXAMPLE)));
    assert.deepEqual(
      plan.groups.map((g) => [g.name, g.targets.map((t) => t.monitored.target)]),
      [
        ['intranet', ['api.corp.example:443', 'smtp://mail.corp.example', 'db1.corp.example:5432']],
        ['legacy', ['old1.corp.example:443', 'old2.corp.example:8443']],
      ],
    );
    const api = plan.groups[0]!.targets[0]!;
    assert.equal(
      (api.input as { resolve?: string }).resolve,
      '10.1.2.3',
      'the top-level resolve list applies',
    );
    assert.equal(api.monitored.intervalSec, 60);
    assert.deepEqual(api.monitored.labels, { env: 'prod' });
    assert.equal(plan.groups[1]!.targets[0]!.monitored.intervalSec, 300);
    assert.equal(api.monitored.renotifySec, null, 'no reminders unless configured');
    assert.ok(plan.modules.has('corp'));
    // renotify: the defaults', a group's own, or none.
    const withRenotify = await buildServePlan(
      loadConfig(
        write(
          'renotify.yaml',
          'defaults: { renotify: 1d }\ngroups:\n  - { name: a, targets: [a.example:443] }\n  - { name: b, renotify: 4h, targets: [b.example:443] }\n',
        ),
      ),
    );
    assert.deepEqual(
      withRenotify.groups.map((g) => g.targets[0]!.monitored.renotifySec),
      [86400, 4 * 3600],
    );
    for (const g of withRenotify.groups) await g.checker.close();
    assert.match(
      errorOf('defaults:\n  renotify: 10s\n'),
      /bad\.yaml:2: defaults\.renotify: "10s" is out of range for a renotify interval/,
    );
    // Ids are stable: the same config gives the same ids.
    const again = await buildServePlan(loadConfig(f('certvet.yaml')));
    assert.deepEqual(
      again.groups.flatMap((g) => g.targets.map((t) => t.monitored.id)),
      plan.groups.flatMap((g) => g.targets.map((t) => t.monitored.id)),
    );
    for (const g of [...plan.groups, ...again.groups]) await g.checker.close();

    const planError = async (text: string) => {
      await assert.rejects(buildServePlan(loadConfig(write('plan.yaml', text))), (e: Error) => {
        assert.ok(e instanceof ConfigError, String(e));
        return true;
      });
      return buildServePlan(loadConfig(f('plan.yaml'))).catch((e: Error) => e.message);
    };
    assert.match(
      String(await planError('groups:\n  - { name: a, ca: nope.pem, targets: [x.example:443] }\n')),
      /plan\.yaml: groups\.0\.ca: .*nope\.pem/,
    );
    writeFileSync(f('bad-hosts.txt'), 'ok.example:443\nbad host name:443\n');
    assert.match(
      String(await planError('groups:\n  - { name: a, targetsFile: bad-hosts.txt }\n')),
      /groups\.0\.targetsFile.*bad-hosts\.txt:2/,
    );
    assert.match(
      String(await planError('groups:\n  - { name: a, targets: [x.example:443, x.example:443] }\n')),
      /groups\.0\.targets\.1: "x\.example:443" is already monitored/,
    );
  });

  test('serve --check-config: ok with a summary, or exit 64 naming file:line', async () => {
    const ok = await runCli(['serve', '-c', write('certvet.yaml', EXAMPLE), '--check-config']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /ok — 5 targets in 2 groups, 1 probe module, 1 notification channel/);
    const bad = await runCli([
      'serve',
      '-c',
      write('bad.yaml', 'groups:\n  - name: a\n    targets: [x:443]\n    oops: 1\n'),
      '--check-config',
    ]);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /bad\.yaml:4: groups\.0\.oops: unknown key/);
    // A store that cannot be opened (here: better-sqlite3's addon path is wrong) is exit 64 naming it.
    const storeless = await runCli(['serve', '-c', write('certvet.yaml', EXAMPLE)], {
      env: { CERTVET_SQLITE_BINDING: f('no-such-addon.node') },
    });
    assert.equal(storeless.code, 64, storeless.stderr);
    assert.match(storeless.stderr, /certvet\.db: cannot open the store: .*no-such-addon\.node/);
    const none = await runCli(['serve']);
    assert.equal(none.code, 64);
    assert.match(none.stderr, /--probe-allow/);
  });
});
