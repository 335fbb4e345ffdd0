/**
 * Messages a person reads: whole milliseconds, no OpenSSL source paths, clear words for a key
 * given as a certificate and the reverse, one exit status (64) for every missing passphrase
 * source, target-file errors naming the file and line, and every bad flag value exit 64
 * naming the flag — never an internal error with a stack trace.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateKey, type LabChain, makeChain, privateKeyPem } from '../src/lab/pki.js';
import { describeTlsError } from '../src/probe/probeError.js';
import { roundMilliseconds, stripOpenSslNoise, tidyErrorMessage } from '../src/util/errorText.js';
import { runCli } from './support/cli.js';

const NO_STACK = /\n\s+at /;

function listen(onConnection: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer(onConnection);
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as { port: number }).port }),
    );
  });
}

describe('error text', () => {
  test('OpenSSL error-queue entries keep the reason only', () => {
    assert.equal(
      stripOpenSslNoise(
        'the TLS handshake failed: C0B7E3F5F67F0000:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1605:SSL alert number 40',
      ),
      'the TLS handshake failed: sslv3 alert handshake failure (SSL alert number 40)',
    );
    assert.equal(stripOpenSslNoise('error:1E08010C:DECODER routines::unsupported'), 'unsupported');
    assert.equal(
      stripOpenSslNoise('handshake aborted at ../deps/openssl/openssl/ssl/statem/statem_clnt.c:396'),
      'handshake aborted at',
    );
    // Addresses and ports are not OpenSSL noise.
    assert.equal(stripOpenSslNoise('connection to [::1]:443 refused'), 'connection to [::1]:443 refused');
  });

  test('describeTlsError keeps an alert apart from its reason (OpenSSL ends the message with a newline)', () => {
    const e = Object.assign(
      new Error(
        'C0B7E3F5F67F0000:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 40\n',
      ),
      { code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' },
    );
    assert.equal(
      describeTlsError(e),
      'the TLS handshake failed: sslv3 alert handshake failure (SSL alert number 40)',
    );
    // With the endpoint, as the probe words it.
    assert.equal(
      describeTlsError(e, '10.0.0.5:636'),
      'the TLS handshake with 10.0.0.5:636 failed: sslv3 alert handshake failure (SSL alert number 40)',
    );
    assert.equal(
      describeTlsError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), '[::1]:636'),
      'the connection to [::1]:636 was reset during the TLS handshake',
    );
  });

  test('fractional milliseconds are rounded, other numbers kept', () => {
    assert.equal(roundMilliseconds('within 2999.8374 ms'), 'within 3000 ms');
    assert.equal(roundMilliseconds('timed out after 3000.123ms'), 'timed out after 3000ms');
    assert.equal(roundMilliseconds('version 1.2.3 ms'), 'version 1.2.3 ms');
    assert.equal(tidyErrorMessage('TLSv1.2 after 10 ms'), 'TLSv1.2 after 10 ms');
  });
});

describe('messages (real CLI)', () => {
  let dir: string;
  let chain: LabChain;
  const f = (n: string) => join(dir, n);
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-messages-'));
    chain = await makeChain({ names: ['msg.example.test'] });
    writeFileSync(f('root.pem'), chain.root.pem);
    writeFileSync(f('leaf.pem'), chain.leaf.pem);
    writeFileSync(f('key.pem'), await privateKeyPem(await generateKey('ec-p256')));
    execFileSync('openssl', ['pkey', '-in', f('key.pem'), '-outform', 'DER', '-out', f('key.der')]);
    execFileSync('openssl', [
      'pkey',
      '-in',
      f('key.pem'),
      '-aes-128-cbc',
      '-passout',
      'pass:secret',
      '-out',
      f('enc-key.pem'),
    ]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a timeout message has whole milliseconds', async () => {
    // Accepts TCP, never answers the ClientHello.
    const { server, port } = await listen(() => {});
    try {
      const r = await runCli(['check', `127.0.0.1:${port}`, '--timeout', '1s', '--format', 'json']);
      assert.equal(r.code, 3, r.stderr);
      const f0 = JSON.parse(r.stdout).results[0].findings[0];
      assert.equal(f0.code, 'timeout');
      assert.match(f0.message, /\d+ ?ms/);
      assert.doesNotMatch(f0.message, /\d\.\d+ ?ms/);
    } finally {
      server.close();
    }
  });

  test('a handshake failure names the alert, not OpenSSL source paths', async () => {
    // Answers the ClientHello with a fatal internal_error alert.
    const { server, port } = await listen((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end(Buffer.from([0x15, 3, 3, 0, 2, 2, 80])));
    });
    try {
      const r = await runCli(['check', `127.0.0.1:${port}`, '--timeout', '5s', '--format', 'json']);
      const f0 = JSON.parse(r.stdout).results[0].findings[0];
      assert.equal(f0.code, 'handshake-failed');
      assert.match(f0.message, /internal error \(SSL alert number 80\)/);
      assert.doesNotMatch(f0.message, /deps\/openssl|\.c:\d+|error:[0-9A-F]{8}|routines/);
    } finally {
      server.close();
    }
  });

  for (const [name, args, pattern] of [
    [
      'verify KEY.pem',
      ['verify', 'KEY.pem'],
      /key\.pem \(PEM block 1, line 1\): is a private key, not a certificate/,
    ],
    ['verify KEY.der', ['verify', 'KEY.der'], /key\.der: is a private key in DER form, not a certificate/],
    [
      'verify --ca KEY.pem',
      ['verify', 'LEAF', '--ca', 'KEY.pem'],
      /--ca \S*key\.pem \(PEM block 1, line 1\): is a private key, not a certificate/,
    ],
    [
      'check --ca KEY.pem',
      ['check', '127.0.0.1:9', '--ca', 'KEY.pem'],
      /--ca \S*key\.pem \(PEM block 1, line 1\): is a private key, not a certificate/,
    ],
  ] as const) {
    test(`a key given as a certificate — ${name}: exit 3 in clear words`, async () => {
      const r = await runCli(
        args.map((a) => (a === 'LEAF' ? f('leaf.pem') : a.startsWith('KEY') ? f(a.toLowerCase()) : a)),
      );
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, NO_STACK);
    });
  }

  for (const [name, args, pattern] of [
    [
      '--client-key CERT',
      ['--client-cert', 'LEAF', '--client-key', 'LEAF'],
      /--client-key \S*leaf\.pem: is a certificate, not a private key/,
    ],
    [
      '--client-cert KEY',
      ['--client-cert', 'KEY', '--client-key', 'KEY'],
      /--client-cert \S*key\.pem: is a private key, not a certificate/,
    ],
    [
      '--client-pfx PEM',
      ['--client-pfx', 'LEAF'],
      /--client-pfx \S*leaf\.pem: is PEM text, not a PKCS#12 file/,
    ],
    [
      'an encrypted key without a passphrase',
      ['--client-cert', 'LEAF', '--client-key', 'ENC'],
      /enc-key\.pem: is encrypted: give its passphrase with --client-key-pass-env VAR or --client-key-pass-file FILE/,
    ],
    [
      'a missing passphrase file',
      ['--client-cert', 'LEAF', '--client-key', 'ENC', '--client-key-pass-file', 'NOFILE'],
      /--client-key-pass-file \S*no-such-pass: cannot read passphrase file: no such file/,
    ],
  ] as const) {
    test(`client identity — ${name}: exit 64 in clear words`, async () => {
      const map = (a: string) =>
        a === 'LEAF'
          ? f('leaf.pem')
          : a === 'KEY'
            ? f('key.pem')
            : a === 'ENC'
              ? f('enc-key.pem')
              : a === 'NOFILE'
                ? f('no-such-pass')
                : a;
      const r = await runCli(['check', '127.0.0.1:9', ...args.map(map)]);
      assert.equal(r.code, 64, r.stderr);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /routines|no start line|wrong tag/);
    });
  }

  test('missing passphrase sources: exit 64 for both an unset variable and a missing file', async () => {
    const base = ['check', '127.0.0.1:9', '--client-cert', f('leaf.pem'), '--client-key', f('enc-key.pem')];
    const env = await runCli([...base, '--client-key-pass-env', 'CERTVET_TEST_UNSET_VAR']);
    const file = await runCli([...base, '--client-key-pass-file', f('no-such-pass')]);
    assert.equal(env.code, 64, env.stderr);
    assert.match(env.stderr, /--client-key-pass-env: environment variable CERTVET_TEST_UNSET_VAR is not set/);
    assert.equal(file.code, 64, file.stderr);
    assert.match(
      file.stderr,
      /--client-key-pass-file \S*no-such-pass: cannot read passphrase file: no such file/,
    );
  });

  for (const [name, file, content, code, pattern] of [
    [
      'a missing per-target CA',
      'ca.yaml',
      'targets:\n  - 127.0.0.1:9\n  - target: 127.0.0.1:10\n    ca: missing-ca.pem\n',
      3,
      /ca\.yaml:3: ca missing-ca\.pem: cannot read CA file: no such file/,
    ],
    [
      'a per-target resolve that is not an address',
      'resolve.yaml',
      'targets:\n  - target: a.example.test:443\n    resolve: not-an-ip\n',
      64,
      /resolve\.yaml:3: "resolve": must be an IP address/,
    ],
    [
      'a per-target client certificate without its key',
      'client.yaml',
      '- 127.0.0.1:9\n- target: 127.0.0.1:10\n  clientCert: LEAF\n',
      64,
      /client\.yaml:2: clientCert and clientKey must be given together/,
    ],
    [
      'a per-target key that is a certificate',
      'swap.yaml',
      '- target: 127.0.0.1:10\n  clientCert: LEAF\n  clientKey: LEAF\n',
      64,
      /swap\.yaml:1: clientKey \S*leaf\.pem: is a certificate, not a private key/,
    ],
  ] as const) {
    test(`target file — ${name}: names the file and line`, async () => {
      writeFileSync(f(file), content.replaceAll('LEAF', f('leaf.pem')));
      const r = await runCli(['check', '-f', f(file)], {});
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, pattern);
    });
  }

  test('target file on stdin: errors say "stdin:LINE"', async () => {
    const r = await runCli(['check', '-f', '-'], { input: '127.0.0.1:9\n# comment\nbad.example:99999\n' });
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /certvet: stdin:3: "bad\.example:99999": invalid port/);
  });
});

describe('bad flag values: exit 64 naming the flag, never a stack trace (real CLI)', () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-flags-'));
    const chain = await makeChain({ names: ['flags.example.test'] });
    writeFileSync(join(dir, 'leaf.pem'), chain.leaf.pem);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const LEAF = () => join(dir, 'leaf.pem');
  for (const [name, cases] of [
    [
      'inspect',
      [
        [['inspect', '127.0.0.1:9', '--resolve', 'bad'], '--resolve'],
        [['inspect', 'a.test:443', '--resolve', 'a.test:443:nope'], '--resolve'],
        [['inspect', '-', '--resolve', 'bad'], '--resolve'],
        [['inspect', '127.0.0.1:9', '--timeout', 'soon'], '--timeout'],
      ],
    ],
    [
      'check',
      [
        [['check', '127.0.0.1:9', '--resolve', 'bad'], '--resolve'],
        [['check', '127.0.0.1:9', '--timeout', 'soon'], '--timeout'],
        [['check', '127.0.0.1:9', '--concurrency', '0'], '--concurrency'],
        [['check', '127.0.0.1:9', '--shard', '3/2'], '--shard'],
        [['check', '127.0.0.1:9', '--warn-days', '99999999999999999999'], '--warn-days'],
      ],
    ],
    [
      'verify',
      [
        [['verify', 'LEAF', '--ip', 'not-an-ip'], '--ip'],
        [['verify', 'LEAF', '--email', 'nobody'], '--email'],
        [['verify', 'LEAF', '--uri', 'relative/path'], '--uri'],
        [['verify', 'LEAF', '--max-depth', '99999999999999999999'], '--max-depth'],
      ],
    ],
    ['lab', [[['lab', 'start', '--port-base', '70000', '--dir', 'DIR'], '--port-base']]],
  ] as const) {
    test(`${name}: every bad flag value`, async () => {
      for (const [args, flag] of cases) {
        const r = await runCli(args.map((a) => (a === 'LEAF' ? LEAF() : a === 'DIR' ? dir : a)));
        assert.equal(r.code, 64, `${args.join(' ')}: ${r.stderr}`);
        assert.ok(r.stderr.includes(flag), r.stderr);
        assert.doesNotMatch(r.stderr, NO_STACK);
        assert.doesNotMatch(r.stderr, /internal error/);
      }
    });
  }

  test('-o into a missing directory: exit 64 naming the path', async () => {
    const out = join(dir, 'missing', 'report.json');
    const c = await runCli(['check', '127.0.0.1:9', '--timeout', '2s', '-o', out]);
    assert.equal(c.code, 64, c.stderr);
    assert.ok(c.stderr.includes(`${out}: cannot open: no such file or directory`), c.stderr);
    assert.doesNotMatch(c.stderr, NO_STACK);
  });
});
