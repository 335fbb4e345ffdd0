/*
 * ML-DSA certificates (RFC 9881): parsed on every Node, verified where node:crypto has ML-DSA
 * (Node built with OpenSSL 3.5 or later), and refused — never accepted — where it does not.
 * The chains come from test/fixtures/ml-dsa.json (written by test/support/mlDsaPki.ts under
 * Node 24); on a Node that can generate ML-DSA keys, fresh chains are verified as well.
 */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { describe, test } from 'node:test';
import { runLimboCase } from '../scripts/limboCase.js';
import { loadCertificates, verifyCertificate } from '../src/index.js';
import { tlv } from '../src/lab/derWriter.js';
import type { Certificate } from '../src/x509/certificate.js';
import { readSingle } from '../src/x509/der.js';
import { decodePublicKey, describeKey } from '../src/x509/publicKey.js';
import { verifySignature } from '../src/x509/signatureAlgorithm.js';
import {
  ML_DSA_SETS,
  type MlDsaChain,
  makeMlDsaFixtures,
  mlDsaKeygenSupported,
  readMlDsaFixtures,
} from './support/mlDsaPki.js';

const AT = new Date('2027-01-01T00:00:00Z');
const fixtures = readMlDsaFixtures();

const cert = (pem: string): Certificate => {
  const c = loadCertificates(Buffer.from(pem), 'fixture').certificates[0];
  assert.ok(c, 'the fixture parses');
  return c;
};

function verify(chain: MlDsaChain, profile: 'rfc5280' | 'webpki' = 'rfc5280') {
  return verifyCertificate({
    leaf: cert(chain.leaf),
    intermediates: [],
    anchors: [cert(chain.root)],
    time: AT,
    profile,
    expectedNames: [{ kind: 'dns', value: 'example.com' }],
  });
}

const codes = (r: ReturnType<typeof verify>) => r.findings.map((f) => f.code);

/** Whether node:crypto here can load (so verify with) an ML-DSA public key. */
function canVerifyMlDsa(): boolean {
  try {
    createPublicKey({
      key: Buffer.from(cert(fixtures.chains['ml-dsa-44'].root).publicKey.spkiDer),
      format: 'der',
      type: 'spki',
    });
    return true;
  } catch {
    return false;
  }
}
const supported = canVerifyMlDsa();

