import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkTarget } from '../src/check/pipeline.js';
import { type Lab, labTarget, startLab } from '../src/lab/zoo.js';
import { parseTarget } from '../src/scan/target.js';
import { loadCertificates } from '../src/x509/load.js';
import { runCli } from './support/cli.js';

const certvet = (args: string[]) => runCli(args);
const certvetStdin = (args: string[], input: string) => runCli(args, { input });
const certvetEnv = (args: string[], env: Record<string, string>) => runCli(args, { env });

describe('the lab, checked end to end over real TLS on 127.0.0.1', () => {
  let lab: Lab;
  let dir: string;
  const f = (n: string) => join(dir, n);
  before(async () => {
    lab = await startLab();
    dir = mkdtempSync(join(tmpdir(), 'certvet-lab-'));
    writeFileSync(f('ca.pem'), lab.caPem);
    writeFileSync(f('int.pem'), lab.intermediatesPem);
    writeFileSync(f('client.pem'), lab.client.certPem);
    writeFileSync(f('client.key'), lab.client.keyPem);
    writeFileSync(
      f('targets.yaml'),
      `targets:\n${lab.endpoints.map((e) => `  - target: "${labTarget(e)}"\n    resolve: "${e.address}"`).join('\n')}\n`,
    );
  });
  /** Target arguments for lab endpoints by name, with the --resolve each needs. */
  const targetsFor = (...names: string[]) => {
    const eps = names.map((n) => lab.endpoints.find((e) => e.name === n)!);
    return [...eps.map(labTarget), ...eps.flatMap((e) => ['--resolve', `${e.host}:${e.port}:${e.address}`])];
  };
  after(async () => {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every endpoint gets the verdict the lab expects (library API)', async () => {
    const anchors = loadCertificates(Buffer.from(lab.caPem), 'ca').certificates;
    const local = loadCertificates(Buffer.from(lab.intermediatesPem), 'int').certificates;
    const { AiaFetcher } = await import('../src/revocation/aia.js');
    const { CrlCache } = await import('../src/revocation/crlCache.js');
    const aia = new AiaFetcher({ timeoutMs: 2000, maxBytes: 1 << 20 });
    const revocation = {
      mode: 'soft' as const,
      sources: ['ocsp', 'crl'] as ('ocsp' | 'crl')[],
      crlCache: new CrlCache({ timeoutMs: 2000, maxBytes: 1 << 20 }),
      fetch: { timeoutMs: 2000, maxOcspBytes: 1 << 20 },
    };
    for (const e of lab.endpoints) {
      const r = await checkTarget({
        spec: parseTarget(labTarget(e)),
        address: e.address,
        caPem: [lab.caPem],
        aia,
        revocation,
        policy: {
          anchors,
          localIntermediates: local,
          profile: 'webpki',
          conformance: 'warn',
          warnDays: 30,
          critDays: 7,
          warnPercent: 0,
        },
      });
      assert.equal(r.status, e.expectStatus, `${e.name}: ${JSON.stringify(r.findings)}`);
      const codes = new Set(r.findings.map((x) => x.code));
      for (const c of e.expectCodes) assert.ok(codes.has(c), `${e.name}: expected ${c}, got ${[...codes]}`);
      if (e.expectStatus === 'ok')
        assert.equal(
          r.findings.filter((x) => x.severity !== 'info').length,
          0,
          `${e.name}: ${JSON.stringify(r.findings)}`,
        );
    }
  });

  test('the chain is recorded exactly as sent, and the incomplete chain names the missing intermediate', async () => {
    const r = await certvet([
      'check',
      ...targetsFor('good-ecdsa', 'incomplete-chain'),
      '--ca',
      f('ca.pem'),
      '--chain',
      f('int.pem'),
      '--format',
      'json',
    ]);
    assert.equal(r.code, 1, r.stderr);
    const j = JSON.parse(r.stdout);
    const [g, i] = j.results;
    assert.deepEqual(
      g.chain.map((c: { source: string }) => c.source),
      ['peer', 'peer', 'trust-store'],
    );
    assert.deepEqual(
      i.chain.map((c: { source: string }) => c.source),
      ['peer', 'trust-store', 'trust-store'],
    );
    assert.match(i.findings[0].message, /does not send the intermediate certificate .*Issuing CA/);
    assert.equal(g.tls.protocol, 'TLSv1.3');
    assert.equal(g.crossCheck.authorized, true);
    assert.equal(g.crossCheck.agrees, true);
  });

  test('certvet check -f targets.yaml: exit 2, every format renders', async () => {
    const base = ['check', '-f', f('targets.yaml'), '--ca', f('ca.pem'), '--chain', f('int.pem')];
    const text = await certvet(base);
    assert.equal(text.code, 2, text.stderr);
    assert.match(text.stdout, /24 targets: 6 ok, 5 warning, 13 critical, 0 error/);
    assert.match(text.stdout, /CRITICAL\s+expired\.lab\.certvet\.test/);
    const json = JSON.parse((await certvet([...base, '--format', 'json'])).stdout);
    assert.deepEqual(json.summary, { total: 24, ok: 6, warning: 5, critical: 13, error: 0 });
    assert.deepEqual(
      json.results.map((r: { target: string }) => r.target),
      lab.endpoints.map(labTarget),
      'json results keep the input order',
    );
    const jsonl = (await certvet([...base, '--format', 'jsonl'])).stdout.trim().split('\n');
    assert.equal(jsonl.length, 24);
    for (const line of jsonl) assert.ok(JSON.parse(line).target);
    const junit = (await certvet([...base, '--format', 'junit'])).stdout;
    assert.match(junit, /<testsuites name="certvet" tests="24" failures="13" errors="0"/);
    assert.equal((junit.match(/<testcase /g) ?? []).length, 24);
    const prom = (await certvet([...base, '--format', 'prometheus'])).stdout;
    assert.match(prom, /# TYPE certvet_cert_not_after_timestamp_seconds gauge/);
    assert.match(prom, /certvet_target_status\{target="expired\.lab\.certvet\.test:\d+"\} 2/);
    const html = await certvet([...base, '--format', 'html', '-o', f('report.html')]);
    assert.equal(html.stdout, '');
    const page = readFileSync(f('report.html'), 'utf8');
    assert.match(page, /<table id="results">/);
    assert.ok(!/<(link|img|script src)/i.test(page), 'self-contained');
  });

  test('inspect a live endpoint: every certificate as sent', async () => {
    const r = await certvet(['inspect', ...targetsFor('messy-chain'), '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const subjects = JSON.parse(r.stdout).certificates.map((c: { subject: string }) => c.subject);
    assert.deepEqual(subjects, [
      'CN=messy-chain.lab.certvet.test',
      'O=certvet lab,CN=certvet Lab Root CA',
      'O=elsewhere,CN=Some Other Issuing CA',
      'O=certvet lab,CN=certvet Lab Issuing CA',
    ]);
    const down = await certvet(['inspect', '127.0.0.1:1']);
    assert.equal(down.code, 3);
    assert.match(down.stderr, /127\.0\.0\.1:1: connection to 127\.0\.0\.1:1 refused/);
  });

  test('per-target revocation policy in the target file', async () => {
    const ep = lab.endpoints.find((e) => e.name === 'revoked-ocsp')!;
    writeFileSync(
      f('rev.yaml'),
      `targets:\n  - target: "${labTarget(ep)}"\n    resolve: "127.0.0.1"\n    revocation: "off"\n`,
    );
    const r = await certvet(['check', '-f', f('rev.yaml'), '--ca', f('ca.pem'), '--format', 'json']);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(JSON.parse(r.stdout).results[0].chain[0].revocation, undefined);
    const on = await certvet([
      'check',
      ...targetsFor('revoked-ocsp'),
      '--ca',
      f('ca.pem'),
      '--format',
      'json',
    ]);
    assert.equal(on.code, 2);
    assert.equal(JSON.parse(on.stdout).results[0].chain[0].revocation.status, 'revoked');
    assert.ok(JSON.parse(on.stdout).results[0].findings.some((x: { code: string }) => x.code === 'revoked'));
  });

  test('--shard splits the targets deterministically and completely', async () => {
    const seen: string[] = [];
    for (const k of [1, 2, 3]) {
      const r = await certvet([
        'check',
        '-f',
        f('targets.yaml'),
        '--ca',
        f('ca.pem'),
        '--format',
        'jsonl',
        '--shard',
        `${k}/3`,
      ]);
      seen.push(
        ...r.stdout
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l).target),
      );
    }
    assert.deepEqual(seen.sort(), lab.endpoints.map(labTarget).sort());
  });

  test('client certificates: presented and accepted, or rejected when from another CA', async () => {
    const args = ['check', ...targetsFor('client-cert-required'), '--ca', f('ca.pem'), '--format', 'json'];
    const ok = await certvet([...args, '--client-cert', f('client.pem'), '--client-key', f('client.key')]);
    assert.equal(ok.code, 0, ok.stdout);
    const { makeChain, privateKeyPem } = await import('../src/lab/pki.js');
    const other = await makeChain({ names: ['intruder'] });
    writeFileSync(f('bad.pem'), other.leaf.pem);
    writeFileSync(f('bad.key'), await privateKeyPem(other.leaf.key));
    const bad = await certvet([...args, '--client-cert', f('bad.pem'), '--client-key', f('bad.key')]);
    assert.equal(bad.code, 2);
    assert.ok(
      JSON.parse(bad.stdout).results[0].findings.some(
        (x: { code: string }) => x.code === 'client-cert-rejected',
      ),
    );
    const none = await certvet(args);
    assert.equal(none.code, 1);
    assert.ok(
      JSON.parse(none.stdout).results[0].findings.some(
        (x: { code: string }) => x.code === 'client-cert-required',
      ),
    );
  });

  test('encrypted client keys and PKCS#12, passphrases only from env or file', async () => {
    const { execFileSync } = await import('node:child_process');
    const args = ['check', ...targetsFor('client-cert-required'), '--ca', f('ca.pem'), '--format', 'json'];
    execFileSync('openssl', [
      'pkey',
      '-in',
      f('client.key'),
      '-aes256',
      '-passout',
      'pass:s3cret',
      '-out',
      f('client-enc.key'),
    ]);
    execFileSync('openssl', [
      'pkcs12',
      '-export',
      '-in',
      f('client.pem'),
      '-inkey',
      f('client.key'),
      '-passout',
      'pass:s3cret',
      '-out',
      f('client.p12'),
    ]);
    writeFileSync(f('pass.txt'), 's3cret\n');
    const env = await certvetEnv(
      [
        ...args,
        '--client-cert',
        f('client.pem'),
        '--client-key',
        f('client-enc.key'),
        '--client-key-pass-env',
        'CV_PASS',
      ],
      { CV_PASS: 's3cret' },
    );
    assert.equal(env.code, 0, env.stdout + env.stderr);
    const file = await certvet([
      ...args,
      '--client-pfx',
      f('client.p12'),
      '--client-key-pass-file',
      f('pass.txt'),
    ]);
    assert.equal(file.code, 0, file.stdout + file.stderr);
    const wrong = await certvetEnv(
      [...args, '--client-pfx', f('client.p12'), '--client-key-pass-env', 'CV_PASS'],
      { CV_PASS: 'nope' },
    );
    assert.equal(wrong.code, 64);
    assert.match(wrong.stderr, /--client-pfx .*client\.p12: cannot be decrypted/);
    assert.ok(
      !wrong.stdout.includes('nope') && !wrong.stderr.includes('nope'),
      'never echoes the passphrase',
    );
    const unset = await certvet([
      ...args,
      '--client-pfx',
      f('client.p12'),
      '--client-key-pass-env',
      'CV_UNSET_VAR',
    ]);
    assert.equal(unset.code, 64);
    assert.match(unset.stderr, /CV_UNSET_VAR is not set/);
  });

  test('https:// targets offer ALPN (h2, http/1.1) and record what was negotiated', async () => {
    const tls = await import('node:tls');
    const { makeChain, privateKeyPem } = await import('../src/lab/pki.js');
    const c = await makeChain({ names: ['127.0.0.1'] });
    const server = tls.createServer(
      {
        cert: c.leaf.pem + c.intermediate.pem,
        key: await privateKeyPem(c.leaf.key),
        ALPNProtocols: ['h2', 'http/1.1'],
      },
      (s) => s.end(),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    writeFileSync(f('alpn.pem'), c.root.pem);
    try {
      const port = (server.address() as { port: number }).port;
      const r = await certvet([
        'check',
        `https://127.0.0.1:${port}/health`,
        '--ca',
        f('alpn.pem'),
        '--format',
        'json',
      ]);
      assert.equal(JSON.parse(r.stdout).results[0].tls.alpn, 'h2');
    } finally {
      server.close();
    }
  });

  test('TLS 1.2 servers that require a client certificate are detected too', async () => {
    const tls = await import('node:tls');
    const { makeChain, privateKeyPem } = await import('../src/lab/pki.js');
    const c = await makeChain({ names: ['127.0.0.1'] });
    const server = tls.createServer(
      {
        cert: c.leaf.pem + c.intermediate.pem,
        key: await privateKeyPem(c.leaf.key),
        requestCert: true,
        rejectUnauthorized: true,
        ca: [c.root.pem],
        maxVersion: 'TLSv1.2',
      },
      (s) => s.end(),
    );
    server.on('tlsClientError', () => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    writeFileSync(f('r12.pem'), c.root.pem);
    try {
      const r = await certvet(['check', `127.0.0.1:${port}`, '--ca', f('r12.pem'), '--format', 'json']);
      const res = JSON.parse(r.stdout).results[0];
      assert.equal(res.status, 'warning', JSON.stringify(res.findings));
      assert.equal(res.tls.protocol, 'TLSv1.2');
      assert.equal(res.chain.length, 3, 'its own chain is still verified');
    } finally {
      server.close();
    }
  });

  test('--probe-protocols reports every version the server accepts', async () => {
    const r = await certvet([
      'check',
      ...targetsFor('tls10-only', 'good-ecdsa'),
      '--ca',
      f('ca.pem'),
      '--probe-protocols',
      '--format',
      'json',
    ]);
    const [a, b] = JSON.parse(r.stdout).results;
    assert.deepEqual(a.tls.protocols, { TLSv1: true, 'TLSv1.1': false, 'TLSv1.2': false, 'TLSv1.3': false });
    assert.deepEqual(b.tls.protocols, { TLSv1: true, 'TLSv1.1': true, 'TLSv1.2': true, 'TLSv1.3': true });
    assert.equal(b.tls.protocol, 'TLSv1.3');
    assert.ok(
      b.findings.some(
        (x: { code: string; message: string }) =>
          x.code === 'protocol-deprecated' && /TLSv1 and TLSv1\.1/.test(x.message),
      ),
    );
  });

  test('--all-addresses checks every address of a name (injected resolver)', async () => {
    const { defaultCheckFlags, runCheck } = await import('../src/cli/commands/check.js');
    const good = lab.endpoints.find((e) => e.name === 'good-ecdsa')!;
    const chunks: string[] = [];
    const out = { write: (s: string) => chunks.push(s), isTTY: false } as unknown as NodeJS.WriteStream;
    const code = await runCheck(
      [labTarget(good)],
      defaultCheckFlags({
        ca: [f('ca.pem')],
        timeout: 3000,
        concurrency: 4,
        format: 'json',
        color: false,
        quiet: true,
        allAddresses: true,
      }),
      { stdout: out, stderr: out, lookup: async () => ['127.0.0.1', '127.0.0.2'] },
    );
    const j = JSON.parse(chunks.join(''));
    assert.equal(code, 3);
    assert.deepEqual(
      j.results.map((x: { address: string; status: string }) => [x.address, x.status]),
      [
        ['127.0.0.1', 'ok'],
        ['127.0.0.2', 'error'],
      ],
    );
  });

  test('IPv6: [::1]:port, matched against an iPAddress SAN; -f - reads targets from stdin; --warn-percent', async () => {
    const tls = await import('node:tls');
    const { makeChain, privateKeyPem } = await import('../src/lab/pki.js');
    const c = await makeChain({ names: ['::1'] });
    const server = tls.createServer(
      { cert: c.leaf.pem + c.intermediate.pem, key: await privateKeyPem(c.leaf.key) },
      (s) => s.end(),
    );
    const listened = await new Promise<boolean>((r) => {
      server.once('error', () => r(false));
      server.listen(0, '::1', () => r(true));
    });
    if (!listened) return; // no IPv6 loopback on this machine
    const port = (server.address() as { port: number }).port;
    writeFileSync(f('r6.pem'), c.root.pem);
    try {
      const r = await certvetStdin(
        ['check', '-f', '-', '--ca', f('r6.pem'), '--format', 'json'],
        `# from stdin\n[::1]:${port}\n`,
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const res = JSON.parse(r.stdout).results[0];
      assert.equal(res.address, '::1');
      assert.equal(res.servername, null, 'no SNI for an IP literal');
      // 90-day leaf: asking for 100% of its lifetime left makes it a warning.
      const p = await certvet([
        'check',
        `[::1]:${port}`,
        '--ca',
        f('r6.pem'),
        '--warn-percent',
        '100',
        '--format',
        'json',
      ]);
      assert.equal(p.code, 1, p.stdout);
      assert.match(JSON.parse(p.stdout).results[0].findings[0].message, /% of its lifetime left/);
    } finally {
      server.close();
    }
  });

  test('certvet demo runs offline and prints the report', async () => {
    const t0 = Date.now();
    const r = await certvet(['demo', '--no-color']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /24 targets: 6 ok, 5 warning, 13 critical, 0 error/);
    assert.ok(Date.now() - t0 < 15_000);
  });

  test('lab start runs in the background, lab stop stops it', async () => {
    const state = join(dir, 'bg-lab');
    const start = await certvet(['lab', 'start', '--port-base', '0', '--dir', state]);
    assert.equal(start.code, 0, start.stderr);
    assert.match(start.stdout, /certvet lab running \(pid \d+\)/);
    const pid = Number(/pid (\d+)/.exec(start.stdout)![1]);
    const again = await certvet(['lab', 'start', '--port-base', '0', '--dir', state]);
    assert.equal(again.code, 64, 'refuses a second lab in the same directory');
    const check = await certvet([
      'check',
      '-f',
      join(state, 'targets.yaml'),
      '--ca',
      join(state, 'ca.pem'),
      '--chain',
      join(state, 'intermediates.pem'),
      '-q',
    ]);
    assert.equal(check.code, 2, check.stderr);
    assert.match(check.stdout, /24 targets: 6 ok, 5 warning, 13 critical, 0 error/);
    const stop = await certvet(['lab', 'stop', '--dir', state]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.throws(() => process.kill(pid, 0), 'the lab process is gone');
  });

  test('lab start: a port base with no room is a usage error; a port in use is named, with the log', async () => {
    const high = await certvet(['lab', 'start', '--port-base', '65500', '--dir', join(dir, 'no-room')]);
    assert.equal(high.code, 64);
    assert.match(high.stderr, /--port-base.*"65500" leaves no room for the lab's ports.*at most 65436/s);
    const { createServer } = await import('node:net');
    // A port the OS picks, below the lab's highest port base (ephemeral ranges can go higher).
    let taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    for (let tries = 0; (taken.address() as { port: number }).port > 65436 && tries < 50; tries++) {
      const next = createServer();
      await new Promise<void>((r) => next.listen(0, '127.0.0.1', r));
      taken.close();
      taken = next;
    }
    const port = (taken.address() as { port: number }).port;
    try {
      const state = join(dir, 'busy-lab');
      const busy = await certvet(['lab', 'start', '--port-base', String(port), '--dir', state]);
      assert.equal(busy.code, 3, busy.stderr);
      assert.match(
        busy.stderr,
        /the lab did not start: cannot listen on 127\.0\.0\.1:\d+: address already in use \(log: .*lab\.log\)/,
      );
      assert.doesNotMatch(busy.stderr, /internal error| {4}at /);
    } finally {
      taken.close();
    }
  });

  test('lab gen writes a usable PKI (server cert verifies against the CA)', async () => {
    const out = join(dir, 'pki');
    const g = await certvet(['lab', 'gen', out, '--name', 'svc.internal', '--name', '10.0.0.5']);
    assert.equal(g.code, 0, g.stderr);
    const v = await certvet([
      'verify',
      join(out, 'server-fullchain.pem'),
      '--ca',
      join(out, 'ca.pem'),
      '--host',
      'svc.internal',
    ]);
    assert.equal(v.code, 0, v.stdout);
    const c = await certvet([
      'verify',
      join(out, 'client-fullchain.pem'),
      '--ca',
      join(out, 'ca.pem'),
      '--purpose',
      'client',
    ]);
    assert.equal(c.code, 0, c.stdout);
  });
});
