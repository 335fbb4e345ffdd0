import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import { createChecker, type DnsLookup } from '../src/index.js';
import { makeChain, privateKeyPem } from '../src/lab/pki.js';
import type { TargetResult } from '../src/model/result.js';
import { CLI, runCli } from './support/cli.js';

const certvet = (args: string[]) => runCli(args);

const openSockets = new Set<Socket>();

async function listen(onConn: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    s.on('error', () => {});
    openSockets.add(s);
    s.on('close', () => openSockets.delete(s));
    onConn(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

describe('hostile and broken peers', () => {
  const servers: Server[] = [];
  const ports: Record<string, number> = {};
  let dir: string;
  let rootPem: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-hostile-'));
    const chain = await makeChain({ names: ['127.0.0.1'] });
    rootPem = chain.root.pem;
    writeFileSync(join(dir, 'ca.pem'), rootPem);
    const good = createTlsServer(
      { cert: chain.leaf.pem + chain.intermediate.pem, key: await privateKeyPem(chain.leaf.key) },
      (s) => s.end(),
    );
    await new Promise<void>((r) => good.listen(0, '127.0.0.1', r));
    servers.push(good);
    ports.good = (good.address() as { port: number }).port;
    const add = async (name: string, fn: (s: Socket) => void) => {
      const { server, port } = await listen(fn);
      servers.push(server);
      ports[name] = port;
    };
    await add('silent', () => {});
    await add('http', (s) =>
      s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n')),
    );
    await add('garbage', (s) => s.once('data', () => s.write(Buffer.alloc(4096, 0x5a))));
    await add('reset', (s) => s.once('data', () => s.resetAndDestroy()));
    await add('slowloris', (s) => {
      // A plausible TLS record header announcing 16 KiB, then one byte every 100 ms.
      s.write(Buffer.from([0x16, 0x03, 0x03, 0x40, 0x00]));
      const t = setInterval(() => s.write(Buffer.from([0x02])), 100);
      s.on('close', () => clearInterval(t));
    });
    const closed = await listen(() => {});
    ports.refused = closed.port;
    await new Promise((r) => closed.server.close(r));
  });
  after(async () => {
    for (const s of openSockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    rmSync(dir, { recursive: true, force: true });
  });

  const target = (name: string, host = '127.0.0.1'): string => `${host}:${ports[name] ?? 1}`;
  // Every name is 127.0.0.1 but the one that does not exist (never the system resolver).
  const lookup: DnsLookup = (host, _o, cb) => {
    if (host === 'no-such-host.certvet.test')
      cb(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), []);
    else cb(null, [{ address: '127.0.0.1', family: 4 }]);
  };
  // The whole-check deadline a little past the connect's, so which one fires is not a race.
  const checker = () =>
    createChecker({ ca: rootPem, profile: 'webpki', timeout: '2s', connectTimeout: '1s', lookup });

  test('each failure gets its own finding, nothing hangs past the deadline, the good target is unaffected', async () => {
    const names = ['good', 'silent', 'http', 'garbage', 'reset', 'slowloris', 'refused'];
    const targets = names.map((n) => target(n));
    targets.push(target('good', 'no-such-host.certvet.test'));
    const t0 = performance.now();
    const got = new Map<string, TargetResult>();
    for await (const r of checker().scan(targets, { concurrency: 8 })) got.set(r.target, r);
    const elapsed = performance.now() - t0;
    const results = targets.map((t) => got.get(t));
    const byName = Object.fromEntries(names.map((n, i) => [n, results[i]!]));
    const dns = results[names.length]!;
    const code = (r: TargetResult | undefined) => r?.findings[0]?.code;
    assert.notEqual(byName.good!.status, 'error', JSON.stringify(byName.good!.findings));
    assert.equal(code(byName.silent), 'timeout');
    assert.match(
      byName.silent!.findings[0]!.message,
      /(TLS handshake with|the check of) 127\.0\.0\.1:\d+ did not complete within/,
    );
    assert.equal(code(byName.http), 'handshake-failed');
    assert.match(
      byName.http!.findings[0]!.message,
      /^the server at 127\.0\.0\.1:\d+ answered in plain text, not TLS: "HTTP\/1\.1 400 Bad Request" \(plain HTTP\)$/,
    );
    assert.equal(code(byName.garbage), 'handshake-failed');
    // What a server says is quoted only in part, and never raw.
    assert.match(byName.garbage!.findings[0]!.message, /answered in plain text, not TLS: "Z{120}…"$/);
    assert.equal(code(byName.reset), 'handshake-failed');
    assert.match(byName.reset!.findings[0]!.message, /reset|closed/);
    assert.equal(code(byName.slowloris), 'timeout');
    assert.equal(code(byName.refused), 'connect-failed');
    assert.match(byName.refused!.findings[0]!.message, /refused/);
    assert.equal(code(dns), 'dns-failed');
    assert.match(dns.findings[0]!.message, /no-such-host\.certvet\.test/);
    for (const r of results) if (r!.status === 'error') assert.equal(r!.findings[0]!.severity, 'error');
    assert.ok(elapsed < 6000, `bounded by the per-target deadline (took ${elapsed} ms)`);
  });

  test('another service on a TLS port: what it said is quoted, and recognised where it says what to check instead', async () => {
    const mysqlGreeting = Buffer.from([
      ...[0x26, 0, 0, 0, 10],
      ...Buffer.from('10.11.6-MariaDB\0', 'latin1'),
      ...Buffer.alloc(22, 1),
    ]);
    const pgError = Buffer.from(
      'E\0\0\0\x5cSFATAL\0VFATAL\0C0A000\0Munsupported frontend protocol\0\0',
      'latin1',
    );
    const services: [string, (s: Socket) => void, RegExp][] = [
      [
        'ssh',
        (s) => s.write('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'),
        /"SSH-2\.0-OpenSSH_9\.2p1 Debian-2" \(an SSH server\)$/,
      ],
      [
        'smtp',
        (s) => s.write('220 mail.test ESMTP Postfix\r\n'),
        /"220 mail\.test ESMTP Postfix" \(an SMTP or FTP greeting: for STARTTLS, check smtp:\/\/, submission:\/\/ or ftp:\/\/\)$/,
      ],
      [
        'imap',
        (s) => s.write('* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n'),
        /\(an IMAP greeting: for STARTTLS, check imap:\/\/\)$/,
      ],
      [
        'pop3',
        (s) => s.write('+OK Dovecot ready.\r\n'),
        /"\+OK Dovecot ready\." \(a POP3 greeting: for STARTTLS, check pop3:\/\/\)$/,
      ],
      ['mysql', (s) => s.write(mysqlGreeting), /\(a MySQL\/MariaDB greeting: check mysql:\/\/\)$/],
      [
        'postgres',
        (s) => s.once('data', () => s.end(pgError)),
        /\(a PostgreSQL error: check postgres:\/\/\)$/,
      ],
      // An escape sequence from a hostile server never reaches the terminal as such.
      [
        'ansi',
        (s) => s.once('data', () => s.end('\x1b[2J\x1b[31mpwned\r\n')),
        /not TLS: "\?\[2J\?\[31mpwned"$/,
      ],
    ];
    const started = await Promise.all(services.map(([, fn]) => listen(fn)));
    servers.push(...started.map((x) => x.server));
    const c = checker();
    try {
      for (const [i, [name, , message]] of services.entries()) {
        const r = await c.check(`127.0.0.1:${started[i]!.port}`);
        assert.equal(r.findings[0]?.code, 'handshake-failed', name);
        assert.match(
          r.findings[0]!.message,
          /^the server at 127\.0\.0\.1:\d+ answered in plain text, not TLS: /,
          name,
        );
        assert.match(r.findings[0]!.message, message, name);
      }
    } finally {
      await c.close();
    }
  });

  test('an aborted scan stops starting new targets and keeps what is done', async () => {
    const controller = new AbortController();
    const targets = Array.from({ length: 20 }, () => target('silent'));
    const results: TargetResult[] = [];
    setTimeout(() => controller.abort(new Error('stop')), 300);
    const t0 = performance.now();
    await assert.rejects(async () => {
      for await (const r of checker().scan(targets, { concurrency: 2, signal: controller.signal }))
        results.push(r);
    }, /stop/);
    assert.ok(performance.now() - t0 < 3000, 'the abort ended the scan promptly');
    assert.ok(results.length < 20);
  });

  test('Ctrl-C (SIGINT) prints what is done and exits promptly', async () => {
    const args = [
      'check',
      `127.0.0.1:${ports.good}`,
      ...Array.from({ length: 6 }, () => `127.0.0.1:${ports.silent}`),
    ];
    const p = spawn(
      process.execPath,
      [CLI, ...args, '--ca', join(dir, 'ca.pem'), '--concurrency', '2', '--timeout', '20s'],
      {
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    // Interrupt once the scan is under way (the good endpoint has been connected to), however
    // slowly this machine starts the CLI; then the silent ones are still pending.
    const good = servers[0]!;
    await new Promise<void>((r) => {
      const deadline = setTimeout(r, 20_000);
      good.once('secureConnection', () => {
        clearTimeout(deadline);
        setTimeout(r, 300);
      });
    });
    const t0 = performance.now();
    p.kill('SIGINT');
    const code: number | null = await new Promise((r) => p.on('close', r));
    assert.ok(performance.now() - t0 < 5000, 'exits without waiting for the 20 s deadlines');
    assert.ok(code !== null && code >= 130, `exit ${code}`);
    assert.match(stderr, /interrupted: \d+ of 7 targets checked/);
    assert.match(stdout, /127\.0\.0\.1:\d+/);
  });

  test('the exit status is 3 when targets could not be checked and nothing is critical', async () => {
    const r = await certvet([
      'check',
      `127.0.0.1:${ports.refused}`,
      '--ca',
      join(dir, 'ca.pem'),
      '--timeout',
      '2s',
    ]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /ERROR\s+127\.0\.0\.1:\d+/);
    assert.match(r.stdout, /connect-failed: connection to 127\.0\.0\.1:\d+ refused/);
  });

  for (const [name, content, pattern] of [
    ['an empty target file', '# nothing here\n\n', /contains no targets/],
    [
      'malformed YAML',
      'targets:\n  - target: a.example\n    port: [1,\n',
      /targets\.yaml:\d+:\d+: invalid YAML/,
    ],
    [
      'an unknown field',
      'targets:\n  - target: a.example\n    prot: 443\n',
      /targets\.yaml:3: entry: Unrecognized key/,
    ],
    ['a bad port', 'targets:\n  - target: a.example\n    port: 99999\n', /targets\.yaml:3: "port":/],
    ['an invalid target', 'good.example\nbad host name!\n', /targets\.yaml:2: "bad host name!"/],
  ] as const) {
    test(`usage error — ${name}: exit 64 naming the file and line`, async () => {
      writeFileSync(join(dir, 'targets.yaml'), content);
      const r = await certvet(['check', '-f', join(dir, 'targets.yaml')]);
      assert.equal(r.code, 64, r.stderr);
      assert.match(r.stderr, pattern);
    });
  }

  for (const [name, args] of [
    ['no targets', ['check']],
    ['a bad --resolve', ['check', 'a.example', '--resolve', 'a.example:443']],
    ['an unknown scheme', ['check', 'gopher://a.example']],
    ['a bad --timeout', ['check', 'a.example', '--timeout', 'soon']],
    ['a bad --shard', ['check', 'a.example', '--shard', '3/2']],
    ['crit above warn', ['check', 'a.example', '--crit-days', '40']],
    ['an unknown --format', ['check', 'a.example', '--format', 'xml']],
    ['a missing client key', ['check', 'a.example', '--client-cert', 'x.pem']],
  ] as const) {
    test(`usage error — ${name}: exit 64`, async () => {
      const r = await certvet([...args]);
      assert.equal(r.code, 64, r.stderr);
      assert.ok(r.stderr.length > 0);
    });
  }
});
