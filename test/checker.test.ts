/*
 * The library's composition root: createChecker / checkTarget / scan against real TLS servers
 * on 127.0.0.1 — string and object targets, injected lookup (dns.lookup's signature), pins,
 * expectations, the policy hook, streaming with back-pressure, and option validation.
 */
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tls from 'node:tls';
import {
  CertvetOptionError,
  type CheckerOptions,
  CrlParseError,
  checkTarget,
  createChecker,
  loadCertificates,
  loadCrls,
  scan,
  spkiPin,
  type TargetResult,
} from '../src/index.js';
import { type IssuedCert, issue, privateKeyPem } from '../src/lab/pki.js';
import { runCli } from './support/cli.js';

const DAY = 86400_000;

interface Endpoint {
  server: tls.Server;
  port: number;
  connections: number;
}

async function serve(leaf: IssuedCert, chain: IssuedCert[]): Promise<Endpoint> {
  const ep = { connections: 0 } as Endpoint;
  ep.server = tls.createServer(
    { key: await privateKeyPem(leaf.key), cert: [leaf, ...chain].map((c) => c.pem).join('') },
    (s) => {
      s.on('error', () => {});
      s.end();
    },
  );
  ep.server.on('secureConnection', () => ep.connections++);
  ep.server.on('tlsClientError', () => {});
  await new Promise<void>((r) => ep.server.listen(0, '127.0.0.1', r));
  ep.port = (ep.server.address() as AddressInfo).port;
  return ep;
}

/** A dns.lookup-style resolver: every *.test name is 127.0.0.1; anything else fails. */
function lookup(
  hostname: string,
  _o: unknown,
  cb: (err: NodeJS.ErrnoException | null, a: LookupAddress[]) => void,
): void {
  if (hostname.endsWith('.test')) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
}

