/**
 * Adversarial suite: PEM reading (readPemBlocks) and certificate loading (loadCertificates)
 * over mutated real bundles, PEM-like random text and arbitrary bytes. readPemBlocks returns
 * blocks or throws PemError; loadCertificates never throws: every input becomes certificates
 * and/or problems naming the source.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { makeChain } from '../src/lab/pki.js';
import { loadCertificates } from '../src/x509/load.js';
import { PemError, readPemBlocks } from '../src/x509/pem.js';
import { fc, mutateAll, mutationsArb, params, parsesOrRejects, within } from './support/fuzz.js';

let bundle = '';
let der: Uint8Array = new Uint8Array(0);

before(async () => {
  const c = await makeChain({ names: ['pem.example'] });
  bundle = `# a comment\n${c.leaf.pem}junk between blocks\r\n${c.intermediate.pem}\n${c.root.pem}`;
  der = c.leaf.der;
});

const pemTextArb = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '-----BEGIN CERTIFICATE-----',
        '-----END CERTIFICATE-----',
        '-----BEGIN X509 CRL-----',
        '-----END X509 CRL-----',
        '-----BEGIN TRUSTED CERTIFICATE-----',
        '-----END TRUSTED CERTIFICATE-----',
        '-----BEGIN PRIVATE KEY-----',
        'Proc-Type: 4,ENCRYPTED',
        'MIIB',
        'AAAA',
        '====',
        '',
        '\r',
      ),
      fc.string({ maxLength: 24 }),
      fc.base64String({ maxLength: 64 }),
    ),
    { maxLength: 12 },
  )
  .map((lines) => lines.join('\n'));

function load(data: Uint8Array) {
  const r = within('loadCertificates', () => loadCertificates(data, 'fuzz.pem'));
  for (const p of r.problems) {
    assert.ok(p.source.startsWith('fuzz.pem'), p.source);
    assert.ok(p.message.length > 0);
  }
  assert.ok(
    r.certificates.length + r.problems.length > 0,
    'an input yielded neither certificates nor problems',
  );
  return r;
}

describe('adversarial: PEM and certificate files', () => {
  test('baseline: the bundle loads three certificates', () => {
    assert.equal(load(Buffer.from(bundle)).certificates.length, 3);
  });

  test('readPemBlocks over PEM-like text: blocks or PemError', () => {
    fc.assert(
      fc.property(pemTextArb, (text) => {
        const blocks = parsesOrRejects('readPemBlocks', () => readPemBlocks(text), [PemError]);
        for (const b of blocks ?? []) assert.ok(b.line >= 1 && b.der.length > 0);
        load(Buffer.from(text, 'latin1'));
      }),
      params(1500),
    );
  });

  test('mutated bundles: loadCertificates never throws; readPemBlocks only PemError', () => {
    fc.assert(
      fc.property(mutationsArb, (ms) => {
        const data = mutateAll(new Uint8Array(Buffer.from(bundle, 'latin1')), ms);
        parsesOrRejects('readPemBlocks', () => readPemBlocks(Buffer.from(data).toString('latin1')), [
          PemError,
        ]);
        load(data);
      }),
      params(600),
    );
  });

  test('mutated DER and arbitrary bytes: loadCertificates never throws', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          mutationsArb.map((ms) => mutateAll(der, ms)),
          fc.uint8Array({ maxLength: 64 }),
        ),
        (data) => {
          load(data);
        },
      ),
      params(1000),
    );
  });

  test('a huge single-line PEM body is handled in linear time', () => {
    const text = `-----BEGIN CERTIFICATE-----\n${'A'.repeat(4 * 1024 * 1024)}\n-----END CERTIFICATE-----\n`;
    load(Buffer.from(text));
  });
});
