import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { buildCrl } from '../src/lab/crlBuilder.js';
import { integer, seq, tlv } from '../src/lab/derWriter.js';
import { type IssuedCert, issue, type LabChain, type LabKey, makeChain, x509 } from '../src/lab/pki.js';
import { type Crl, checkCrls, checkDelta, parseCrl } from '../src/verify/crl.js';
import type { VerifyOptions } from '../src/verify/options.js';
import { verifyCertificate } from '../src/verify/verify.js';
import { DerError } from '../src/x509/der.js';

/*
 * CRLs here are made with @peculiar/x509's X509CrlGenerator (an encoder independent of
 * certvet's own lab builder), signed with the issuing CA's key from src/lab/pki.ts.
 * X509CrlGenerator is quadratic in the number of entries (about 6 s for 10,000 and 20 s for
 * 20,000 on this machine), so the 100,000-entry CRL is made with the lab's linear builder.
 */

const DAY = 86400_000;
const sec = (d: Date) => Math.floor(d.getTime() / 1000);
/** Whole seconds, as CRLs encode them. */
const at = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
const NOW = at(Date.now());

const OID_CRL_NUMBER = '2.5.29.20';
const crlNumberExt = (n: bigint | number, critical = false) =>
  new x509.Extension(OID_CRL_NUMBER, critical, integer(BigInt(n).toString(16)));

interface EntrySpec {
  readonly serial: string;
  readonly date?: Date;
  readonly reason?: x509.X509CrlReason;
  readonly extensions?: x509.Extension[];
}

interface CrlSpec {
  readonly entries?: readonly EntrySpec[];
  /** cRLNumber; null omits it (default 1). */
  readonly number?: bigint | number | null;
  readonly numberCritical?: boolean;
  readonly thisUpdate?: Date;
  /** null omits nextUpdate. */
  readonly nextUpdate?: Date | null;
  readonly extensions?: readonly x509.Extension[];
  /** Sign with this key instead of the issuer's (same name, other key). */
  readonly signWith?: LabKey;
}

async function generateCrlDer(issuer: IssuedCert, spec: CrlSpec = {}): Promise<Uint8Array> {
  const key = spec.signWith ?? issuer.key;
  assert.equal(key.type, 'ec-p256', 'these helpers sign with ECDSA P-256');
  const extensions = [
    ...(spec.number === null ? [] : [crlNumberExt(spec.number ?? 1, spec.numberCritical)]),
    ...(spec.extensions ?? []),
  ];
  const nextUpdate = spec.nextUpdate === undefined ? new Date(NOW.getTime() + 7 * DAY) : spec.nextUpdate;
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.cert.subjectName,
    thisUpdate: spec.thisUpdate ?? new Date(NOW.getTime() - DAY),
    ...(nextUpdate ? { nextUpdate } : {}),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    signingKey: key.pair.privateKey,
    extensions,
    entries: (spec.entries ?? []).map((e) => ({
      serialNumber: e.serial,
      revocationDate: e.date ?? new Date(NOW.getTime() - 2 * DAY),
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
      ...(e.extensions ? { extensions: e.extensions } : {}),
    })),
  });
  return new Uint8Array(crl.rawData);
}

const makeCrl = async (issuer: IssuedCert, spec: CrlSpec = {}): Promise<Crl> =>
  parseCrl(await generateCrlDer(issuer, spec));

