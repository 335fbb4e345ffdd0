/**
 * Adversarial suite: CRL parsing (parseCrl, loadCrls) and CRL checking (checkCrls,
 * verifyCertificate with CRLs) over mutated real CRLs. A CRL that revokes the leaf, once
 * mutated, must never make the leaf "good": if its signed bytes changed it is not used at all,
 * and parsing fails only with the documented error (DerError from parseCrl, an Error naming
 * the source from loadCrls).
 */
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { buildCrl } from '../src/lab/crlBuilder.js';
import { integer, OIDS, seq, tlv } from '../src/lab/derWriter.js';
import { type LabChain, makeChain } from '../src/lab/pki.js';
import { checkCrls, parseCrl } from '../src/verify/crl.js';
import { loadCrls } from '../src/verify/loadCrls.js';
import { verifyCertificate } from '../src/verify/verify.js';
import { DerError } from '../src/x509/der.js';
import {
  editTree,
  fc,
  INTERNAL_FAULT,
  mutateAll,
  mutationsArb,
  params,
  parsesOrRejects,
  partBytes,
  privateKeyOf,
  resign,
  same,
  signedParts,
  treeEditsArb,
  within,
} from './support/fuzz.js';

interface Fixture {
  readonly chain: LabChain;
  /** Lists the leaf (keyCompromise) and two other serials. */
  readonly crl: Uint8Array;
  readonly key: KeyObject;
}

const fixtures: Fixture[] = [];
const now = Date.now();
const nowSec = Math.floor(now / 1000);

before(async () => {
  for (const keyType of ['ec-p256', 'rsa-2048'] as const) {
    const chain = await makeChain({ keyType, names: ['crl.example'] });
    const crl = await buildCrl({
      issuer: chain.intermediate,
      entries: [
        { serial: '01', revokedAt: new Date(now - 86400_000) },
        { serial: chain.leaf.parsed.serialHex, revokedAt: new Date(now - 3600_000), reason: 1 },
        { serial: 'ABCDEF', revokedAt: new Date(now - 7200_000), reason: 4 },
      ],
      thisUpdate: new Date(now - 3600_000),
      nextUpdate: new Date(now + 86400_000),
      number: 7,
    });
    fixtures.push({ chain, crl, key: await privateKeyOf(chain.intermediate) });
  }
});

const pick = (n: number) => fixtures[n % fixtures.length]!;

const editArb = fc.oneof(
  mutationsArb.map((ms) => ({ raw: ms }) as const),
  treeEditsArb.map((edits) => ({ tree: edits }) as const),
);
type Edit = typeof editArb extends fc.Arbitrary<infer T> ? T : never;
const applyEdit = (der: Uint8Array, e: Edit) => ('raw' in e ? mutateAll(der, e.raw) : editTree(der, e.tree));

/**
 * parseCrl's documented failure is DerError. It wraps every failure (internal faults included)
 * in a DerError without a cause, so `strict` also checks that the message comes from a DER or
 * CRL rule — see the todo test below for the one known exception.
 */
function parseOrNull(der: Uint8Array, strict = false) {
  const crl = parsesOrRejects('parseCrl', () => parseCrl(der), [DerError]);
  if (!crl && strict) {
    let message = '';
    try {
      parseCrl(der);
    } catch (e) {
      message = (e as Error).message;
    }
    assert.doesNotMatch(message, INTERNAL_FAULT, `parseCrl failed on an internal fault: ${message}`);
  }
  return crl;
}

/**
 * Found by this suite (src/verify/crl.ts, the lead's): an Extension that is an empty SEQUENCE,
 * in an entry's crlEntryExtensions or in crlExtensions, reaches `content(parts[0]!)` on
 * undefined. The CRL is still rejected (DerError), but by a TypeError's message.
 */
function crlWith(entryExtensions: Buffer, crlExtensions: Buffer): Uint8Array {
  const time = tlv(0x17, Buffer.from('260101000000Z'));
  const name = seq(tlv(0x31, seq(Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]), tlv(0x0c, Buffer.from('x')))));
  const tbs = seq(
    integer('01'),
    OIDS.ecdsaSha256,
    name,
    time,
    time,
    seq(seq(integer('0123'), time, entryExtensions)),
    tlv(0xa0, crlExtensions),
  );
  return seq(tbs, OIDS.ecdsaSha256, tlv(0x03, Buffer.from([0, 0x30, 0])));
}
const CRL_NUMBER = seq(Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x14]), tlv(0x04, integer('07')));
/** An entry whose crlEntryExtensions hold one empty Extension SEQUENCE. */
const EMPTY_ENTRY_EXTENSION = crlWith(seq(seq()), seq(CRL_NUMBER));
/** crlExtensions holding one empty Extension SEQUENCE. */
const EMPTY_CRL_EXTENSION = crlWith(
  seq(seq(Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x15]), tlv(0x04, Buffer.from([0x0a, 0x01, 0x01])))),
  seq(seq()),
);

