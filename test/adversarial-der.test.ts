/**
 * Adversarial suite: the DER layer and the certificate parser over arbitrary bytes, random
 * well-framed TLV trees and mutations of real certificates. Every input either parses or is
 * rejected with the module's documented error (DerError; CertificateParseError wrapping a
 * DerError), within the per-input time limit.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { type IssuedCert, issue, type LabKeyType, makeChain } from '../src/lab/pki.js';
import { CertificateParseError, isSelfSigned, parseCertificate } from '../src/x509/certificate.js';
import {
  checkDerStrict,
  children,
  DerError,
  decodeBitString,
  decodeBoolean,
  decodeOid,
  decodeSmallInteger,
  readSingle,
  readTlv,
  type Tlv,
} from '../src/x509/der.js';
import { decodeExtensions } from '../src/x509/extensions.js';
import { decodeGeneralNames, generalNameText } from '../src/x509/generalName.js';
import { decodeName } from '../src/x509/name.js';
import { decodePublicKey, describeKey } from '../src/x509/publicKey.js';
import { decodeSignatureAlgorithm } from '../src/x509/signatureAlgorithm.js';
import { decodeTime } from '../src/x509/time.js';
import {
  assertCertificateRejection,
  decodeTree,
  editTree,
  encodeTree,
  fc,
  mutateAll,
  mutationsArb,
  params,
  parsesOrRejects,
  signedParts,
  treeEditsArb,
  within,
} from './support/fuzz.js';

/** A random TLV tree, encoded in DER framing (content arbitrary, lengths minimal and right). */
function encodeTlv(tagByte: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return new Uint8Array([tagByte, ...len, ...body]);
}

const universalTags = [1, 2, 3, 4, 5, 6, 12, 16, 17, 19, 20, 22, 23, 24, 26, 28, 30];

const { tree: tlvTreeArb } = fc.letrec<{ tree: Uint8Array; node: Uint8Array }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('node'), tie('node')),
  node: fc.oneof(
    { depthSize: 'small' },
    // primitive: universal or context-specific tag with random content
    fc
      .tuple(
        fc.oneof(
          fc.constantFrom(...universalTags.filter((t) => t !== 16 && t !== 17)),
          fc.integer({ min: 0x80, max: 0x88 }),
        ),
        fc.uint8Array({ maxLength: 24 }),
      )
      .map(([tag, body]) => encodeTlv(tag, body)),
    // constructed: SEQUENCE, SET or [n] constructed
    fc
      .tuple(
        fc.constantFrom(0x30, 0x31, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4),
        fc.array(tie('tree'), { maxLength: 4 }),
      )
      .map(([tag, kids]) => encodeTlv(tag, Buffer.concat(kids))),
  ),
}));

/** Every decoder of src/x509 run over one TLV: each may reject with DerError only. */
function decodeEverything(t: Tlv): void {
  const allowed = [DerError];
  const tryIt = (what: string, fn: () => unknown) => parsesOrRejects(what, fn, allowed);
  tryIt('checkDerStrict', () => checkDerStrict(t));
  tryIt('children', () => (t.constructed ? children(t) : null));
  tryIt('decodeOid', () => decodeOid(t.buf.subarray(t.contentStart, t.end)));
  tryIt('decodeBitString', () => decodeBitString(t));
  tryIt('decodeBoolean', () => decodeBoolean(t));
  tryIt('decodeSmallInteger', () => decodeSmallInteger(t));
  tryIt('decodeTime', () => decodeTime(t));
  tryIt('decodeName', () => decodeName(t));
  tryIt('decodeGeneralNames', () =>
    decodeGeneralNames(t.buf.subarray(t.start, t.end), 'fuzz').map(generalNameText),
  );
  tryIt('decodePublicKey', () => describeKey(decodePublicKey(t)));
  tryIt('decodeSignatureAlgorithm', () => decodeSignatureAlgorithm(t));
}

const EXTENSION_OIDS = [
  '2.5.29.14',
  '2.5.29.15',
  '2.5.29.17',
  '2.5.29.18',
  '2.5.29.19',
  '2.5.29.30',
  '2.5.29.31',
  '2.5.29.32',
  '2.5.29.33',
  '2.5.29.35',
  '2.5.29.36',
  '2.5.29.37',
  '2.5.29.54',
  '1.3.6.1.5.5.7.1.1',
  '1.3.6.1.5.5.7.1.24',
];