describe('ML-DSA certificates (RFC 9881)', () => {
  test('keys and signature algorithms are recognised for all three parameter sets', () => {
    for (const set of ML_DSA_SETS) {
      const leaf = cert(fixtures.chains[set].leaf);
      assert.equal(leaf.publicKey.type, set);
      assert.equal(leaf.publicKey.error, null);
      assert.equal(describeKey(leaf.publicKey), set.toUpperCase());
      assert.equal(leaf.signatureAlgorithm.name, set.toUpperCase());
      assert.equal(leaf.signatureAlgorithm.paramError, null);
    }
  });

  test('a signature of one parameter set is never checked with a key of another', () => {
    const leaf44 = cert(fixtures.chains['ml-dsa-44'].leaf);
    for (const other of ['ml-dsa-65', 'ml-dsa-87'] as const) {
      const key = cert(fixtures.chains[other].root).publicKey;
      assert.match(
        verifySignature(leaf44.signatureAlgorithm, key, leaf44.tbs, leaf44.signature) ?? 'verified',
        new RegExp(`ML-DSA-44 signatures cannot be made with the issuer's ${other} key`),
      );
    }
  });

  test('an ML-DSA key with algorithm parameters, or of the wrong size, is malformed', () => {
    const spki = Buffer.from(cert(fixtures.chains['ml-dsa-44'].root).publicKey.spkiDer);
    // SEQUENCE { SEQUENCE { OID }, BIT STRING }: rebuild it with NULL parameters, and with a key one byte short.
    const oid = Buffer.from('0609608648016503040311', 'hex'); // 2.16.840.1.101.3.4.3.17
    const keyBits = spki.subarray(spki.length - 1313); // 0x00 unused-bits octet + 1312 key bytes
    const withParams = tlv(
      0x30,
      Buffer.concat([tlv(0x30, Buffer.concat([oid, Buffer.from([5, 0])])), tlv(0x03, keyBits)]),
    );
    const short = tlv(0x30, Buffer.concat([tlv(0x30, oid), tlv(0x03, keyBits.subarray(0, -1))]));
    const intact = tlv(0x30, Buffer.concat([tlv(0x30, oid), tlv(0x03, keyBits)]));
    assert.deepEqual(intact, spki, 'the rebuilt SPKI is the original');
    assert.equal(decodePublicKey(readSingle(intact)).error, null);
    assert.match(decodePublicKey(readSingle(withParams)).error ?? '', /parameters must be absent/);
    assert.match(decodePublicKey(readSingle(short)).error ?? '', /must be 1312 bytes/);
  });

  test('a keyUsage asserting keyEncipherment for an ML-DSA key is refused (RFC 9881 §5)', () => {
    const r = verify(fixtures.keyEncipherment);
    assert.equal(r.valid, false);
    const f = r.findings.find((x) => x.code === 'key-usage');
    assert.match(
      f?.message ?? '',
      /ML-DSA key, which can only sign, but its keyUsage asserts keyEncipherment/,
    );
  });

  test('the webpki profile permits only RSA and ECDSA keys', () => {
    const r = verify(fixtures.chains['ml-dsa-65'], 'webpki');
    assert.equal(r.valid, false);
    assert.ok(r.findings.some((f) => f.code === 'weak-key' && /an ML-DSA-65 key/.test(f.message)));
  });

  test('the x509-limbo harness: SKIPPED where this Node cannot check ML-DSA, judged where it can; a keyUsage violation fails everywhere', () => {
    const kase = (chain: MlDsaChain, expected: 'SUCCESS' | 'FAILURE') =>
      runLimboCase({
        id: 'rfc9881::case',
        validation_kind: 'SERVER',
        trusted_certs: [chain.root],
        untrusted_intermediates: [],
        peer_certificate: chain.leaf,
        validation_time: AT.toISOString(),
        expected_peer_name: { kind: 'DNS', value: 'example.com' },
        expected_result: expected,
      });
    const good = kase(fixtures.chains['ml-dsa-65'], 'SUCCESS');
    const bad = kase(fixtures.badSignature, 'FAILURE');
    if (supported) {
      assert.equal(good.actual_result, 'SUCCESS', good.context ?? '');
      assert.equal(bad.actual_result, 'FAILURE');
    } else {
      for (const r of [good, bad]) {
        assert.equal(r.actual_result, 'SKIPPED', r.context ?? '');
        assert.match(r.context ?? '', /ML-DSA-\d\d signatures cannot be verified on Node\.js v\d+/);
      }
    }
    // Whatever the runtime, a rule broken besides the signature decides.
    const ku = kase(fixtures.keyEncipherment, 'FAILURE');
    assert.equal(ku.actual_result, 'FAILURE');
    assert.match(ku.context ?? '', /keyEncipherment/);
  });

  if (supported) {
    test('this Node verifies ML-DSA: each parameter set validates, from the fixtures and freshly made', () => {
      const fresh = mlDsaKeygenSupported() ? makeMlDsaFixtures() : null;
      for (const set of ML_DSA_SETS) {
        for (const chain of [fixtures.chains[set], ...(fresh ? [fresh.chains[set]] : [])]) {
          const r = verify(chain);
          assert.equal(r.valid, true, `${set}: ${JSON.stringify(r.findings)}`);
        }
      }
    });

    test('a leaf signed by a key other than its issuer’s does not verify', () => {
      const r = verify(fixtures.badSignature);
      assert.equal(r.valid, false);
      assert.deepEqual(codes(r), ['invalid-signature']);
      assert.match(r.findings[0]!.message, /does not verify with the issuer public key/);
    });
  } else {
    test('this Node cannot verify ML-DSA: every such chain fails closed, saying why', () => {
      for (const chain of [...ML_DSA_SETS.map((s) => fixtures.chains[s]), fixtures.badSignature]) {
        const r = verify(chain);
        assert.equal(r.valid, false);
        assert.deepEqual(codes(r), ['invalid-signature']);
        assert.match(
          r.findings[0]!.message,
          /ML-DSA-\d\d signatures cannot be verified with Node\.js v\d+.*ML-DSA needs OpenSSL 3\.5 or later/,
        );
      }
    });
  }
});