describe('parseCrl on CRLs from @peculiar/x509', () => {
  let c: LabChain;
  before(async () => {
    c = await makeChain({ names: ['parse-crl.example.test'] });
  });

  test('issuer, dates, number, signature algorithm and the revoked entries', async () => {
    const thisUpdate = at(Date.UTC(2030, 0, 2, 3, 4, 5));
    const nextUpdate = at(Date.UTC(2030, 0, 9, 3, 4, 5));
    const revokedAt = at(Date.UTC(2029, 11, 31, 23, 59, 59));
    const der = await generateCrlDer(c.intermediate, {
      number: 42,
      thisUpdate,
      nextUpdate,
      entries: [
        { serial: c.leaf.parsed.serialHex, date: revokedAt, reason: x509.X509CrlReason.keyCompromise },
        { serial: '0a0b0c', reason: x509.X509CrlReason.superseded },
        { serial: '0d0e0f' },
      ],
    });
    const crl = parseCrl(der);
    assert.deepEqual(crl.defects, []);
    assert.deepEqual(Buffer.from(crl.der), Buffer.from(der));
    assert.equal(crl.issuer.key, c.intermediate.parsed.subject.key);
    assert.equal(crl.issuer.text, c.intermediate.parsed.subject.text);
    assert.match(crl.issuer.text, /CN=certvet Test Intermediate/);
    assert.equal(crl.thisUpdate.seconds, sec(thisUpdate));
    assert.equal(crl.nextUpdate?.seconds, sec(nextUpdate));
    assert.equal(crl.crlNumber, '42');
    assert.equal(crl.signatureAlgorithm.name, 'ecdsa-with-SHA256');
    assert.equal(crl.isDelta, false);
    assert.equal(crl.revoked.size, 3);
    const e = crl.revoked.get(c.leaf.parsed.serialHex)!;
    assert.equal(e.revocationDate.seconds, sec(revokedAt));
    assert.equal(e.reason, 'keyCompromise');
    assert.equal(crl.revoked.get('0A0B0C')?.reason, 'superseded');
    assert.equal(crl.revoked.get('0D0E0F')?.reason, null, 'no reason code: null, not "unspecified"');
    assert.equal(crl.revoked.get('0a0b0c'), undefined, 'keys are upper-case hex');
    assert.equal(crl.revoked.get('0B0C'), undefined);
  });

  test('cRLNumber is decimal text, up to the 20 octets RFC 5280 allows', async () => {
    const big = (1n << 159n) - 1n;
    assert.equal((await makeCrl(c.intermediate, { number: big })).crlNumber, big.toString());
    assert.equal((await makeCrl(c.intermediate, { number: 0 })).crlNumber, '0');
  });

  test('a CRL without nextUpdate parses with nextUpdate null', async () => {
    assert.equal((await makeCrl(c.intermediate, { nextUpdate: null })).nextUpdate, null);
  });

  test('a nextUpdate from 2050 on is a GeneralizedTime and is read as such', async () => {
    const far = at(Date.UTC(2051, 6, 1));
    const crl = await makeCrl(c.intermediate, { nextUpdate: far });
    assert.equal(crl.nextUpdate?.seconds, sec(far));
    assert.equal(crl.nextUpdate?.encoding, 'GeneralizedTime');
  });

  test('profile defects: no cRLNumber, a critical cRLNumber, an unknown critical extension', async () => {
    assert.deepEqual((await makeCrl(c.intermediate, { number: null })).defects, [
      'has no cRLNumber extension (RFC 5280 §5.2.3: MUST be included)',
    ]);
    assert.match(
      (await makeCrl(c.intermediate, { numberCritical: true })).defects.join(),
      /cRLNumber extension critical/,
    );
    const unknownCritical = await makeCrl(c.intermediate, {
      extensions: [new x509.Extension('1.3.6.1.4.1.99999.7', true, new Uint8Array([0x05, 0x00]))],
    });
    assert.deepEqual(unknownCritical.defects, ['has an unknown critical extension 1.3.6.1.4.1.99999.7']);
    const unknownPlain = await makeCrl(c.intermediate, {
      extensions: [new x509.Extension('1.3.6.1.4.1.99999.7', false, new Uint8Array([0x05, 0x00]))],
    });
    assert.deepEqual(unknownPlain.defects, []);
  });

  test('an entry naming another certificate issuer (indirect CRL) is a defect', async () => {
    const certIssuer = new x509.Extension(
      '2.5.29.29',
      true,
      seq(tlv(0xa4, Buffer.from(c.root.parsed.subject.der))),
    );
    const crl = await makeCrl(c.intermediate, { entries: [{ serial: '01', extensions: [certIssuer] }] });
    assert.ok(
      crl.defects.some((d) => /indirect CRLs are not supported/.test(d)),
      crl.defects.join(),
    );
  });

  test('issuingDistributionPoint scope flags and deltaCRLIndicator', async () => {
    // IssuingDistributionPoint ::= SEQUENCE { ..., onlyContainsUserCerts [1], onlyContainsCACerts [2], ... }
    const idp = (tag: number) => new x509.Extension('2.5.29.28', true, seq(tlv(tag, Buffer.from([0xff]))));
    const users = await makeCrl(c.intermediate, { extensions: [idp(0x81)] });
    assert.equal(users.onlyUserCerts, true);
    assert.equal(users.onlyCaCerts, false);
    assert.deepEqual(users.defects, []);
    const cas = await makeCrl(c.intermediate, { extensions: [idp(0x82)] });
    assert.equal(cas.onlyCaCerts, true);
    // [3] onlySomeReasons (BIT STRING), [4] indirectCRL, [5] onlyContainsAttributeCerts.
    const raw = (...fields: Buffer[]) => new x509.Extension('2.5.29.28', true, seq(...fields));
    const all = await makeCrl(c.intermediate, {
      extensions: [
        raw(
          tlv(0x83, Buffer.from([0x07, 0x80])),
          tlv(0x84, Buffer.from([0xff])),
          tlv(0x85, Buffer.from([0xff])),
        ),
      ],
    });
    assert.deepEqual(
      [all.onlySomeReasons, all.indirect, all.onlyAttributeCerts, all.onlyUserCerts, all.defects.length],
      [true, true, true, false, 0],
    );
    // Fields out of order, repeated or unknown: the scope cannot be known, so the CRL is defective.
    for (const fields of [
      [tlv(0x82, Buffer.from([0xff])), tlv(0x81, Buffer.from([0xff]))],
      [tlv(0x81, Buffer.from([0xff])), tlv(0x81, Buffer.from([0xff]))],
      [tlv(0x86, Buffer.from([0xff]))],
    ]) {
      const bad = await makeCrl(c.intermediate, { extensions: [raw(...fields)] });
      assert.match(bad.defects.join('; '), /malformed issuingDistributionPoint/);
    }
    const delta = await makeCrl(c.intermediate, {
      number: 8,
      extensions: [new x509.Extension('2.5.29.27', true, integer('07'))],
    });
    assert.equal(delta.isDelta, true);
    assert.equal(delta.baseCrlNumber, '7');
  });

  test('what is not a CRL throws DerError "not a valid DER CRL"', async () => {
    const der = await generateCrlDer(c.intermediate, { entries: [{ serial: '01' }] });
    const bad = (bytes: Uint8Array, re: RegExp) =>
      assert.throws(
        () => parseCrl(bytes),
        (e: unknown) =>
          e instanceof DerError && /^not a valid DER CRL: /.test(e.message) && re.test(e.message),
        String(re),
      );
    bad(der.subarray(0, der.length - 1), /truncated value/);
    bad(new Uint8Array([...der, 0]), /trailing bytes/);
    bad(Buffer.from('garbage, not DER'), /./);
    bad(new Uint8Array(0), /expected a tag/);
    bad(c.leaf.der, /./);
  });
});

