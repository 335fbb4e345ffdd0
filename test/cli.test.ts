import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateKey, issue, type LabChain, makeChain, privateKeyPem } from '../src/lab/pki.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

function certvet(args: string[], opts: { input?: string } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    input: opts.input,
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('certvet verify / inspect (CLI)', () => {
  let dir: string;
  let chain: LabChain;
  const f = (name: string) => join(dir, name);
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-cli-'));
    chain = await makeChain({ names: ['www.example.test', '127.0.0.1'] });
    writeFileSync(f('root.pem'), chain.root.pem);
    writeFileSync(f('int.pem'), chain.intermediate.pem);
    writeFileSync(f('leaf.pem'), chain.leaf.pem);
    writeFileSync(f('leaf.der'), chain.leaf.der);
    writeFileSync(
      f('full.pem'),
      `subject=whatever\r\n${chain.leaf.pem.replace(/\n/g, '\r\n')}\njunk between blocks\n${chain.intermediate.pem}`,
    );
    const key = await generateKey('ec-p256');
    writeFileSync(f('key.pem'), await privateKeyPem(key));
    writeFileSync(
      f('enc-key.pem'),
      '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQIc2VjcmV0c2VjcmV0\n-----END ENCRYPTED PRIVATE KEY-----\n',
    );
    writeFileSync(
      f('garbage.pem'),
      '-----BEGIN CERTIFICATE-----\nthis is not base64 at all!\n-----END CERTIFICATE-----\n',
    );
    writeFileSync(f('truncated.der'), chain.leaf.der.subarray(0, chain.leaf.der.length - 20));
    writeFileSync(f('text.txt'), 'hello, I am not a certificate\n');
    writeFileSync(f('big.pem'), Buffer.alloc(50 * 1024 * 1024, 0x41));
    const evil = await issue({
      subject: 'CN=evil\u001b[31mRED\u202etxt.exe',
      issuer: chain.intermediate,
      dns: ['evil.example.test'],
    });
    writeFileSync(f('evil.pem'), evil.pem);
    const oddSerial = await issue({
      subject: 'CN=odd.example.test',
      issuer: chain.intermediate,
      dns: ['odd.example.test'],
      serialNumber: `01${'00'.repeat(20)}`,
    });
    writeFileSync(f('odd.pem'), oddSerial.pem);
    // 500 certificates: a long chain of CAs, each issued by the previous one.
    let prev = chain.root;
    const pems: string[] = [];
    const key2 = await generateKey('ec-p256');
    for (let i = 0; i < 500; i++) {
      prev = await issue({ subject: `CN=Long CA ${i}`, issuer: prev, ca: true, key: key2 });
      pems.push(prev.pem);
    }
    const longLeaf = await issue({
      subject: 'CN=long.example.test',
      dns: ['long.example.test'],
      issuer: prev,
    });
    writeFileSync(f('long.pem'), [longLeaf.pem, ...pems.reverse()].join('\n'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a good chain: exit 0, JSON per DESIGN.md §4', () => {
    const r = certvet([
      'verify',
      f('leaf.pem'),
      '--chain',
      f('int.pem'),
      '--ca',
      f('root.pem'),
      '--host',
      'www.example.test',
      '--format',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const j = JSON.parse(r.stdout);
    assert.equal(j.version, 1);
    assert.deepEqual(j.summary, { total: 1, ok: 1, warning: 0, critical: 0, error: 0 });
    const res = j.results[0];
    assert.equal(res.status, 'ok');
    assert.equal(res.chain.length, 3);
    assert.deepEqual(
      res.chain.map((c: { source: string }) => c.source),
      ['peer', 'peer', 'trust-store'],
    );
    assert.deepEqual(res.chain[0].subjectAltNames, {
      dns: ['www.example.test'],
      ip: ['127.0.0.1'],
      email: [],
      uri: [],
    });
    assert.equal(res.chain[0].publicKey.type, 'ec');
    assert.equal(res.chain[0].publicKey.curve, 'P-256');
    assert.equal(res.chain[2].selfSigned, true);
    assert.match(res.chain[0].sha256, /^[0-9a-f]{64}$/);
  });

  test('PEM with CRLF, junk and the intermediate in the same file; DER leaf', () => {
    assert.equal(certvet(['verify', f('full.pem'), '--ca', f('root.pem'), '--ip', '127.0.0.1']).code, 0);
    assert.equal(certvet(['verify', f('leaf.der'), '--chain', f('int.pem'), '--ca', f('root.pem')]).code, 0);
  });

  test('wrong name and expired: exit 2 with both findings named', () => {
    const r = certvet([
      'verify',
      f('full.pem'),
      '--ca',
      f('root.pem'),
      '--host',
      'other.example.test',
      '--at',
      '2031-01-01',
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /hostname-mismatch .*other\.example\.test/);
    assert.match(r.stdout, /expired .*leaf certificate/);
  });

  test('no anchor given and not in the system store: untrusted', () => {
    const r = certvet(['verify', f('full.pem'), '--host', 'www.example.test']);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /untrusted/);
  });

  test('--lenient turns a profile violation into a warning: exit 1', () => {
    const args = [
      'verify',
      f('odd.pem'),
      '--chain',
      f('int.pem'),
      '--ca',
      f('root.pem'),
      '--host',
      'odd.example.test',
    ];
    const strict = certvet(args);
    assert.equal(strict.code, 2);
    assert.match(strict.stdout, /profile-violation/);
    assert.match(strict.stdout, /21-octet serial/);
    const r = certvet([...args, '--lenient']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /WARNING .*21-octet serial/);
  });

  test('hostile certificate text is escaped for the terminal', () => {
    const r = certvet([
      'verify',
      f('evil.pem'),
      '--chain',
      f('int.pem'),
      '--ca',
      f('root.pem'),
      '--host',
      'evil.example.test',
    ]);
    assert.equal(r.code, 0);
    assert.ok(!r.stdout.includes('\u001b'), 'no raw ESC in output');
    assert.ok(!r.stdout.includes('\u202e'), 'no raw bidi override in output');
    assert.match(r.stdout, /evil\\x1b\[31mRED\\u202etxt\.exe/);
  });

  for (const [name, file, pattern] of [
    ['a missing file', 'nope.pem', /nope\.pem: cannot read certificate: no such file/],
    [
      'garbage PEM',
      'garbage.pem',
      /garbage\.pem: is not valid PEM: line 2: unexpected text inside the CERTIFICATE block/,
    ],
    ['a private key', 'key.pem', /key\.pem \(PEM block 1, line 1\): is a private key, not a certificate/],
    ['an encrypted private key', 'enc-key.pem', /is an encrypted private key, not a certificate/],
    [
      'truncated DER',
      'truncated.der',
      /truncated\.der: is neither PEM nor a DER certificate \(not a valid DER X\.509 certificate: truncated/,
    ],
    ['plain text', 'text.txt', /text\.txt: is neither PEM nor a DER certificate/],
    [
      'a 50 MB file',
      'big.pem',
      /big\.pem: is 52428800 bytes, larger than the 16 MiB limit for a certificate/,
    ],
    ['a directory', '.', /is a directory/],
  ] as const) {
    test(`bad input — ${name}: exit 3, one clear message, no stack trace`, () => {
      const r = certvet(['verify', file === '.' ? dir : f(file), '--ca', f('root.pem')]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, pattern);
      assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
      assert.ok(!r.stderr.includes('MIIB'), 'never echoes key material');
    });
  }

  test('a 500-certificate chain file finishes quickly with a verdict', () => {
    const t0 = Date.now();
    const r = certvet([
      'verify',
      f('long.pem'),
      '--ca',
      f('root.pem'),
      '--host',
      'long.example.test',
      '--format',
      'json',
    ]);
    assert.ok(r.code === 2, r.stderr);
    assert.ok(Date.now() - t0 < 30_000);
    const j = JSON.parse(r.stdout);
    assert.ok(
      j.results[0].findings.some((x: { code: string }) => x.code === 'path-too-long'),
      JSON.stringify(j.results[0].findings.map((x: { code: string }) => x.code)),
    );
  });

  for (const [name, args] of [
    ['an unknown flag', ['verify', 'x.pem', '--bogus']],
    ['a bad --purpose', ['verify', 'x.pem', '--purpose', 'banana']],
    ['a bad --at', ['verify', 'x.pem', '--at', 'yesterday-ish']],
    ['two identities', ['verify', 'LEAF', '--host', 'a.example', '--ip', '127.0.0.1']],
    ['an unknown command', ['frobnicate']],
  ] as const) {
    test(`usage error — ${name}: exit 64`, () => {
      const r = certvet(args.map((a) => (a === 'LEAF' ? f('leaf.pem') : a)));
      assert.equal(r.code, 64, r.stderr);
      assert.ok(r.stderr.length > 0);
    });
  }

  test('inspect prints decoded details and JSON', () => {
    const t = certvet(['inspect', f('full.pem')]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /Subject alt names\s+DNS:www\.example\.test, IP:127\.0\.0\.1/);
    assert.match(t.stdout, /basicConstraints \(critical\)\n\s+CA:TRUE, pathlen:0/);
    assert.match(t.stdout, /SHA-256\s+([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    const j = certvet(['inspect', '--format', 'json', f('leaf.pem'), f('int.pem')]);
    const out = JSON.parse(j.stdout);
    assert.equal(out.certificates.length, 2);
    assert.equal(out.certificates[1].isCA, true);
    assert.ok(
      out.certificates[0].extensions.some(
        (e: { name: string; value: string[] }) => e.name === 'extKeyUsage' && e.value[0] === 'serverAuth',
      ),
    );
    assert.equal(out.certificates[0].sha256, chain.leaf.parsed.sha256);
    assert.match(out.certificates[0].sha1, /^[0-9a-f]{40}$/);
  });

  test('inspect of a non-certificate: exit 3 naming the file', () => {
    const r = certvet(['inspect', f('key.pem')]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /key\.pem .*private key/);
  });

  test('inspect reads stdin with -', () => {
    const r = certvet(['inspect', '-'], { input: chain.leaf.pem });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /CN=www\.example\.test/);
  });

  test('--help and --version exit 0', () => {
    assert.equal(certvet(['--help']).code, 0);
    assert.match(certvet(['--version']).stdout, /^\d+\.\d+\.\d+/);
    assert.match(certvet(['verify', '--help']).stdout, /--profile <profile>/);
  });

  test('check --help shows durations, sizes and lists as they are written on the command line', () => {
    // Wrapped by commander: compare with the line breaks folded.
    const help = certvet(['check', '--help']).stdout.replace(/\s+/g, ' ');
    assert.match(help, /--timeout <duration> per-target deadline \(e\.g\. 10s, 500ms\) \(default: 10s\)/);
    assert.match(help, /--fetch-timeout <duration> deadline for one OCSP or CRL fetch \(default: 5s\)/);
    assert.match(help, /--revocation-source <list> .*\(default: ocsp,crl\)/);
    assert.match(help, /--crl-max-bytes <n> .*\(default: 67108864 \(64 MiB\)\)/);
    assert.doesNotMatch(help, /default: (10000|5000|\[")/);
  });
});

describe('the bin is a bundle (scripts/bundle.ts)', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    version: string;
    bin: { certvet: string };
  };
  test('package.json names it, it keeps the Node flags of src/cli/main.ts, and it is executable', () => {
    assert.equal(join(root, pkg.bin.certvet), CLI);
    const firstLine = (f: string) => readFileSync(f, 'utf8').split('\n', 1)[0];
    assert.equal(firstLine(CLI), firstLine(join(root, 'src/cli/main.ts')));
    assert.match(firstLine(CLI) ?? '', /--max-old-space-size=\d+/);
    assert.ok((statSync(CLI).mode & 0o111) !== 0);
  });

  test('the probe worker sits beside the chunks, and only certvet code is inside', () => {
    const dir = dirname(CLI);
    assert.ok(existsSync(join(dir, 'probeWorker.js')));
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.js'))) {
      const text = readFileSync(join(dir, f), 'utf8');
      // Dependencies are imported by name, never inlined from node_modules.
      assert.doesNotMatch(text, /node_modules\//, f);
    }
  });

  test('the bin and the library report the version of package.json (found from either layout)', async () => {
    assert.equal(certvet(['--version']).stdout.trim(), pkg.version);
    const { packageRoot, packageVersion } = await import('../src/util/packageRoot.js');
    assert.equal(packageRoot(), resolve(root));
    assert.equal(packageVersion(), pkg.version);
  });

  test('a bare --version builds the program without any command; a command or help builds them', async () => {
    const { buildProgram } = await import('../src/cli/program.js');
    assert.deepEqual((await buildProgram(undefined, null)).commands, []);
    assert.deepEqual(
      (await buildProgram(undefined, 'verify')).commands.map((c) => c.name()),
      ['verify'],
    );
    assert.equal((await buildProgram()).commands.length, 8);
    assert.equal(certvet(['-V']).stdout.trim(), pkg.version);
    const help = certvet(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Commands:[\s\S]*check[\s\S]*serve/, 'help still lists every command');
  });
});