describe('adversarial: CRLs', () => {
  test('baseline: the unmutated CRL revokes the leaf', () => {
    for (const f of fixtures) {
      const r = checkCrls(f.chain.leaf.parsed, f.chain.intermediate.parsed, [parseCrl(f.crl)], nowSec, false);
      assert.equal(r.status, 'revoked');
    }
  });

  test('mutated CRLs: parse or DerError; never "good" for the revoked leaf; unused once the TBS changed', () => {
    fc.assert(
      fc.property(fc.nat(), editArb, (n, e) => {
        const f = pick(n);
        const der = applyEdit(f.crl, e);
        fc.pre(!same(der, f.crl));
        const crl = parseOrNull(der);
        if (!crl) return;
        const r = within('checkCrls', () =>
          checkCrls(f.chain.leaf.parsed, f.chain.intermediate.parsed, [crl], nowSec, false),
        );
        assert.notEqual(r.status, 'good', 'a mutated CRL that revokes the leaf said "good"');
        const tbs = partBytes(der, 'tbs');
        if (!tbs || !same(tbs, partBytes(f.crl, 'tbs')!))
          assert.ok(r.status === 'unusable' || r.status === 'not-covered', `TBS changed, yet ${r.status}`);
        within('revoked.size', () => crl.revoked.size);
      }),
      params(800),
    );
  });

  test('a signature field that is not a universal BIT STRING (tag 0x83) is rejected, not used', () => {
    const f = pick(0);
    const { signature } = signedParts(f.crl);
    const der = new Uint8Array(f.crl);
    der[signature.start]! ^= 0x80; // BIT STRING (0x03) -> [3] (0x83), same content
    assert.throws(() => parseCrl(der), DerError);
    const unused = new Uint8Array(f.crl);
    unused[
      signature.start + (unused[signature.start + 1]! & 0x80 ? 2 + (unused[signature.start + 1]! & 0x7f) : 2)
    ]! ^= 0x01;
    assert.throws(() => parseCrl(unused), /unused bits|padding/, 'a signature BIT STRING with unused bits');
  });

  test('mutations confined to the signature: never used as the CRL of the issuer', () => {
    fc.assert(
      fc.property(fc.nat(), mutationsArb, (n, ms) => {
        const f = pick(n);
        const der = mutateAll(f.crl, ms, signedParts(f.crl).signature);
        fc.pre(!same(der, f.crl));
        const crl = parseOrNull(der);
        if (!crl) return;
        const r = checkCrls(f.chain.leaf.parsed, f.chain.intermediate.parsed, [crl], nowSec, false);
        assert.ok(r.status === 'unusable' || r.status === 'not-covered', r.status);
      }),
      params(400),
    );
  });

  test('validly re-signed CRLs with an edited TBS: parse or DerError, checking never throws', () => {
    fc.assert(
      fc.property(fc.nat(), treeEditsArb, (n, edits) => {
        const f = pick(n);
        const tbs = partBytes(editTree(f.crl, edits, [0]), 'tbs');
        if (!tbs) return;
        const crl = parseOrNull(resign(f.crl, tbs, f.key));
        if (!crl) return;
        const { leaf, intermediate, root } = f.chain;
        within('checkCrls', () => checkCrls(leaf.parsed, intermediate.parsed, [crl], nowSec, false));
        const r = within('verifyCertificate', () =>
          verifyCertificate({
            leaf: leaf.parsed,
            intermediates: [intermediate.parsed],
            anchors: [root.parsed],
            time: now,
            crls: [crl],
          }),
        );
        assert.equal(
          r.valid,
          !r.findings.some((x) => x.severity === 'critical'),
          'valid must mean no critical finding',
        );
      }),
      params(400),
    );
  });

  test('loadCrls over mutated PEM and DER: CRLs, or an Error naming the source', () => {
    fc.assert(
      fc.property(fc.nat(), fc.boolean(), mutationsArb, (n, pem, ms) => {
        const f = pick(n);
        const text = `-----BEGIN X509 CRL-----\n${Buffer.from(f.crl)
          .toString('base64')
          .replace(/(.{64})/g, '$1\n')}\n-----END X509 CRL-----\n`;
        const input = pem ? mutateAll(new Uint8Array(Buffer.from(text, 'latin1')), ms) : mutateAll(f.crl, ms);
        try {
          within('loadCrls', () => loadCrls(input, 'fuzz.crl'));
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          assert.ok(e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError), String(e));
          assert.match((e as Error).message, /^fuzz\.crl: /);
        }
      }),
      params(600),
    );
  });

  test('parseCrl rejects by DER/CRL rules, never by an internal fault (fuzzed)', () => {
    for (const der of [EMPTY_ENTRY_EXTENSION, EMPTY_CRL_EXTENSION]) {
      assert.throws(() => parseCrl(der), DerError);
      parseOrNull(der, true);
    }
    fc.assert(
      fc.property(fc.nat(), editArb, (n, e) => {
        parseOrNull(applyEdit(pick(n).crl, e), true);
      }),
      params(1500),
    );
  });

  test('arbitrary bytes: DerError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        parseOrNull(b);
      }),
      params(500),
    );
  });
});