describe('createChecker, checkTarget and scan', () => {
  let root: IssuedCert;
  let intermediate: IssuedCert;
  let good: Endpoint;
  let expired: Endpoint;
  let goodLeaf: IssuedCert;
  let opts: CheckerOptions;

  before(async () => {
    root = await issue({ subject: 'CN=Library Root', ca: true });
    intermediate = await issue({ subject: 'CN=Library Issuing CA', ca: true, issuer: root, pathLen: 0 });
    goodLeaf = await issue({
      subject: 'CN=good.test',
      issuer: intermediate,
      dns: ['good.test'],
      ips: ['127.0.0.1'],
    });
    const expiredLeaf = await issue({
      subject: 'CN=expired.test',
      issuer: intermediate,
      dns: ['expired.test'],
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    good = await serve(goodLeaf, [intermediate]);
    expired = await serve(expiredLeaf, [intermediate]);
    opts = { ca: root.pem, lookup, revocation: 'off' };
  });
  after(async () => {
    for (const ep of [good, expired]) await new Promise<void>((r) => ep.server.close(() => r()));
  });

  test('checkTarget: a string target, trusted only by the given CA', async () => {
    const r = await checkTarget(`127.0.0.1:${good.port}`, opts);
    assert.equal(r.status, 'ok', JSON.stringify(r.findings));
    assert.equal(r.port, good.port);
    assert.equal(r.chain[0]!.subject, 'CN=good.test');
    const system = await checkTarget(`127.0.0.1:${good.port}`, { revocation: 'off' });
    assert.equal(system.status, 'critical', 'without ca the system store does not know this root');
    assert.ok(system.findings.some((f) => f.code === 'untrusted'));
  });

  test('local intermediates complete a leaf-only chain for certvet and for the cross-check alike', async () => {
    const leafOnly = await serve(goodLeaf, []);
    try {
      const target = `127.0.0.1:${leafOnly.port}`;
      const without = await checkTarget(target, opts);
      assert.equal(without.status, 'critical');
      assert.deepEqual(without.crossCheck, {
        authorized: false,
        error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        certvetValid: false,
        agrees: true,
      });
      const withLocal = await checkTarget(target, { ...opts, intermediates: intermediate.pem });
      assert.deepEqual(
        withLocal.findings.map((f) => f.code),
        ['incomplete-chain'],
        'the server still does not send its intermediate',
      );
      assert.deepEqual(withLocal.crossCheck, {
        authorized: true,
        error: null,
        certvetValid: true,
        agrees: true,
      });
      assert.deepEqual(
        withLocal.chain.map((c) => c.source),
        ['peer', 'trust-store', 'trust-store'],
      );
      // A local intermediate is not an anchor for OpenSSL either: without its root nothing is trusted.
      const otherRoot = await issue({ subject: 'CN=Unrelated Root', ca: true });
      const noRoot = await checkTarget(target, {
        ...opts,
        ca: otherRoot.pem,
        intermediates: intermediate.pem,
      });
      assert.equal(noRoot.status, 'critical');
      assert.equal(noRoot.crossCheck?.authorized, false);
      assert.equal(noRoot.crossCheck?.agrees, true);
    } finally {
      await new Promise<void>((r) => leafOnly.server.close(() => r()));
    }
  });

  test('names go through the injected lookup; a failing lookup is dns-failed', async () => {
    const checker = createChecker(opts);
    const r = await checker.check(`good.test:${good.port}`);
    assert.equal(r.status, 'ok', JSON.stringify(r.findings));
    assert.equal(r.address, '127.0.0.1');
    const e = await checker.check(`nowhere.invalid:${good.port}`);
    assert.equal(e.status, 'error');
    assert.deepEqual(
      e.findings.map((f) => f.code),
      ['dns-failed'],
    );
  });

  test('object targets: resolve, servername and expectName as in a target file', async () => {
    const checker = createChecker(opts);
    const r = await checker.check({
      target: `elsewhere.example:${good.port}`,
      resolve: '127.0.0.1',
      expectName: 'good.test',
    });
    assert.equal(r.status, 'ok', JSON.stringify(r.findings));
    const mismatch = await checker.check({ target: `127.0.0.1:${good.port}`, expectName: 'other.test' });
    assert.ok(mismatch.findings.some((f) => f.code === 'hostname-mismatch'));
  });

  test('pins, expectIssuer, expectFingerprint: each a stable finding', async () => {
    const base = `127.0.0.1:${good.port}`;
    const pinned = await checkTarget(base, { ...opts, pins: [spkiPin(intermediate.parsed)] });
    assert.equal(pinned.status, 'ok', 'a pin on the intermediate matches');
    const other = await issue({ subject: 'CN=Unrelated', ca: true });
    const wrongPin = await checkTarget(base, { ...opts, pins: [spkiPin(other.parsed)] });
    assert.deepEqual(
      wrongPin.findings.map((f) => [f.code, f.severity]),
      [['pin-mismatch', 'critical']],
    );
    assert.equal(wrongPin.status, 'critical');
    assert.equal((await checkTarget(base, { ...opts, expectIssuer: 'CN=Library Issuing CA' })).status, 'ok');
    const wrongIssuer = await checkTarget(base, { ...opts, expectIssuer: 'CN=Someone Else' });
    assert.ok(wrongIssuer.findings.some((f) => f.code === 'issuer-mismatch'));
    assert.equal(
      (await checkTarget(base, { ...opts, expectFingerprint: goodLeaf.parsed.sha256 })).status,
      'ok',
    );
    const wrongFp = await checkTarget(base, { ...opts, expectFingerprint: 'ab'.repeat(32) });
    assert.ok(wrongFp.findings.some((f) => f.code === 'fingerprint-mismatch'));
    assert.throws(() => createChecker({ ...opts, pins: ['md5/abc'] }), CertvetOptionError);
  });

  test('the policy hook: its findings join with custom: codes; a throwing policy fails closed', async () => {
    const seen: number[] = [];
    const r = await checkTarget(`127.0.0.1:${good.port}`, {
      ...opts,
      policy: (ctx) => {
        seen.push(ctx.path.length, ctx.sent.length);
        return ctx.path[0]!.publicKey.type === 'ec'
          ? [{ code: 'no-ec', severity: 'warning', message: 'EC keys are not on our list', certIndex: 0 }]
          : [];
      },
    });
    assert.deepEqual(seen, [3, 2], 'the validated path (leaf, intermediate, root) and the chain as sent');
    assert.deepEqual(
      r.findings.map((f) => [f.code, f.severity]),
      [['custom:no-ec', 'warning']],
    );
    assert.equal(r.status, 'warning');
    const broken = await checkTarget(`127.0.0.1:${good.port}`, {
      ...opts,
      policy: () => {
        throw new Error('rules unavailable');
      },
    });
    assert.equal(broken.status, 'critical');
    assert.match(broken.findings[0]!.message, /rules unavailable/);
  });

  test('scan: completion order, every target once, from an async iterable too', async () => {
    const targets = Array.from(
      { length: 24 },
      (_, i) => `127.0.0.1:${i % 3 === 0 ? expired.port : good.port}`,
    );
    async function* gen() {
      for (const t of targets) yield t;
    }
    for (const source of [targets, gen()]) {
      const out: TargetResult[] = [];
      for await (const r of scan(source, { ...opts, concurrency: 4 })) out.push(r);
      assert.equal(out.length, 24);
      assert.equal(out.filter((r) => r.status === 'critical').length, 8);
      assert.ok(
        out.filter((r) => r.status === 'critical').every((r) => r.findings.some((f) => f.code === 'expired')),
      );
    }
  });

  test('scan: a slow consumer slows the scan, and stopping early stops new checks', async () => {
    const before = good.connections;
    const targets = Array.from({ length: 200 }, () => `127.0.0.1:${good.port}`);
    let taken = 0;
    for await (const r of createChecker(opts).scan(targets, { concurrency: 4 })) {
      assert.equal(r.status, 'ok');
      await new Promise((res) => setTimeout(res, 20));
      if (++taken === 5) break;
    }
    await new Promise((res) => setTimeout(res, 200));
    const made = good.connections - before;
    // Five consumed, at most `concurrency` waiting and `concurrency` in flight: nowhere near 200.
    assert.ok(made <= 5 + 4 + 4, `${made} connections were made for 5 results`);
  });

  test('observe: the certificates exactly as sent, no verdict; an unreachable port is an error, not a throw', async () => {
    const checker = createChecker(opts);
    const obs = await checker.observe(`good.test:${good.port}`);
    assert.equal(obs.error, null);
    assert.equal(obs.certificates.length, 2);
    assert.deepEqual(Buffer.from(obs.certificates[0]!), Buffer.from(goodLeaf.der));
    const closed = await checker.observe('127.0.0.1:1');
    assert.equal(closed.error?.code, 'connect-failed');
  });

  test('scan: a bad concurrency is an option error; aborting while the source waits ends the scan with the reason', async () => {
    const checker = createChecker(opts);
    for (const concurrency of [0, 1.5, Number.NaN]) {
      const it = checker.scan([`127.0.0.1:${good.port}`], { concurrency });
      await assert.rejects(async () => {
        for await (const _ of it) {
          /* nothing */
        }
      }, CertvetOptionError);
    }
    const ac = new AbortController();
    async function* waiting() {
      yield `127.0.0.1:${good.port}`;
      await new Promise(() => {}); // a queue that never delivers again
    }
    const got: TargetResult[] = [];
    setTimeout(() => ac.abort(new Error('operator stopped the scan')), 500);
    const t0 = performance.now();
    await assert.rejects(async () => {
      for await (const r of checker.scan(waiting(), { signal: ac.signal, concurrency: 2 })) got.push(r);
    }, /operator stopped the scan/);
    assert.ok(performance.now() - t0 < 3000, 'the abort ended the scan promptly');
    assert.equal(got.length, 1);
  });

  test('the policy hook: a severity certvet does not know is critical, and the message says so', async () => {
    for (const [severity, shown] of [
      ['fatal', '"fatal"'],
      ['Warning', '"Warning"'],
      [undefined, 'none'],
      [2n, 'of type bigint'],
      ['x'.repeat(500), `"${'x'.repeat(40)}…"`],
    ] as const) {
      const r = await checkTarget(`127.0.0.1:${good.port}`, {
        ...opts,
        policy: () => [{ code: 'house-rule', severity: severity as never, message: 'leaf too long-lived' }],
      });
      assert.equal(r.status, 'critical', JSON.stringify(r.findings));
      assert.deepEqual(
        r.findings.map((f) => [f.code, f.severity]),
        [['custom:house-rule', 'critical']],
      );
      assert.match(
        r.findings[0]!.message,
        new RegExp(
          `^leaf too long-lived \\(the policy hook gave severity ${shown}, not one of info, warning, critical, error: taken as critical\\)$`,
        ),
      );
    }
  });

  test('the policy hook: malformed answers and a hook that never answers fail closed', async () => {
    for (const policy of [() => [{ code: 5 }], () => [null], () => 'fine', () => new Promise(() => {})]) {
      const r = await checkTarget(`127.0.0.1:${good.port}`, {
        ...opts,
        timeout: 1500,
        policy: policy as never,
      });
      assert.equal(r.status, 'critical', JSON.stringify(r.findings));
      assert.deepEqual(
        r.findings.map((f) => f.code),
        ['custom:policy-error'],
      );
    }
  });

  test('loaders take PEM text as well as bytes; a bad CRL is a CrlParseError with a code', async () => {
    assert.equal(loadCertificates(root.pem, 'root.pem').certificates[0]!.sha256, root.parsed.sha256);
    const { buildCrl } = await import('../src/lab/crlBuilder.js');
    const der = await buildCrl({ issuer: intermediate, entries: [] });
    const pem = `-----BEGIN X509 CRL-----\n${Buffer.from(der).toString('base64')}\n-----END X509 CRL-----\n`;
    assert.equal(loadCrls(pem, 'int.crl').length, 1);
    assert.throws(
      () => loadCrls('-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n', 'bad.crl'),
      (e: unknown) =>
        e instanceof CrlParseError && e.code === 'CERTVET_CRL_PARSE' && /^bad\.crl: /.test(e.message),
    );
  });

  test('cache lifetimes are options: a CRL kept for the run by default, fetched again with maxTtlMs 0', async () => {
    const { createServer } = await import('node:http');
    const { buildCrl } = await import('../src/lab/crlBuilder.js');
    let fetches = 0;
    const crl = await buildCrl({ issuer: intermediate, entries: [] });
    const http = createServer((_q, res) => {
      fetches++;
      res.end(Buffer.from(crl));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/ica.crl`;
    const leaf = await issue({
      subject: 'CN=127.0.0.1',
      issuer: intermediate,
      ips: ['127.0.0.1'],
      crlUrls: [url],
    });
    const ep = await serve(leaf, [intermediate]);
    try {
      const target = `127.0.0.1:${ep.port}`;
      // Hard mode wants the intermediate's status too: the root's CRL, supplied.
      const rootCrl = await buildCrl({ issuer: root, entries: [] });
      const hardOpts = { ...opts, revocation: 'hard' as const, crls: [Buffer.from(rootCrl)] };
      const kept = createChecker(hardOpts);
      for (let i = 0; i < 3; i++) {
        const r = await kept.check(target);
        assert.equal(r.status, 'ok', JSON.stringify(r.findings));
      }
      assert.equal(fetches, 1, 'one fetch for the run');
      const fresh = createChecker({ ...hardOpts, caches: { crl: { maxTtlMs: 0 } } });
      for (let i = 0; i < 2; i++) assert.equal((await fresh.check(target)).status, 'ok');
      assert.equal(fetches, 3, 'fetched on every check');
      assert.throws(
        () => createChecker({ caches: { crl: { ttl: 5 } } as never }),
        /caches\.crl\.ttl: unknown option/,
      );
    } finally {
      await new Promise<void>((r) => ep.server.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
    }
  });

  test('options are validated at run time, with a stable code naming the option', () => {
    const bad: [unknown, RegExp][] = [
      [{ tiemout: '5s' }, /option tiemout: unknown option/],
      [{ timeout: 'soon' }, /option timeout: "soon" is not a duration/],
      [{ revocation: 'strict' }, /option revocation: must be one of/],
      [{ ca: 'not a certificate' }, /option ca:/],
      [{ lookup: 'dns' }, /option lookup:/],
      [{ warnDays: 5, critDays: 10 }, /option critDays/],
      [{ pins: [] }, /option pins:/],
      [{ pins: [123] }, /option pins\[0\]/],
      [{ expectFingerprint: 5 }, /option expectFingerprint/],
      [{ revocationSources: 'ocsp' }, /option revocationSources/],
      // A string would be read character by character: a deny rule that never applies.
      [{ fetchDeny: 'internal.corp.example' }, /option fetchDeny: must be an array of strings/],
      [{ fetchAllow: '10.0.0.0/8' }, /option fetchAllow: must be an array of strings/],
      [{ starttls: 'smpt' }, /option starttls: must be one of "smtp"/],
      [{ starttls: 'toString' }, /option starttls: must be one of/],
      [{ aia: 'false' }, /option aia: must be true or false/],
      [{ strict: 'yes' }, /option strict: must be true or false/],
      [{ client: { cert: 'x' } }, /option client: needs both cert and key/],
      [{ client: { cert: 'x', key: 'y', passwd: 'z' } }, /option client\.passwd: unknown option/],
      [{ client: { cert: 'not pem', key: 'not pem' } }, /option client: cannot be used: /],
    ];
    for (const [o, re] of bad)
      assert.throws(
        () => createChecker(o as CheckerOptions),
        (e: unknown) =>
          e instanceof CertvetOptionError && e.code === 'CERTVET_INVALID_OPTION' && re.test(e.message),
        String(re),
      );
  });

  test('a client identity whose key is not its certificate’s is refused when the checker is made, naming no key material', async () => {
    const other = await issue({ subject: 'CN=other.test', issuer: intermediate, dns: ['other.test'] });
    const otherKey = await privateKeyPem(other.key);
    assert.throws(
      () => createChecker({ ...opts, client: { cert: goodLeaf.pem, key: otherKey } }),
      (e: unknown) =>
        e instanceof CertvetOptionError &&
        /option client: cannot be used/.test(e.message) &&
        !e.message.includes('PRIVATE KEY'),
    );
    await createChecker({
      ...opts,
      client: { cert: goodLeaf.pem, key: await privateKeyPem(goodLeaf.key) },
    }).close();
    const checker = createChecker(opts);
    await assert.rejects(
      checker.check({ target: `127.0.0.1:${good.port}`, starttls: 'smpt' as 'smtp' }),
      /starttls: must be one of/,
    );
  });

  test('a bad target string rejects with CertvetOptionError; an unknown target key too', async () => {
    const checker = createChecker(opts);
    await assert.rejects(checker.check('https://'), CertvetOptionError);
    await assert.rejects(
      checker.check({ target: `127.0.0.1:${good.port}`, sni: 'x' } as never),
      /unknown option/,
    );
  });

  test('rules as data: key types, RSA size, maximum validity, required EKU, forbidden issuers', async () => {
    const base = `127.0.0.1:${good.port}`;
    const pass = await checkTarget(base, {
      ...opts,
      rules: {
        keyTypes: ['ec'],
        maxValidityDays: 398,
        requireEku: ['serverAuth'],
        forbiddenIssuers: ['Evil CA'],
      },
    });
    assert.equal(pass.status, 'ok', JSON.stringify(pass.findings));
    const fail = await checkTarget(base, {
      ...opts,
      rules: {
        keyTypes: ['rsa'],
        maxValidityDays: 30,
        requireEku: ['clientAuth'],
        forbiddenIssuers: ['library issuing'],
        severity: 'warning',
      },
    });
    assert.deepEqual(fail.findings.map((f) => [f.code, f.severity]).sort(), [
      ['custom:forbidden-issuer', 'warning'],
      ['custom:key-type', 'warning'],
      ['custom:max-validity', 'warning'],
      ['custom:required-eku', 'warning'],
    ]);
    assert.throws(
      () => createChecker({ ...opts, rules: { maxValidity: 3 } as never }),
      /rules\.maxValidity: unknown rule/,
    );
  });

  test('rules in a target file, through the CLI: a bad rule names the entry line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certvet-rules-'));
    try {
      writeFileSync(join(dir, 'root.pem'), root.pem);
      writeFileSync(
        join(dir, 'targets.yaml'),
        `- target: 127.0.0.1:${good.port}\n  rules:\n    keyTypes: [rsa]\n    maxValidityDays: 30\n`,
      );
      const r = await runCli([
        'check',
        '-f',
        join(dir, 'targets.yaml'),
        '--ca',
        join(dir, 'root.pem'),
        '--revocation',
        'off',
        '--format',
        'json',
      ]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      const codes = (JSON.parse(r.stdout) as { results: TargetResult[] }).results[0]!.findings.map(
        (f) => f.code,
      );
      assert.deepEqual(codes.sort(), ['custom:key-type', 'custom:max-validity']);
      writeFileSync(
        join(dir, 'bad.yaml'),
        `- target: 127.0.0.1:${good.port}\n  rules:\n    maxValidity: 30\n`,
      );
      const bad = await runCli(['check', '-f', join(dir, 'bad.yaml'), '--ca', join(dir, 'root.pem')]);
      assert.equal(bad.code, 64);
      assert.match(bad.stderr, /bad\.yaml:\d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the CLI: --pin, --expect-issuer, --expect-fingerprint give their findings; a malformed pin is exit 64', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certvet-pins-'));
    try {
      writeFileSync(join(dir, 'root.pem'), root.pem);
      const run = (...a: string[]) =>
        runCli([
          'check',
          `127.0.0.1:${good.port}`,
          '--ca',
          join(dir, 'root.pem'),
          '--revocation',
          'off',
          '--format',
          'json',
          ...a,
        ]);
      const ok = await run(
        '--pin',
        spkiPin(root.parsed),
        '--expect-issuer',
        'CN=Library Issuing CA',
        '--expect-fingerprint',
        goodLeaf.parsed.sha256,
      );
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const bad = await run(
        '--pin',
        `sha256/${Buffer.alloc(32).toString('base64')}`,
        '--expect-issuer',
        'CN=Nobody',
        '--expect-fingerprint',
        '00'.repeat(32),
      );
      assert.equal(bad.code, 2);
      const codes = (JSON.parse(bad.stdout) as { results: TargetResult[] }).results[0]!.findings.map(
        (f) => f.code,
      );
      assert.deepEqual(codes.sort(), ['fingerprint-mismatch', 'issuer-mismatch', 'pin-mismatch']);
      const usage = await run('--pin', 'sha1/xyz');
      assert.equal(usage.code, 64);
      assert.match(usage.stderr, /--pin/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
