/**
 * Adversarial suite: mutations of real chains through parseCertificate and verifyCertificate.
 *
 * What must hold for every mutated input: nothing throws past the API, each input is judged
 * within the time limit, the verdict is coherent (valid ⇔ no critical finding, codes from the
 * catalogue, certIndex inside the reported path), and a chain never turns from rejected into
 * accepted: a mutated leaf or intermediate that still verifies must be byte-identical to the
 * original in what was signed (TBS) *and* in the unsigned parts (the outer algorithm must equal
 * the TBS one; a different signature over the same TBS would be a malleability we want to
 * know about). A trust anchor is trusted for its name and key, so a mutated anchor may still
 * anchor the chain — but only with the same subject (by RFC 5280 comparison) and the same key.
 */
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { FINDING_CODES, type Finding } from '../src/findings/catalogue.js';
import { type LabChain, type LabKeyType, makeChain } from '../src/lab/pki.js';
import { type VerifyResult, verifyCertificate } from '../src/verify/verify.js';
import { type Certificate, parseCertificate } from '../src/x509/certificate.js';
import { children, readSingle, whole } from '../src/x509/der.js';
import {
  assertCertificateRejection,
  editTree,
  fc,
  mutateAll,
  mutationsArb,
  params,
  partBytes,
  privateKeyOf,
  resign,
  same,
  signedParts,
  treeEditsArb,
  within,
} from './support/fuzz.js';

interface Fixture {
  readonly name: LabKeyType;
  readonly chain: LabChain;
  readonly intermediateKey: KeyObject;
  readonly rootKey: KeyObject;
}

const fixtures: Fixture[] = [];
const now = Date.now();

before(async () => {
  for (const name of ['ec-p256', 'ed25519', 'rsa-2048'] as const) {
    const chain = await makeChain({ keyType: name, names: ['chain.example', '192.0.2.1'] });
    fixtures.push({
      name,
      chain,
      intermediateKey: await privateKeyOf(chain.intermediate),
      rootKey: await privateKeyOf(chain.root),
    });
  }
});

function parseOrNull(der: Uint8Array): Certificate | null {
  try {
    return within('parseCertificate', () => parseCertificate(der));
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assertCertificateRejection(e);
    return null;
  }
}

function verify(leaf: Certificate, intermediates: Certificate[], anchors: Certificate[]): VerifyResult {
  return within('verifyCertificate', () =>
    verifyCertificate({
      leaf,
      intermediates,
      anchors,
      time: now,
      expectedNames: [{ kind: 'dns', value: 'chain.example' }],
    }),
  );
}

/** The verdict is internally coherent, whatever the input. */
function assertCoherent(r: VerifyResult): void {
  const critical = r.findings.filter((f: Finding) => f.severity === 'critical');
  assert.equal(
    r.valid,
    critical.length === 0 && r.anchored,
    `valid=${r.valid} with ${critical.length} critical`,
  );
  assert.ok(r.path.length >= 1);
  for (const f of r.findings) {
    assert.ok(f.code in FINDING_CODES || f.code.startsWith('custom:'), `unknown finding code ${f.code}`);
    assert.ok(f.message.length > 0);
    if (f.certIndex !== undefined && f.certIndex !== null)
      assert.ok(f.certIndex >= 0 && f.certIndex < r.path.length, `certIndex ${f.certIndex} outside the path`);
  }
  if (!r.valid) assert.ok(critical.length > 0 || !r.anchored, 'rejected without a reason');
}

function keyBits(c: Certificate): Uint8Array {
  const [, bits] = children(readSingle(c.publicKey.spkiDer));
  return whole(bits!);
}

function codes(r: VerifyResult): string[] {
  return r.findings.map((f) => `${f.code}@${f.certIndex}`);
}

const fixtureArb = fc.nat().map((n) => n);
const pick = (n: number) => fixtures[n % fixtures.length]!;

/** How a mutation reaches the bytes: raw byte edits or structure-aware (re-encoded) edits. */
const editArb = fc.oneof(
  mutationsArb.map((ms) => ({ raw: ms }) as const),
  treeEditsArb.map((edits) => ({ tree: edits }) as const),
);
type Edit = typeof editArb extends fc.Arbitrary<infer T> ? T : never;
const applyEdit = (der: Uint8Array, e: Edit) => ('raw' in e ? mutateAll(der, e.raw) : editTree(der, e.tree));