describe('checkCrls (RFC 5280 §6.3)', () => {
  let c: LabChain;
  before(async () => {
    c = await makeChain({ names: ['check-crl.example.test'] });
  });
  const now = () => sec(NOW);
  const leafCheck = (crls: Crl[], t = now()) =>
    checkCrls(c.leaf.parsed, c.intermediate.parsed, crls, t, false);

  test('good, revoked and not-covered', async () => {
    const good = await makeCrl(c.intermediate, { entries: [{ serial: '0BADC0DE' }] });
    assert.equal(leafCheck([good]).status, 'good');
    const revoked = await makeCrl(c.intermediate, {
      entries: [{ serial: c.leaf.parsed.serialHex, reason: x509.X509CrlReason.cessationOfOperation }],
    });
    const r = leafCheck([revoked]);
    assert.equal(r.status, 'revoked');
    assert.equal(r.status === 'revoked' && r.entry.reason, 'cessationOfOperation');
    assert.equal(leafCheck([]).status, 'not-covered');
    const rootCrl = await makeCrl(c.root, { entries: [{ serial: c.leaf.parsed.serialHex }] });
    assert.equal(leafCheck([rootCrl]).status, 'not-covered', "the root's CRL does not speak for the leaf");
  });

  test('a CRL under the same name but signed by another key proves nothing: unusable, naming why', async () => {
    const impostor = await issue({ subject: 'CN=certvet Test Intermediate,O=certvet', ca: true });
    const forged = await makeCrl(c.intermediate, {
      entries: [{ serial: c.leaf.parsed.serialHex }],
      signWith: impostor.key,
    });
    assert.equal(forged.issuer.key, c.intermediate.parsed.subject.key);
    const f = leafCheck([forged]);
    assert.equal(f.status, 'unusable', 'neither revoked (unproven) nor silently skipped');
    assert.match(f.status === 'unusable' ? f.reason : '', /is not signed by the issuer's key/);
    const der = await generateCrlDer(c.intermediate, { entries: [{ serial: c.leaf.parsed.serialHex }] });
    der[der.length - 3]! ^= 0x01;
    assert.equal(leafCheck([parseCrl(der)]).status, 'unusable', 'a tampered signature proves nothing');
    // Beside a good CRL from the real issuer, the forged one changes nothing.
    assert.equal(leafCheck([forged, await makeCrl(c.intermediate)]).status, 'good');
  });

  test('currency: thisUpdate in the future or nextUpdate in the past makes the CRL unusable (inclusive bounds)', async () => {
    const t = now();
    const crl = await makeCrl(c.intermediate, {
      thisUpdate: new Date((t - 3600) * 1000),
      nextUpdate: new Date((t + 3600) * 1000),
    });
    assert.equal(leafCheck([crl], t - 3600).status, 'good', 'at thisUpdate');
    assert.equal(leafCheck([crl], t + 3600).status, 'good', 'at nextUpdate');
    const early = leafCheck([crl], t - 3601);
    assert.equal(early.status, 'unusable');
    assert.match(early.status === 'unusable' ? early.reason : '', /is not yet valid \(thisUpdate \d{4}-/);
    const late = leafCheck([crl], t + 3601);
    assert.equal(late.status, 'unusable');
    assert.match(late.status === 'unusable' ? late.reason : '', /is stale \(nextUpdate \d{4}-\d\d-\d\dT/);
  });

  test('an issuer whose keyUsage lacks cRLSign cannot vouch for its CRLs', async () => {
    const ca = await issue({
      subject: 'CN=No cRLSign CA',
      ca: true,
      issuer: c.root,
      keyUsage: x509.KeyUsageFlags.keyCertSign,
    });
    const leaf = await issue({ subject: 'CN=l', issuer: ca, dns: ['l.example.test'] });
    const crl = await makeCrl(ca);
    const r = checkCrls(leaf.parsed, ca.parsed, [crl], now(), false);
    assert.equal(r.status, 'unusable');
    assert.match(r.status === 'unusable' ? r.reason : '', /lacks cRLSign/);
  });

  test('scope: a CRL whose scope excludes the certificate cannot vouch for it, but a listed serial is still revoked', async () => {
    const idp = (tag: number) => new x509.Extension('2.5.29.28', true, seq(tlv(tag, Buffer.from([0xff]))));
    const usersOnly = await makeCrl(c.intermediate, {
      entries: [{ serial: c.leaf.parsed.serialHex }],
      extensions: [idp(0x81)],
    });
    assert.equal(leafCheck([usersOnly]).status, 'revoked');
    const caOnly = await makeCrl(c.intermediate, {
      entries: [{ serial: c.leaf.parsed.serialHex }],
      extensions: [idp(0x82)],
    });
    assert.equal(leafCheck([caOnly]).status, 'revoked', 'the issuer signed that this serial is revoked');
    const caOnlyEmpty = await makeCrl(c.intermediate, { extensions: [idp(0x82)] });
    const out = leafCheck([caOnlyEmpty]);
    assert.equal(out.status, 'unusable');
    assert.match(out.status === 'unusable' ? out.reason : '', /covers only CA certificates/);
    const rootUsersOnly = await makeCrl(c.root, { extensions: [idp(0x81)] });
    assert.equal(
      checkCrls(c.intermediate.parsed, c.root.parsed, [rootUsersOnly], now(), true).status,
      'unusable',
    );
    const delta = await makeCrl(c.intermediate, {
      extensions: [new x509.Extension('2.5.29.27', true, integer('01'))],
    });
    const d = leafCheck([delta]);
    assert.equal(d.status, 'unusable', 'a delta alone is not a base');
    assert.match(d.status === 'unusable' ? d.reason : '', /delta CRL/);
  });

  test('partitioned CRLs: the IDP must name one of the certificate’s CDP URIs, byte for byte', async () => {
    // GeneralName: [6] uniformResourceIdentifier, [2] dNSName; DistributionPointName: [0] fullName.
    const uri = (u: string) => tlv(0x86, Buffer.from(u));
    const dns = (d: string) => tlv(0x82, Buffer.from(d));
    const fullName = (...names: Buffer[]) => tlv(0xa0, tlv(0xa0, Buffer.concat(names)));
    const idp = (dpName: Buffer, ...flags: Buffer[]) =>
      new x509.Extension('2.5.29.28', true, seq(dpName, ...flags));
    const cdp = (...dps: Buffer[]) => new x509.Extension('2.5.29.31', false, seq(...dps.map((d) => seq(d))));
    const A = 'http://crl.example.test/a.crl';
    const B = 'http://crl.example.test/b.crl';
    const leafWith = (...ext: x509.Extension[]) =>
      issue({ subject: 'CN=p', issuer: c.intermediate, dns: ['p.example.test'], extensions: ext });
    const check = async (leaf: IssuedCert, crl: Crl) =>
      checkCrls(leaf.parsed, c.intermediate.parsed, [crl], now(), false);
    const reasonOf = (r: ReturnType<typeof checkCrls>) => (r.status === 'unusable' ? r.reason : r.status);

    const inA = await leafWith(cdp(fullName(uri(A))));
    const partitionA = await makeCrl(c.intermediate, { extensions: [idp(fullName(uri(A)))] });
    const partitionB = await makeCrl(c.intermediate, { extensions: [idp(fullName(uri(B)))] });
    assert.deepEqual(partitionA.distributionPointUris, [A]);
    assert.equal((await check(inA, partitionA)).status, 'good', 'its own partition covers it');
    const other = await check(inA, partitionB);
    assert.equal(other.status, 'unusable', "another partition's CRL cannot say it is good");
    assert.match(
      reasonOf(other),
      /is the CRL of the distribution point http:\/\/crl\.example\.test\/b\.crl, and the certificate's cRLDistributionPoints name http:\/\/crl\.example\.test\/a\.crl instead/,
    );
    // …but a serial it lists is revoked all the same (serials are unique per issuer).
    const bListsIt = await makeCrl(c.intermediate, {
      entries: [{ serial: inA.parsed.serialHex }],
      extensions: [idp(fullName(uri(B)))],
    });
    const listed = await check(inA, bListsIt);
    assert.equal(listed.status, 'revoked');
    // …with the reason that CRL could not vouch by itself (so no delta may lift a hold on it).
    assert.match(
      listed.status === 'revoked' ? listed.caveats.join('; ') : '',
      /is the CRL of the distribution point/,
    );
    // Beside the right partition, the wrong one changes nothing.
    assert.equal(
      checkCrls(inA.parsed, c.intermediate.parsed, [partitionB, partitionA], now(), false).status,
      'good',
    );

    const noCdp = await leafWith();
    assert.match(
      reasonOf(await check(noCdp, partitionA)),
      /the certificate has no cRLDistributionPoints naming it/,
    );
    const encoded = await leafWith(cdp(fullName(uri('http://crl.example.test/%61.crl'))));
    const plainA = await makeCrl(c.intermediate, {
      extensions: [idp(fullName(uri('http://crl.example.test/a.crl')))],
    });
    assert.equal((await check(encoded, plainA)).status, 'unusable', 'equivalent is not identical');
    const mixedCdp = await leafWith(cdp(fullName(uri(A), dns('crl.example.test'))));
    assert.match(reasonOf(await check(mixedCdp, partitionA)), /do not name it by URIs alone/);
    const twoDps = await leafWith(cdp(fullName(uri(B)), fullName(uri(A))));
    assert.equal((await check(twoDps, partitionA)).status, 'good', 'any of its distribution points');

    const mixedIdp = await makeCrl(c.intermediate, {
      extensions: [idp(fullName(uri(A), dns('crl.example.test')))],
    });
    assert.match(
      reasonOf(await check(inA, mixedIdp)),
      /names its distribution point with a name that is not a URI/,
    );
    // nameRelativeToCRLIssuer [1]: a SET OF AttributeTypeAndValue (here CN=partition).
    const cn = seq(Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]), tlv(0x0c, Buffer.from('partition')));
    const relative = await makeCrl(c.intermediate, { extensions: [idp(tlv(0xa0, tlv(0xa1, cn)))] });
    assert.match(reasonOf(await check(inA, relative)), /by a name relative to the CRL issuer/);
    // A distribution point name the schema decoder cannot read must not make the CRL a full one.
    for (const [what, dpName] of [
      ['a fullName that is a bare dNSName', tlv(0xa0, dns('crl.example.test'))],
      ['an empty fullName', tlv(0xa0, tlv(0xa0, Buffer.alloc(0)))],
    ] as const) {
      const broken = await makeCrl(c.intermediate, { extensions: [idp(dpName)] });
      assert.match(broken.defects.join('; '), /malformed issuingDistributionPoint/, what);
      assert.equal((await check(noCdp, broken)).status, 'unusable', what);
      const listing = await makeCrl(c.intermediate, {
        entries: [{ serial: noCdp.parsed.serialHex }],
        extensions: [idp(dpName)],
      });
      assert.equal((await check(noCdp, listing)).status, 'revoked', `${what}: a listed serial still revokes`);
    }
    // A full CRL (an IDP without a distribution point) covers every certificate of its scope.
    const full = await makeCrl(c.intermediate, { extensions: [idp(tlv(0x81, Buffer.from([0xff])))] });
    assert.equal(full.distributionPointUris, null);
    assert.equal((await check(inA, full)).status, 'good');
  });

  test('a CRL without nextUpdate, or with its dates in the wrong time type, cannot vouch; a serial it lists is revoked (RFC 5280 §5.1.2.4-5)', async () => {
    const listing = (serial: string, o: { nextUpdate?: null; generalizedTimes?: boolean }) =>
      buildCrl({
        issuer: c.intermediate,
        entries: [{ serial, revokedAt: new Date(NOW.getTime() - DAY) }],
        ...o,
      }).then((der) => parseCrl(der));
    for (const [o, defect] of [
      [{ nextUpdate: null }, /has no nextUpdate \(RFC 5280 §5\.1\.2\.5/],
      [
        { generalizedTimes: true },
        /encodes its thisUpdate \(\d{14}Z\) as GeneralizedTime for year 20\d\d .*encodes its nextUpdate/,
      ],
    ] as const) {
      const other = await listing('0BADC0DE', o);
      assert.match(other.defects.join('; '), defect);
      const r = leafCheck([other]);
      assert.equal(r.status, 'unusable', JSON.stringify(o));
      assert.match(r.status === 'unusable' ? r.reason : '', defect);
      assert.equal(
        leafCheck([await listing(c.leaf.parsed.serialHex, o)]).status,
        'revoked',
        JSON.stringify(o),
      );
    }
    // The same CRL, encoded as RFC 5280 asks, vouches.
    assert.equal(leafCheck([await listing('0BADC0DE', {})]).status, 'good');
  });

  test('a CRL that lists a serial twice is malformed: it cannot vouch, but a serial it lists is revoked', async () => {
    // (@peculiar/x509 refuses to write such a CRL; the lab's builder writes what it is given.)
    const listing = (serial: string) =>
      buildCrl({
        issuer: c.intermediate,
        entries: [serial, serial].map((s) => ({ serial: s, revokedAt: new Date(NOW.getTime() - DAY) })),
      }).then((der) => parseCrl(der));
    const twice = await listing('0BADC0DE');
    assert.match(twice.defects.join('; '), /lists serial 0BADC0DE more than once/);
    const r = leafCheck([twice]);
    assert.equal(r.status, 'unusable');
    const listsLeafTwice = await listing(c.leaf.parsed.serialHex);
    assert.equal(leafCheck([listsLeafTwice]).status, 'revoked');
    // Listed twice with different reasons: the most severe entry answers, whatever the order.
    const REASON = { keyCompromise: 1, certificateHold: 6, removeFromCRL: 8 };
    for (const reasons of [
      [REASON.keyCompromise, REASON.certificateHold],
      [REASON.certificateHold, REASON.keyCompromise],
      [REASON.keyCompromise, REASON.removeFromCRL],
      [REASON.removeFromCRL, REASON.certificateHold],
    ]) {
      const crl = parseCrl(
        await buildCrl({
          issuer: c.intermediate,
          entries: reasons.map((reason) => ({
            serial: c.leaf.parsed.serialHex,
            revokedAt: new Date(NOW.getTime() - DAY),
            reason,
          })),
        }),
      );
      const r = leafCheck([crl]);
      assert.equal(r.status, 'revoked', String(reasons));
      const expected = reasons.includes(REASON.keyCompromise) ? 'keyCompromise' : 'certificateHold';
      assert.equal(r.status === 'revoked' && r.entry.reason, expected, String(reasons));
    }
  });

  test('a delta CRL updates only a base CRL of the same scope (RFC 5280 §5.2.4)', async () => {
    const deltaIndicator = new x509.Extension('2.5.29.27', true, integer('01'));
    const caOnlyIdp = new x509.Extension('2.5.29.28', true, seq(tlv(0x82, Buffer.from([0xff]))));
    const base = await makeCrl(c.intermediate, { number: 1 });
    const sameScope = await makeCrl(c.intermediate, { number: 2, extensions: [deltaIndicator] });
    assert.equal(checkDelta(c.leaf.parsed, c.intermediate.parsed, base, sameScope, now()), null);
    const otherScope = await makeCrl(c.intermediate, { number: 2, extensions: [deltaIndicator, caOnlyIdp] });
    assert.throws(
      () => checkDelta(c.leaf.parsed, c.intermediate.parsed, base, otherScope, now()),
      /another scope \(issuingDistributionPoint\) than the base CRL/,
    );
    // A delta with a defect (no nextUpdate) that lists the serial still revokes it; one that
    // does not list it cannot say the certificate is not revoked.
    const defective = (serial: string) =>
      buildCrl({
        issuer: c.intermediate,
        entries: [{ serial, revokedAt: new Date(NOW.getTime() - DAY) }],
        nextUpdate: null,
        number: 3,
        deltaOf: 1,
      }).then((der) => parseCrl(der));
    const listing = checkDelta(
      c.leaf.parsed,
      c.intermediate.parsed,
      base,
      await defective(c.leaf.parsed.serialHex),
      now(),
    );
    assert.ok(listing !== null && listing !== 'removed', 'revoked by the defective delta');
    const silent = await defective('0BADC0DE');
    assert.throws(
      () => checkDelta(c.leaf.parsed, c.intermediate.parsed, base, silent, now()),
      /the delta CRL has no nextUpdate/,
    );
  });

  test('several CRLs: a usable one wins over an unusable one; a revocation wins over both', async () => {
    const stale = await makeCrl(c.intermediate, {
      thisUpdate: new Date(NOW.getTime() - 10 * DAY),
      nextUpdate: new Date(NOW.getTime() - DAY),
    });
    const fresh = await makeCrl(c.intermediate, { number: 2 });
    assert.equal(leafCheck([stale, fresh]).status, 'good');
    assert.equal(leafCheck([fresh, stale]).status, 'good');
    const revoking = await makeCrl(c.intermediate, {
      number: 3,
      entries: [{ serial: c.leaf.parsed.serialHex }],
    });
    assert.equal(leafCheck([fresh, stale, revoking]).status, 'revoked');
    assert.equal(leafCheck([stale]).status, 'unusable');
  });

  test('serials whose high bit is set are matched with their leading zero octet', async () => {
    const hi = await issue({
      subject: 'CN=hi',
      issuer: c.intermediate,
      serialNumber: '80aabbcc',
      dns: ['hi.example.test'],
    });
    assert.equal(hi.parsed.serialHex, '0080AABBCC');
    const crl = await makeCrl(c.intermediate, { entries: [{ serial: '80aabbcc' }] });
    assert.equal(checkCrls(hi.parsed, c.intermediate.parsed, [crl], now(), false).status, 'revoked');
  });
});

describe('CRLs through verifyCertificate (VerifyOptions.crls)', () => {
  let c: LabChain;
  before(async () => {
    c = await makeChain({ names: ['verify-crl.example.test'] });
  });
  const verify = (crls: readonly Crl[], extra: Partial<VerifyOptions> = {}) =>
    verifyCertificate({
      leaf: c.leaf.parsed,
      intermediates: [c.intermediate.parsed],
      anchors: [c.root.parsed],
      time: NOW,
      expectedNames: [{ kind: 'dns', value: 'verify-crl.example.test' }],
      crls,
      ...extra,
    });

  test('a revoked leaf: a critical `revoked` finding naming the certificate, serial, date, reason and CRL', async () => {
    const when = at(Date.UTC(2024, 4, 6, 7, 8, 9));
    const crl = await makeCrl(c.intermediate, {
      entries: [
        { serial: '01' },
        { serial: c.leaf.parsed.serialHex, date: when, reason: x509.X509CrlReason.keyCompromise },
        { serial: '02' },
      ],
    });
    const r = verify([crl]);
    assert.equal(r.valid, false);
    const revoked = r.findings.filter((f) => f.code === 'revoked');
    assert.equal(revoked.length, 1);
    const f = revoked[0]!;
    assert.equal(f.severity, 'critical');
    assert.equal(f.certIndex, 0);
    assert.equal(
      f.message,
      `the leaf certificate (CN=verify-crl.example.test) (serial ${c.leaf.parsed.serialHex}) was revoked on 2024-05-06T07:08:09Z (keyCompromise) according to the CRL from ${c.intermediate.parsed.subject.text}`,
    );
    assert.deepEqual(
      r.findings.filter((x) => x.severity === 'critical').map((x) => x.code),
      ['revoked'],
    );
  });

  test('not on the CRL: valid, with no finding at all', async () => {
    const crl = await makeCrl(c.intermediate, { entries: [{ serial: '0BADC0DE' }, { serial: '0FEED0' }] });
    const r = verify([crl]);
    assert.equal(r.valid, true, JSON.stringify(r.findings));
    assert.deepEqual(r.findings, []);
  });

  test('a CRL without cRLNumber: revocation-unknown by revocation mode, never by conformance mode', async () => {
    const crl = await makeCrl(c.intermediate, { number: null, entries: [{ serial: '0BADC0DE' }] });
    for (const conformance of ['enforce', 'warn'] as const) {
      const soft = verify([crl], { conformance });
      assert.equal(soft.valid, true, 'soft mode: a warning');
      assert.deepEqual(
        soft.findings.map((x) => [x.code, x.severity]),
        [['revocation-unknown', 'warning']],
      );
      const f = soft.findings[0]!;
      assert.equal(f.certIndex, 0);
      assert.ok(
        f.message.includes(
          `revocation status unknown (soft revocation mode): the CRL from ${c.intermediate.parsed.subject.text} has no cRLNumber`,
        ),
        f.message,
      );
      const hard = verify([crl], { conformance, crlPolicy: { mode: 'hard' } });
      assert.equal(hard.valid, false);
      assert.deepEqual(
        hard.findings.map((x) => [x.code, x.severity]),
        [['revocation-unknown', 'critical']],
      );
    }
  });

  test('a stale CRL: revocation-unknown naming the date; a serial it lists is revoked all the same', async () => {
    const nextUpdate = at(NOW.getTime() - DAY);
    const staleEmpty = await makeCrl(c.intermediate, {
      thisUpdate: at(NOW.getTime() - 10 * DAY),
      nextUpdate,
    });
    const r = verify([staleEmpty]);
    const f = r.findings.find((x) => x.code === 'revocation-unknown')!;
    assert.equal(f.severity, 'warning');
    assert.match(
      f.message,
      new RegExp(`is stale \\(nextUpdate ${nextUpdate.toISOString().replace('.000Z', 'Z')}\\)`),
    );
    assert.equal(verify([staleEmpty], { crlPolicy: { mode: 'hard' } }).valid, false);
    const stale = await makeCrl(c.intermediate, {
      thisUpdate: at(NOW.getTime() - 10 * DAY),
      nextUpdate,
      entries: [{ serial: c.leaf.parsed.serialHex }],
    });
    for (const mode of ['soft', 'hard'] as const)
      for (const conformance of ['enforce', 'warn'] as const) {
        const v = verify([stale], { conformance, crlPolicy: { mode } });
        assert.equal(v.valid, false, 'staleness cannot un-revoke');
        const rv = v.findings.find((x) => x.code === 'revoked');
        assert.equal(rv?.severity, 'critical');
        assert.match(rv!.message, /is stale .*a revocation stands regardless/);
      }
  });

  test('requireCoverage: a certificate whose issuer has no supplied CRL is unknown (as CRL_CHECK_ALL)', async () => {
    const leafOnly = await makeCrl(c.intermediate);
    assert.equal(verify([leafOnly]).valid, true);
    assert.deepEqual(verify([leafOnly]).findings, []);
    const all = verify([leafOnly], { crlPolicy: { mode: 'hard', requireCoverage: true } });
    assert.equal(all.valid, false);
    const f = all.findings.find((x) => x.code === 'revocation-unknown')!;
    assert.equal(f.certIndex, 1, 'the intermediate: the root published no CRL here');
    assert.match(f.message, /no supplied CRL is issued by/);
    const both = verify([leafOnly, await makeCrl(c.root)], {
      crlPolicy: { mode: 'hard', requireCoverage: true },
    });
    assert.equal(both.valid, true, JSON.stringify(both.findings));
  });

  test('a CRL from a different CA listing the same serial is ignored', async () => {
    const other = await issue({ subject: 'CN=Other CA,O=elsewhere', ca: true });
    const crl = await makeCrl(other, { entries: [{ serial: c.leaf.parsed.serialHex }] });
    const r = verify([crl]);
    assert.equal(r.valid, true, JSON.stringify(r.findings));
    assert.deepEqual(r.findings, []);
  });

  test('an intermediate revoked on the root’s CRL is reported at its index', async () => {
    const r = verify([
      await makeCrl(c.root, { entries: [{ serial: c.intermediate.parsed.serialHex }] }),
      await makeCrl(c.intermediate),
    ]);
    assert.equal(r.valid, false);
    const f = r.findings.filter((x) => x.code === 'revoked');
    assert.deepEqual(
      f.map((x) => x.certIndex),
      [1],
    );
    assert.match(f[0]!.message, /the intermediate certificate|CN=certvet Test Intermediate/);
  });

  test('a CRL with 100,000 entries: the verify call stays fast', async () => {
    const entries: { serial: string; revokedAt: Date; reason: number }[] = [];
    for (let i = 0; i < 100_000; i++)
      entries.push({
        serial: (0x40000000 + i * 7).toString(16),
        revokedAt: at(NOW.getTime() - DAY),
        reason: 4,
      });
    // The leaf is somewhere in the middle, not first or last.
    entries.splice(61_234, 0, {
      serial: c.leaf.parsed.serialHex,
      revokedAt: at(Date.UTC(2025, 0, 2, 3, 4, 5)),
      reason: 1,
    });
    const big = parseCrl(await buildCrl({ issuer: c.intermediate, entries, number: 99 }));
    assert.equal(big.revoked.size, 100_001);
    assert.deepEqual(big.defects, []);
    const t0 = performance.now();
    const r = verify([big]);
    const first = performance.now() - t0;
    assert.ok(first < 1000, `the first verification (CRL signature included) took ${first.toFixed(1)} ms`);
    const f = r.findings.filter((x) => x.code === 'revoked');
    assert.equal(f.length, 1);
    assert.match(f[0]!.message, /revoked on 2025-01-02T03:04:05Z \(keyCompromise\)/);
    const t1 = performance.now();
    for (let i = 0; i < 50; i++) verify([big]);
    const per = (performance.now() - t1) / 50;
    assert.ok(per < 150, `verification with a 100k-entry CRL took ${per.toFixed(1)} ms`);
    // Look-ups of absent and present serials alike do not scan the list.
    const t2 = performance.now();
    let hits = 0;
    for (let i = 0; i < 20_000; i++)
      if (big.revoked.get((0x40000000 + i * 5).toString(16).toUpperCase())) hits++;
    assert.ok(performance.now() - t2 < 500, 'look-ups are map accesses');
    assert.equal(hits, Math.floor((20_000 - 1) / 7) + 1, 'every multiple of 7 offset is on the list');
  });
});
