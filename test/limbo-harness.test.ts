/*
 * The x509-limbo harness (scripts/limboCase.ts) on cases built here: how it reads a case's
 * reference identity. `npm test` runs the harness over ../shared/limbo as a gate; this covers
 * forms that file does not hold.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { type LimboCase, runLimboCase } from '../scripts/limboCase.js';
import { type LabChain, makeChain } from '../src/lab/pki.js';

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