describe('adversarial: DER primitives', () => {
  test('readTlv/readSingle on arbitrary bytes: a TLV within bounds or DerError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(70), (bytes, offset) => {
        const t = parsesOrRejects('readTlv', () => readTlv(bytes, offset), [DerError]);
        if (t) {
          assert.ok(t.start === offset && t.contentStart <= t.end && t.end <= bytes.length);
        }
        const s = parsesOrRejects('readSingle', () => readSingle(bytes), [DerError]);
        if (s) assert.equal(s.end, bytes.length);
      }),
      params(2000),
    );
  });

  test('every decoder over arbitrary bytes and random TLV trees rejects with DerError only', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 48 }), tlvTreeArb), (bytes) => {
        const t = parsesOrRejects('readSingle', () => readSingle(bytes), [DerError]);
        if (t) decodeEverything(t);
      }),
      params(1500),
    );
  });

  test('decodeExtensions never throws: a bad value is a defect naming the extension', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...EXTENSION_OIDS),
        fc.oneof(fc.uint8Array({ maxLength: 48 }), tlvTreeArb),
        fc.boolean(),
        (oid, value, critical) => {
          const r = within('decodeExtensions', () => decodeExtensions([{ oid, critical, value }]));
          for (const d of r.defects) assert.match(d, /extension cannot be decoded/);
        },
      ),
      params(1500),
    );
  });
});

describe('adversarial: certificate parser', () => {
  const certs: IssuedCert[] = [];
  before(async () => {
    const types: LabKeyType[] = ['ec-p256', 'ed25519', 'rsa-2048'];
    for (const keyType of types) {
      const c = await makeChain({ keyType, names: ['fuzz.example', '192.0.2.7'] });
      certs.push(c.leaf, c.intermediate, c.root);
    }
    // Extension-rich: name constraints, policies, AIA, CRL DP, several SAN types.
    const ca = await issue({ subject: 'CN=Fuzz CA', ca: true, pathLen: 2 });
    certs.push(
      await issue({
        subject: 'CN=rich.example,O=Fuzz,C=DE',
        issuer: ca,
        dns: ['rich.example', '*.rich.example'],
        ips: ['2001:db8::1'],
        emails: ['a@rich.example'],
        uris: ['spiffe://rich.example/x'],
        aiaOcsp: ['http://127.0.0.1:1/ocsp'],
        aiaCaIssuers: ['http://127.0.0.1:1/ca.der'],
        crlUrls: ['http://127.0.0.1:1/ca.crl'],
      }),
    );
  });

  const check = (der: Uint8Array) => {
    let cert: ReturnType<typeof parseCertificate> | null = null;
    try {
      cert = within('parseCertificate', () => parseCertificate(der));
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      assertCertificateRejection(e);
      return;
    }
    // Derived views used by the renderers and the verifier must be total too.
    within('derived', () => {
      isSelfSigned(cert);
      describeKey(cert.publicKey);
      for (const n of cert.ext.subjectAltName ?? []) generalNameText(n);
      void cert.subject.text;
      void cert.issuer.text;
    });
  };

  test('the unmutated certificates parse', () => {
    for (const c of certs) assert.equal(parseCertificate(c.der).sha256.length, 64);
  });

  test('mutated certificates (anywhere): parse, or CertificateParseError caused by DerError', () => {
    fc.assert(
      fc.property(fc.nat(), mutationsArb, (which, ms) => {
        const c = certs[which % certs.length]!;
        check(mutateAll(c.der, ms));
      }),
      params(1500),
    );
  });

  test('mutated certificates (within the TBS): same contract', () => {
    fc.assert(
      fc.property(fc.nat(), mutationsArb, (which, ms) => {
        const c = certs[which % certs.length]!;
        check(mutateAll(c.der, ms, signedParts(c.der).tbs));
      }),
      params(1500),
    );
  });

  test('the tree codec of the structure-aware mutations round-trips real certificates', () => {
    for (const c of certs) assert.deepEqual(encodeTree(decodeTree(c.der)), Buffer.from(c.der));
  });

  test('structure-aware edits (re-encoded TLV trees, whole certificate): same contract', () => {
    fc.assert(
      fc.property(fc.nat(), treeEditsArb, (which, edits) => {
        const c = certs[which % certs.length]!;
        check(editTree(c.der, edits));
      }),
      params(800),
    );
  });

  test('structure-aware edits within the TBS (past the framing checks, into the decoders)', () => {
    fc.assert(
      fc.property(fc.nat(), treeEditsArb, (which, edits) => {
        const c = certs[which % certs.length]!;
        check(editTree(c.der, edits, [0]));
      }),
      params(1000),
    );
  });

  test('arbitrary bytes behind a plausible Certificate header', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), tlvTreeArb), (body) => {
        check(encodeTlv(0x30, body));
        check(encodeTlv(0x30, encodeTlv(0x30, body)));
        check(body);
      }),
      params(800),
    );
  });

  test('regression: a rejection keeps its DerError cause', () => {
    const c = certs[0]!;
    const truncated = c.der.subarray(0, c.der.length - 1);
    assert.throws(
      () => parseCertificate(truncated),
      (e: unknown) => e instanceof CertificateParseError && e.cause instanceof DerError,
    );
  });
});
