/**
 * Adversarial suite: verifyOcspResponse over mutated real responses (issuer-signed and from a
 * delegated responder), validly re-signed responses with edited response data, and arbitrary
 * bytes. It either returns an answer or throws OcspError (its documented error), within the
 * time limit; and an answer from a mutated response is the original answer (the signed
 * ResponseData must be intact for any answer to come back).
 */
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { seq, tlv } from '../src/lab/derWriter.js';
import { ocspRespond } from '../src/lab/ocspResponder.js';
import { type IssuedCert, issue, type LabChain, makeChain } from '../src/lab/pki.js';
import { buildOcspRequest, OcspError, verifyOcspResponse } from '../src/revocation/ocsp.js';
import { children, readSingle, whole } from '../src/x509/der.js';
import {
  editTree,
  fc,
  mutateAll,
  mutationsArb,
  params,
  parsesOrRejects,
  privateKeyOf,
  resign,
  same,
  treeEditsArb,
} from './support/fuzz.js';

interface Fixture {
  readonly chain: LabChain;
  readonly signer: IssuedCert;
  readonly signerKey: KeyObject;
  readonly response: Uint8Array;
}

const fixtures: Fixture[] = [];
const nowSec = Math.floor(Date.now() / 1000);

before(async () => {
  const chain = await makeChain({ names: ['ocsp.example'] });
  const delegated = await issue({
    subject: 'CN=certvet OCSP responder',
    issuer: chain.intermediate,
    eku: ['ocspSigning'],
  });
  const request = buildOcspRequest(chain.leaf.parsed, chain.intermediate.parsed);
  for (const signer of [chain.intermediate, delegated]) {
    const response = await ocspRespond(request, {
      signer,
      statusOf: () => 'revoked',
      includeSigner: signer === delegated,
    });
    fixtures.push({ chain, signer, signerKey: await privateKeyOf(signer), response });
  }
});

const pick = (n: number) => fixtures[n % fixtures.length]!;

function check(f: Fixture, der: Uint8Array) {
  return parsesOrRejects(
    'verifyOcspResponse',
    () => verifyOcspResponse(der, f.chain.leaf.parsed, f.chain.intermediate.parsed, nowSec),
    [OcspError],
  );
}

/** The BasicOCSPResponse inside an OCSPResponse (responseBytes.response OCTET STRING). */
function basicOf(der: Uint8Array): Uint8Array {
  const [, bytes] = children(readSingle(der));
  const [, octets] = children(children(bytes!)[0]!);
  return octets!.buf.subarray(octets!.contentStart, octets!.end);
}

function wrap(basic: Uint8Array): Uint8Array {
  const oid = Buffer.from([0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01]);
  return seq(tlv(0x0a, Buffer.from([0])), tlv(0xa0, seq(oid, tlv(0x04, Buffer.from(basic)))));
}

const tbsOf = (der: Uint8Array): Uint8Array | null => {
  try {
    return whole(children(readSingle(basicOf(der)))[0]!);
  } catch {
    return null;
  }
};

describe('adversarial: OCSP responses', () => {
  test('baseline: both responses verify as revoked', () => {
    for (const f of fixtures) assert.equal(check(f, f.response)?.status, 'revoked');
  });

  test('BER in the wrapper (a long-form or wrong length the schema decoder would skip) is OcspError', () => {
    for (const f of fixtures) {
      const longForm = new Uint8Array(f.response);
      longForm[5]! |= 0x80; // responseStatus ENUMERATED length 0x01 -> 0x81 (long form, not DER)
      const verify = (der: Uint8Array) =>
        verifyOcspResponse(der, f.chain.leaf.parsed, f.chain.intermediate.parsed, nowSec);
      assert.throws(() => verify(longForm), OcspError);
      const shorter = new Uint8Array(f.response);
      shorter[10]! ^= 0x02; // the [0] responseBytes length no longer matches its content
      assert.throws(() => verify(shorter), OcspError);
    }
  });

  test('mutated responses: OcspError, or the original answer from intact signed data', () => {
    const editArb = fc.oneof(
      mutationsArb.map((ms) => ({ raw: ms }) as const),
      treeEditsArb.map((edits) => ({ tree: edits }) as const),
    );
    fc.assert(
      fc.property(fc.nat(), editArb, (n, e) => {
        const f = pick(n);
        const der = 'raw' in e ? mutateAll(f.response, e.raw) : editTree(f.response, e.tree);
        fc.pre(!same(der, f.response));
        const answer = check(f, der);
        if (!answer) return;
        const tbs = tbsOf(der);
        assert.ok(tbs && same(tbs, tbsOf(f.response)!), 'an answer came back from altered signed data');
        assert.equal(answer.status, 'revoked');
      }),
      params(400),
    );
  });

  test('validly re-signed responses with edited ResponseData: an answer or OcspError, never a crash', () => {
    fc.assert(
      fc.property(fc.nat(), treeEditsArb, (n, edits) => {
        const f = pick(n);
        const basic = basicOf(f.response);
        const edited = editTree(basic, edits, [0]);
        let tbs: Uint8Array;
        try {
          tbs = whole(children(readSingle(edited))[0]!);
        } catch {
          return;
        }
        const answer = check(f, wrap(resign(basic, tbs, f.signerKey)));
        if (answer) {
          assert.ok(['good', 'revoked', 'unknown'].includes(answer.status));
          assert.ok(Number.isFinite(answer.thisUpdate.getTime()), 'thisUpdate is a valid date');
          assert.ok(Number.isFinite(answer.producedAt.getTime()), 'producedAt is a valid date');
        }
      }),
      params(400),
    );
  });

  test('regression: a malformed outer AlgorithmIdentifier is an OcspError (it escaped as DerError)', () => {
    const f = fixtures[0]!;
    const [tbsT, , sigT] = children(readSingle(basicOf(f.response)));
    const basic = seq(Buffer.from(whole(tbsT!)), Buffer.from([0x04, 0x00]), Buffer.from(whole(sigT!)));
    assert.throws(
      () => verifyOcspResponse(wrap(basic), f.chain.leaf.parsed, f.chain.intermediate.parsed, nowSec),
      (e: unknown) => e instanceof OcspError && /malformed/.test(e.message),
    );
  });

  test('arbitrary bytes and random structures: OcspError', () => {
    fc.assert(
      fc.property(fc.nat(), fc.uint8Array({ maxLength: 96 }), (n, b) => {
        check(pick(n), b);
        check(pick(n), wrap(b));
      }),
      params(500),
    );
  });
});