describe('adversarial: mutated chains', () => {
  test('the unmutated chains verify (the baseline the properties compare against)', () => {
    for (const f of fixtures) {
      const { leaf, intermediate, root } = f.chain;
      const r = verify(leaf.parsed, [intermediate.parsed], [root.parsed]);
      assert.equal(r.valid, true, `${f.name}: ${codes(r)}`);
    }
  });

  test('a mutated leaf that still verifies is the original leaf', () => {
    fc.assert(
      fc.property(fixtureArb, editArb, (n, e) => {
        const { leaf, intermediate, root } = pick(n).chain;
        const der = applyEdit(leaf.der, e);
        fc.pre(!same(der, leaf.der));
        const parsed = parseOrNull(der);
        if (!parsed) return;
        const r = verify(parsed, [intermediate.parsed], [root.parsed]);
        assertCoherent(r);
        assert.equal(r.valid, false, `a modified leaf was accepted: ${Buffer.from(der).toString('hex')}`);
      }),
      params(600),
    );
  });

  test('a mutated intermediate that still verifies is the original intermediate', () => {
    fc.assert(
      fc.property(fixtureArb, editArb, (n, e) => {
        const { leaf, intermediate, root } = pick(n).chain;
        const der = applyEdit(intermediate.der, e);
        fc.pre(!same(der, intermediate.der));
        const parsed = parseOrNull(der);
        const r = verify(leaf.parsed, parsed ? [parsed] : [], [root.parsed]);
        assertCoherent(r);
        assert.equal(
          r.valid,
          false,
          `a modified intermediate was accepted: ${Buffer.from(der).toString('hex')}`,
        );
      }),
      params(600),
    );
  });

  test('a mutated anchor anchors the chain only with the same name and key', () => {
    fc.assert(
      fc.property(fixtureArb, editArb, (n, e) => {
        const { leaf, intermediate, root } = pick(n).chain;
        const der = applyEdit(root.der, e);
        const parsed = parseOrNull(der);
        if (!parsed) return;
        const r = verify(leaf.parsed, [intermediate.parsed], [parsed]);
        assertCoherent(r);
        if (r.valid) {
          assert.equal(parsed.subject.key, root.parsed.subject.key);
          // The same key: algorithm and subjectPublicKey bits (the SPKI bytes may differ in an
          // encoding detail the key loader tolerates, e.g. rsaEncryption without its NULL).
          assert.equal(parsed.publicKey.algorithmOid, root.parsed.publicKey.algorithmOid);
          assert.ok(same(keyBits(parsed), keyBits(root.parsed)), 'accepted under another key');
        }
      }),
      params(400),
    );
  });

  test('mutations confined to the signature or the outer algorithm never verify', () => {
    fc.assert(
      fc.property(fixtureArb, fc.boolean(), fc.boolean(), mutationsArb, (n, onLeaf, inSig, ms) => {
        const { leaf, intermediate, root } = pick(n).chain;
        const target = onLeaf ? leaf : intermediate;
        const parts = signedParts(target.der);
        const der = mutateAll(target.der, ms, inSig ? parts.signature : parts.sigAlg);
        fc.pre(!same(der, target.der));
        const parsed = parseOrNull(der);
        if (!parsed) return;
        // Only the unsigned parts changed (when the TBS is intact): the verdict must still be "no".
        const r = onLeaf
          ? verify(parsed, [intermediate.parsed], [root.parsed])
          : verify(leaf.parsed, [parsed], [root.parsed]);
        assertCoherent(r);
        assert.equal(r.valid, false, `accepted with a modified ${inSig ? 'signature' : 'outer algorithm'}`);
        const tbsIntact = same(partBytes(der, 'tbs') ?? new Uint8Array(0), partBytes(target.der, 'tbs')!);
        if (tbsIntact)
          assert.ok(
            r.findings.some(
              (f) =>
                (f.code === 'invalid-signature' ||
                  f.code === 'malformed-certificate' ||
                  f.code === 'untrusted') &&
                f.severity === 'critical',
            ),
            `${codes(r)}`,
          );
      }),
      params(600),
    );
  });

  test('validly re-signed leaves with edited TBS: never a throw, always a coherent verdict', () => {
    fc.assert(
      fc.property(fixtureArb, treeEditsArb, (n, edits) => {
        const f = pick(n);
        const { leaf, intermediate, root } = f.chain;
        const tbs = partBytes(editTree(leaf.der, edits, [0]), 'tbs');
        if (!tbs) return;
        const der = resign(leaf.der, tbs, f.intermediateKey);
        const parsed = parseOrNull(der);
        if (!parsed) return;
        const r = verify(parsed, [intermediate.parsed], [root.parsed]);
        assertCoherent(r);
      }),
      params(600),
    );
  });

  test('validly re-signed intermediates with edited TBS: never a throw, always a coherent verdict', () => {
    fc.assert(
      fc.property(fixtureArb, treeEditsArb, (n, edits) => {
        const f = pick(n);
        const { leaf, intermediate, root } = f.chain;
        const tbs = partBytes(editTree(intermediate.der, edits, [0]), 'tbs');
        if (!tbs) return;
        const parsed = parseOrNull(resign(intermediate.der, tbs, f.rootKey));
        if (!parsed) return;
        assertCoherent(verify(leaf.parsed, [parsed], [root.parsed]));
      }),
      params(400),
    );
  });
});

