import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { checkTarget } from '../src/check/pipeline.js';
import { type IssuedCert, issue, privateKeyPem } from '../src/lab/pki.js';
import { AiaFetcher } from '../src/revocation/aia.js';
import { checkRevocation } from '../src/revocation/checkRevocation.js';
import { CrlCache } from '../src/revocation/crlCache.js';
import { boundedFetch, FetchError } from '../src/revocation/fetch.js';
import { embeddedIpv4, FetchPolicy } from '../src/revocation/fetchPolicy.js';
import { parseTarget } from '../src/scan/target.js';
import { runCli } from './support/cli.js';

/** An HTTP server on one loopback address that counts the requests it receives. */
async function countingServer(
  host: '127.0.0.1' | '::1',
  handler: (url: string, res: import('node:http').ServerResponse) => void = (_u, res) => res.end('ok'),
): Promise<{ server: Server; port: number; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req.url ?? '', res);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return { server, port: (server.address() as { port: number }).port, hits };
}

async function closeAll(...servers: (Server | TlsServer)[]): Promise<void> {
  for (const s of servers) {
    if ('closeAllConnections' in s) s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
}

describe('fetch policy: the address actually dialled', () => {
  test('unspecified addresses (0.0.0.0/8, ::) are denied always, whatever the rules', () => {
    const policies = [
      new FetchPolicy(),
      new FetchPolicy([], ['127.0.0.0/8']),
      new FetchPolicy(['0.0.0.0/0', '::/0']),
      new FetchPolicy(['0.0.0.0', '::'], [], { denyLinkLocal: false }),
    ];
    for (const p of policies)
      for (const a of ['0.0.0.0', '0.1.2.3', '::', '::ffff:0.0.0.0', '::ffff:0:0', '64:ff9b::']) {
        const why = p.check('h', a);
        assert.match(why ?? 'allowed', /unspecified address/, `${a}: ${why}`);
      }
  });

  test('IPv4-mapped, IPv4-compatible and NAT64 embeddings of a denied IPv4 range are denied', () => {
    const p = new FetchPolicy([], ['127.0.0.0/8', '10.0.0.0/8']);
    for (const a of [
      '127.0.0.1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::127.0.0.1',
      '::7f00:1',
      '64:ff9b::127.0.0.1',
      '64:ff9b::7f00:1',
      '::ffff:10.9.8.7',
      '64:ff9b::a09:807',
    ])
      assert.match(p.check('h', a) ?? 'allowed', /denied by the fetch policy/, a);
    // Link-local (metadata services) through an embedding, without any rule.
    for (const a of ['::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe', '::169.254.169.254'])
      assert.match(new FetchPolicy().check('h', a) ?? 'allowed', /denied/, a);
    // ::1 is IPv6 loopback, not an embedding of 0.0.0.1; other addresses are untouched.
    assert.equal(p.check('h', '::1'), null);
    assert.equal(p.check('h', '2001:db8::7f00:1'), null);
    assert.equal(p.check('h', '192.0.2.1'), null);
    assert.equal(embeddedIpv4('::1'), null);
    assert.equal(embeddedIpv4('::ffff:7f00:1'), '127.0.0.1');
    assert.equal(embeddedIpv4('64:ff9b::c000:201'), '192.0.2.1');
    // --fetch-allow 10.0.0.0/8 allows the same host reached through its mapped form.
    assert.equal(new FetchPolicy(['10.0.0.0/8']).check('h', '::ffff:10.1.2.3'), null);
    assert.match(new FetchPolicy(['10.0.0.0/8']).check('h', '::ffff:11.1.2.3') ?? '', /not in --fetch-allow/);
    // A host rule matches the name with a trailing dot too; a lookup answer that is no address is denied.
    assert.match(new FetchPolicy([], ['localhost']).check('localhost.', '192.0.2.1') ?? '', /denied/);
    assert.match(new FetchPolicy().check('h', 'not-an-ip') ?? '', /not an IP address/);
  });

  describe('over real loopback HTTP servers: a denied fetch sends no request', () => {
    let v4: Awaited<ReturnType<typeof countingServer>>;
    let v6: Awaited<ReturnType<typeof countingServer>>;
    before(async () => {
      v4 = await countingServer('127.0.0.1');
      v6 = await countingServer('::1');
    });
    after(() => closeAll(v4.server, v6.server));

    const deny127 = new FetchPolicy([], ['127.0.0.0/8']);
    const opts = { timeoutMs: 2000, maxBytes: 1 << 16, policy: deny127 };

    test('0.0.0.0, 0, [::], mapped forms and numeric spellings of 127.0.0.1', async () => {
      // Sanity: the servers answer when nothing denies them.
      assert.equal(
        Buffer.from(
          (await boundedFetch(`http://127.0.0.1:${v4.port}/`, { timeoutMs: 2000, maxBytes: 100 })).body,
        ).toString(),
        'ok',
      );
      assert.equal(v4.hits.length, 1);
      v4.hits.length = 0;
      const urls = [
        `http://0.0.0.0:${v4.port}/a`,
        `http://0:${v4.port}/b`,
        `http://0x0:${v4.port}/c`,
        `http://[::]:${v6.port}/d`,
        `http://[0:0::0]:${v6.port}/e`,
        `http://[::ffff:127.0.0.1]:${v4.port}/f`,
        `http://[::ffff:0.0.0.0]:${v4.port}/g`,
        `http://2130706433:${v4.port}/h`,
        `http://0x7f.1:${v4.port}/i`,
        `http://0177.0.0.1:${v4.port}/j`,
        `http://127.1:${v4.port}/k`,
      ];
      for (const url of urls) {
        const err = await boundedFetch(url, opts).then(
          () => null,
          (e: unknown) => e,
        );
        assert.ok(err instanceof FetchError, `${url} was fetched`);
        assert.equal(err.code, 'CERTVET_FETCH_DENIED', `${url}: ${err.message}`);
      }
      assert.deepEqual(v4.hits, []);
      assert.deepEqual(v6.hits, []);
      // Without any policy the unspecified addresses are still never dialled.
      for (const url of [`http://0.0.0.0:${v4.port}/z`, `http://[::]:${v6.port}/z`])
        await assert.rejects(boundedFetch(url, { timeoutMs: 2000, maxBytes: 100 }), /unspecified address/);
      assert.deepEqual(v4.hits, []);
      assert.deepEqual(v6.hits, []);
    });

    test('every redirect hop is checked again', async () => {
      v4.hits.length = 0;
      const targets = [
        `http://0.0.0.0:${v4.port}/r1`,
        `http://0:${v4.port}/r2`,
        `http://[::ffff:127.0.0.1]:${v4.port}/r3`,
        `http://2130706433:${v4.port}/r4`,
        `http://127.0.0.1:${v4.port}/r5`,
      ];
      const redirector = await countingServer('::1', (url, res) => {
        const i = Number(url.slice(1));
        res.writeHead(302, { location: targets[i]! }).end();
      });
      try {
        for (const [i, t] of targets.entries())
          await assert.rejects(
            boundedFetch(`http://[::1]:${redirector.port}/${i}`, opts),
            (e: unknown) => e instanceof FetchError && e.code === 'CERTVET_FETCH_DENIED',
            t,
          );
        assert.equal(redirector.hits.length, targets.length);
        assert.deepEqual(v4.hits, []);
      } finally {
        await closeAll(redirector.server);
      }
    });
  });

  describe('URLs a certificate names (AIA caIssuers, OCSP) obey the same policy', () => {
    let dir: string;
    let root: IssuedCert;
    let ica: IssuedCert;
    let repo: Awaited<ReturnType<typeof countingServer>>;
    let repo6: Awaited<ReturnType<typeof countingServer>>;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'certvet-fetchpolicy-'));
      root = await issue({ subject: 'CN=FP Root', ca: true });
      ica = await issue({ subject: 'CN=FP Issuing CA', ca: true, issuer: root });
      writeFileSync(join(dir, 'root.pem'), root.pem);
      repo = await countingServer('127.0.0.1', (_u, res) =>
        res.writeHead(200, { 'content-type': 'application/pkix-cert' }).end(Buffer.from(ica.der)),
      );
      repo6 = await countingServer('::1', (_u, res) =>
        res.writeHead(200, { 'content-type': 'application/pkix-cert' }).end(Buffer.from(ica.der)),
      );
    });
    after(async () => {
      await closeAll(repo.server, repo6.server);
      rmSync(dir, { recursive: true, force: true });
    });

    /** A TLS server on 127.0.0.1 that sends only its leaf, whose AIA names `caIssuers`. */
    async function leafServer(caIssuers: string): Promise<{ server: TlsServer; target: string }> {
      const leaf = await issue({
        subject: 'CN=127.0.0.1',
        ips: ['127.0.0.1'],
        issuer: ica,
        aiaCaIssuers: [caIssuers],
      });
      const server = createTlsServer({ cert: leaf.pem, key: await privateKeyPem(leaf.key) }, (s) => s.end());
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return { server, target: `127.0.0.1:${(server.address() as { port: number }).port}` };
    }

    test('check --fetch-deny 127.0.0.0/8: server-sent caIssuers URLs on 0.0.0.0, 0, [::], ::ffff:127.0.0.1 are not fetched', async () => {
      // Sanity first: an allowed AIA URL completes the chain (so the servers would be asked).
      const ok = await leafServer(`http://127.0.0.1:${repo.port}/ica.der`);
      try {
        const aia = new AiaFetcher({ timeoutMs: 2000, maxBytes: 1 << 20 });
        const policy = {
          anchors: [root.parsed],
          profile: 'webpki' as const,
          conformance: 'warn' as const,
          warnDays: 30,
          critDays: 7,
          warnPercent: 0,
        };
        const r = await checkTarget({ spec: parseTarget(ok.target), policy, aia });
        assert.ok(
          r.chain.some((c) => c.source === 'aia'),
          JSON.stringify(r.findings),
        );
        assert.equal(repo.hits.length, 1);
      } finally {
        await closeAll(ok.server);
      }
      for (const url of [
        `http://0.0.0.0:${repo.port}/ica.der`,
        `http://0:${repo.port}/ica.der`,
        `http://[::]:${repo6.port}/ica.der`,
        `http://[::ffff:127.0.0.1]:${repo.port}/ica.der`,
      ]) {
        repo.hits.length = 0;
        repo6.hits.length = 0;
        const { server, target } = await leafServer(url);
        try {
          const run = await runCli([
            'check',
            target,
            '--ca',
            join(dir, 'root.pem'),
            '--fetch-deny',
            '127.0.0.0/8',
            '--format',
            'json',
          ]);
          const result = JSON.parse(run.stdout).results[0];
          assert.equal(result.status, 'critical', run.stdout);
          assert.ok(!result.chain.some((c: { source: string }) => c.source === 'aia'), run.stdout);
          assert.deepEqual(
            [...repo.hits, ...repo6.hits],
            [],
            `${url}: the AIA repository received a request`,
          );
        } finally {
          await closeAll(server);
        }
      }
    });

    // (NAT64 and IPv4-compatible forms are covered without I/O above: dialling them would leave the machine.)
    test('server-sent OCSP and CRL URLs on [::] or ::ffff:127.0.0.1 are denied, and the status is unknown', async () => {
      const leaf = await issue({
        subject: 'CN=ocsp leaf',
        issuer: ica,
        aiaOcsp: [`http://[::]:${repo6.port}/ocsp`, `http://0:${repo.port}/ocsp`],
        crlUrls: [`http://[::ffff:7f00:1]:${repo.port}/ica.crl`],
      });
      repo.hits.length = 0;
      repo6.hits.length = 0;
      const r = await checkRevocation([leaf.parsed, ica.parsed, root.parsed], null, {
        mode: 'hard',
        sources: ['ocsp', 'crl'],
        crlCache: new CrlCache({
          timeoutMs: 1000,
          maxBytes: 1 << 20,
          policy: new FetchPolicy([], ['127.0.0.0/8']),
        }),
        fetch: { timeoutMs: 1000, maxOcspBytes: 1 << 20, policy: new FetchPolicy([], ['127.0.0.0/8']) },
        nowSec: Math.floor(Date.now() / 1000),
      });
      const f = r.findings.find((x) => x.code === 'revocation-unknown');
      assert.equal(f?.severity, 'critical');
      assert.match(f!.message, /unspecified address/);
      assert.match(f!.message, /0\.0\.0\.0 \(0\.0\.0\.0\) is an unspecified address/);
      assert.match(f!.message, /::ffff:7f00:1, i\.e\. 127\.0\.0\.1\) is denied/);
      assert.deepEqual(repo6.hits, []);
      assert.deepEqual(repo.hits, []);
    });
  });
});
