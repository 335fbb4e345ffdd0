/*
 * The x509-limbo harness (scripts/limboCase.ts) on cases built here: how it reads a case's
 * reference identity. `npm test` runs the harness over ../shared/limbo as a gate; this covers
 * forms that file does not hold.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type LimboCase, runLimboCase } from '../scripts/limboCase.js';
import { issue, type LabChain, makeChain } from '../src/lab/pki.js';

describe('x509-limbo harness: reference identities', () => {
  let ipChain: LabChain;
  let dnsChain: LabChain;
  before(async () => {
    ipChain = await makeChain({ names: ['127.0.0.1'] });
    dnsChain = await makeChain({ names: ['www.example.test'] });
  });

  const server = (c: LabChain, name: { kind: string; value: string }): LimboCase => ({
    id: 'harness::case',
    validation_kind: 'SERVER',
    trusted_certs: [c.root.pem],
    untrusted_intermediates: [c.intermediate.pem],
    peer_certificate: c.leaf.pem,
    validation_time: null,
    expected_result: 'SUCCESS',
    expected_peer_name: name,
  });

  test('an IP address given as kind IP, or as a "DNS" name that is an IP literal, matches the iPAddress SAN', () => {
    for (const kind of ['IP', 'DNS'])
      assert.equal(
        runLimboCase(server(ipChain, { kind, value: '127.0.0.1' })).actual_result,
        'SUCCESS',
        kind,
      );
    const other = runLimboCase(server(ipChain, { kind: 'DNS', value: '127.0.0.2' }));
    assert.equal(other.actual_result, 'FAILURE');
    assert.match(other.context ?? '', /hostname-mismatch/);
  });

  test('an IP literal never matches a dNSName spelling the same address', async () => {
    const dnsIp = await makeChain({ names: ['www.example.test'], leaf: { dns: ['127.0.0.1'] } });
    const r = runLimboCase(server(dnsIp, { kind: 'DNS', value: '127.0.0.1' }));
    assert.equal(r.actual_result, 'FAILURE');
  });

  test("no extended_key_usage list means the purpose's EKU, chained through the CAs, in every profile", async () => {
    // BetterTLS's path-building suite (x509-limbo bettertls::) expects an intermediate limited
    // to emailProtection to break a server chain; its cases carry no extended_key_usage.
    const root = await issue({ subject: 'CN=Harness Root', ca: true });
    const mailOnly = await issue({
      subject: 'CN=Mail-only CA',
      ca: true,
      issuer: root,
      eku: ['emailProtection'],
    });
    const leaf = await issue({ subject: 'CN=www.example.test', issuer: mailOnly, dns: ['www.example.test'] });
    const chain = { root, intermediate: mailOnly, leaf };
    const name = { kind: 'DNS', value: 'www.example.test' };
    for (const id of ['bettertls::pathbuilding::tc5', 'rfc5280::case', 'webpki::case']) {
      for (const eku of [undefined, null, []]) {
        const r = runLimboCase({ ...server(chain, name), id, extended_key_usage: eku });
        assert.equal(r.actual_result, 'FAILURE', `${id} ${JSON.stringify(eku)}`);
        assert.match(r.context ?? '', /\beku\b/);
      }
    }
    // The same chain with a CA that allows serverAuth passes.
    const serverCa = await issue({ subject: 'CN=Server CA', ca: true, issuer: root, eku: ['serverAuth'] });
    const good = await issue({ subject: 'CN=www.example.test', issuer: serverCa, dns: ['www.example.test'] });
    assert.equal(
      runLimboCase({ ...server({ root, intermediate: serverCa, leaf: good }, name), id: 'rfc5280::case' })
        .actual_result,
      'SUCCESS',
    );
  });

  test('DNS names are matched as DNS names', () => {
    assert.equal(
      runLimboCase(server(dnsChain, { kind: 'DNS', value: 'www.example.test' })).actual_result,
      'SUCCESS',
    );
    assert.equal(
      runLimboCase(server(dnsChain, { kind: 'DNS', value: 'example.test' })).actual_result,
      'FAILURE',
    );
  });
});

describe('x509-limbo harness: its command line', () => {
  const script = fileURLToPath(new URL('../scripts/limbo.js', import.meta.url));
  const run = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });

  test('--help shows the usage; a bad option or a missing --input is a usage error, not a stack trace', () => {
    const help = run('--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /usage: npm run limbo -- --input FILE/);
    for (const args of [['--bogus'], [], ['--input', 'x.json', '--update-baseline']]) {
      const r = run(...args);
      assert.equal(r.status, 64, args.join(' '));
      assert.match(r.stderr, /^limbo: .+\nlimbo: --help shows the usage\n$/, args.join(' '));
    }
  });

  test('unreadable, non-JSON or misshapen vectors and baselines exit 3 naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'certvet-limbo-cli-'));
    try {
      const notJson = join(dir, 'not.json');
      writeFileSync(notJson, 'not json');
      const shapeless = join(dir, 'shapeless.json');
      writeFileSync(shapeless, '{"cases": []}');
      const empty = join(dir, 'empty.json');
      writeFileSync(empty, '{"testcases": []}');
      const cases: [string[], RegExp][] = [
        [['--input', join(dir, 'missing.json')], /cannot read the test-vector file .*missing\.json: ENOENT/],
        [['--input', notJson], /the test-vector file .*not\.json is not JSON/],
        [['--input', shapeless], /the test-vector file .*shapeless\.json does not have the expected shape/],
        [['--input', empty, '--baseline', notJson], /the baseline .*not\.json is not JSON/],
      ];
      for (const [args, message] of cases) {
        const r = run(...args);
        assert.equal(r.status, 3, args.join(' '));
        assert.match(r.stderr, message);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      }
      assert.equal(run('--input', empty, '--quiet').status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