/** Replaces the outer AlgorithmIdentifier of a signed structure (lengths re-encoded). */
function withOuterAlgorithm(der: Uint8Array, alg: Uint8Array): Uint8Array {
  const tbs = partBytes(der, 'tbs')!;
  const sig = partBytes(der, 'signature')!;
  const body = Buffer.concat([tbs, alg, sig]);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([new Uint8Array([0x30, ...len]), body]);
}

const SHA256_RSA_NO_NULL = new Uint8Array([
  0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b,
]);
const SHA256_RSA = new Uint8Array([
  0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
]);
const ECDSA_SHA384 = new Uint8Array([0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03]);

describe('adversarial: the unsigned outer signature algorithm', () => {
  const rsa = () => fixtures.find((f) => f.name === 'rsa-2048')!.chain;
  const ec = () => fixtures.find((f) => f.name === 'ec-p256')!.chain;

  test('an outer algorithm that differs only in encoding (NULL parameters dropped) is rejected, though the signature verifies', () => {
    const { leaf, intermediate, root } = rsa();
    assert.ok(
      same(partBytes(leaf.der, 'sigAlg')!, SHA256_RSA),
      'the lab signs sha256WithRSAEncryption with NULL',
    );
    // The leaf: the same signature over the same TBS still verifies under the edited outer field.
    const leafDer = withOuterAlgorithm(leaf.der, SHA256_RSA_NO_NULL);
    const r = verify(parseCertificate(leafDer), [intermediate.parsed], [root.parsed]);
    assert.equal(r.valid, false);
    assert.ok(
      r.findings.some(
        (f) => f.code === 'malformed-certificate' && f.certIndex === 0 && /differs/.test(f.message),
      ),
      `${codes(r)}`,
    );
    assert.ok(!r.findings.some((f) => f.code === 'invalid-signature'), 'the signature itself is fine');
    // The intermediate.
    const icaDer = withOuterAlgorithm(intermediate.der, SHA256_RSA_NO_NULL);
    const r2 = verify(leaf.parsed, [parseCertificate(icaDer)], [root.parsed]);
    assert.equal(r2.valid, false);
    assert.ok(
      r2.findings.some((f) => f.code === 'malformed-certificate' && f.certIndex === 1),
      `${codes(r2)}`,
    );
  });

  test('an outer algorithm naming another hash is rejected (mismatch and signature)', () => {
    const { leaf, intermediate, root } = ec();
    const der = withOuterAlgorithm(leaf.der, ECDSA_SHA384);
    const r = verify(parseCertificate(der), [intermediate.parsed], [root.parsed]);
    assert.equal(r.valid, false);
    const found = codes(r);
    assert.ok(found.includes('malformed-certificate@0'), `${found}`);
    assert.ok(found.includes('invalid-signature@0'), `${found}`);
  });

  test('an outer RSA algorithm on an ECDSA-signed certificate is rejected', () => {
    const { leaf, intermediate, root } = ec();
    const r = verify(
      parseCertificate(withOuterAlgorithm(leaf.der, SHA256_RSA)),
      [intermediate.parsed],
      [root.parsed],
    );
    assert.equal(r.valid, false);
    assert.ok(codes(r).includes('malformed-certificate@0'), `${codes(r)}`);
    assert.ok(codes(r).includes('invalid-signature@0'), `${codes(r)}`);
  });

  test('signature BIT STRING with unused bits declared (padding zero) is rejected as malformed', () => {
    const { leaf, intermediate, root } = rsa();
    // The RSA signature's last byte is random: clear its low bit so that one unused bit is valid padding.
    const der = new Uint8Array(leaf.der);
    const sig = signedParts(der).signature;
    const header = sig.end - sig.start - (partBytes(der, 'signature')!.length - 0);
    void header;
    const unusedAt = sig.start + (der[sig.start + 1]! & 0x80 ? 2 + (der[sig.start + 1]! & 0x7f) : 2);
    assert.equal(der[unusedAt], 0);
    der[unusedAt] = 1;
    der[sig.end - 1]! &= 0xfe;
    const parsed = parseCertificate(der);
    const r = verify(parsed, [intermediate.parsed], [root.parsed]);
    assert.equal(r.valid, false);
    assert.ok(
      r.findings.some(
        (f) => f.code === 'malformed-certificate' && f.certIndex === 0 && /unused bits/.test(f.message),
      ),
      `${codes(r)}`,
    );
  });

  test('one flipped signature bit: invalid-signature on that certificate', () => {
    for (const f of fixtures) {
      const { leaf, intermediate, root } = f.chain;
      const der = new Uint8Array(leaf.der);
      der[signedParts(der).signature.end - 3]! ^= 0x01;
      const r = verify(parseCertificate(der), [intermediate.parsed], [root.parsed]);
      assert.equal(r.valid, false);
      assert.ok(codes(r).includes('invalid-signature@0'), `${f.name}: ${codes(r)}`);
    }
  });
});
