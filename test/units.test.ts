import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { issue, makeChain, x509 } from '../src/lab/pki.js';
import { NameConstraintState } from '../src/verify/nameConstraints.js';
import {
  dnsSyntaxError,
  isPublicSuffix,
  matchDnsName,
  normalizeReferenceDns,
} from '../src/verify/names/dns.js';
import { emailConstraintError, mailboxWithinSubtree, parseMailbox } from '../src/verify/names/email.js';
import { ipConstraintError, ipWithinSubtree, parseIp } from '../src/verify/names/ip.js';
import { parseCertificate } from '../src/x509/certificate.js';
import { checkDerStrict, DerError, readSingle, readTlv } from '../src/x509/der.js';
import { loadCertificates } from '../src/x509/load.js';
import { PemError, readPemBlocks } from '../src/x509/pem.js';
import { decodeTime } from '../src/x509/time.js';

const b = (...bytes: number[]) => new Uint8Array(bytes);
const time = (tag: number, text: string) =>
  decodeTime(readSingle(new Uint8Array([tag, text.length, ...Buffer.from(text, 'latin1')])));

describe('DER framing is strict', () => {
  test('rejects indefinite and non-minimal lengths, truncation and trailing bytes', () => {
    assert.throws(() => readTlv(b(0x30, 0x80, 0, 0), 0), /indefinite length/);
    assert.throws(() => readTlv(b(0x04, 0x81, 0x01, 0xaa), 0), /non-minimal length/);
    assert.throws(() => readTlv(b(0x04, 0x82, 0x00, 0x01, 0xaa), 0), /non-minimal length/);
    assert.throws(() => readTlv(b(0x04, 0x05, 1, 2), 0), /truncated value/);
    assert.throws(() => readSingle(b(0x05, 0x00, 0x00)), /trailing bytes/);
    assert.throws(
      () => checkDerStrict(readSingle(b(0x02, 0x02, 0x00, 0x01))),
      /INTEGER not minimally encoded/,
    );
    assert.throws(() => checkDerStrict(readSingle(b(0x01, 0x01, 0x01))), /BOOLEAN not DER/);
    assert.throws(
      () => checkDerStrict(readSingle(b(0x24, 0x03, 0x04, 0x01, 0x00))),
      /constructed encoding of a primitive/,
    );
    assert.doesNotThrow(() => checkDerStrict(readSingle(b(0x30, 0x03, 0x02, 0x01, 0x7f))));
  });
});

describe('PEM', () => {
  test('reads several blocks with junk between them and CRLF line ends', async () => {
    const c = await makeChain();
    const text = `Bag Attributes\r\n${c.leaf.pem.replace(/\n/g, '\r\n')}some text\n\n${c.intermediate.pem}trailer`;
    const blocks = readPemBlocks(text);
    assert.equal(blocks.length, 2);
    assert.deepEqual(Buffer.from(blocks[0]!.der), Buffer.from(c.leaf.der));
    assert.equal(blocks[0]!.line, 2);
  });
  test('errors name the line', () => {
    assert.throws(
      () => readPemBlocks('x\n-----BEGIN CERTIFICATE-----\nAAAA\n'),
      (e: Error) => e instanceof PemError && /line 2: CERTIFICATE block is never closed/.test(e.message),
    );
    assert.throws(
      () => readPemBlocks('-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n'),
      /not valid base64/,
    );
    assert.throws(
      () => readPemBlocks('-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n'),
      /does not close/,
    );
  });
});

describe('Time (RFC 5280 §4.1.2.5)', () => {
  test('accepts the two strict forms and the 1950/2049 pivot', () => {
    assert.equal(time(23, '491231235959Z').seconds, Date.UTC(2049, 11, 31, 23, 59, 59) / 1000);
    assert.equal(time(23, '500101000000Z').seconds, Date.UTC(1950, 0, 1) / 1000);
    assert.equal(time(24, '20500101000000Z').seconds, Date.UTC(2050, 0, 1) / 1000);
  });
  test('rejects fractions, offsets, missing seconds and impossible dates', () => {
    for (const [tag, t] of [
      [24, '20240301000000.5Z'],
      [23, '2403010000Z'],
      [23, '240301000000+0100'],
      [23, '241301000000Z'],
      [23, '240230000000Z'],
      [24, '20240301250000Z'],
    ] as const)
      assert.throws(() => time(tag, t), DerError, t);
  });
});

describe('certificate loading', () => {
  test('a flipped signature byte still parses (and fails verification later)', async () => {
    const c = await makeChain();
    const der = new Uint8Array(c.leaf.der);
    der[der.length - 5]! ^= 0xff;
    assert.doesNotThrow(() => parseCertificate(der));
  });
  test('duplicate extensions are a defect of the certificate', async () => {
    const root = await issue({ subject: 'CN=R', ca: true });
    const dup = await issue({
      subject: 'CN=dup',
      issuer: root,
      extensions: [
        new x509.Extension('1.2.3.4', false, b(0x05, 0x00)),
        new x509.Extension('1.2.3.4', false, b(0x05, 0x00)),
      ],
    });
    assert.ok(dup.parsed.defects.some((d) => /appears more than once/.test(d.message)));
  });
  test('problems name the block; key material is never echoed', async () => {
    const r = loadCertificates(
      Buffer.from('junk\n-----BEGIN RSA PRIVATE KEY-----\nQUJD\n-----END RSA PRIVATE KEY-----\n'),
      'k.pem',
    );
    assert.equal(r.certificates.length, 0);
    assert.match(r.problems[0]!.source, /k\.pem \(PEM block 1, line 2\)/);
    assert.ok(!JSON.stringify(r.problems).includes('QUJD'));
  });
});

describe('DNS names (RFC 1034/1123, RFC 6125)', () => {
  test('syntax', () => {
    assert.equal(dnsSyntaxError('example.com'), null);
    assert.equal(dnsSyntaxError('3com.example'), null);
    assert.match(dnsSyntaxError('foo_bar.example')!, /underscore/);
    assert.match(dnsSyntaxError('.example.com')!, /starts with a dot/);
    assert.match(dnsSyntaxError('8.8.8.8')!, /all-numeric/);
    assert.match(dnsSyntaxError('-a.example')!, /invalid label/);
    assert.equal(dnsSyntaxError('*.example.com', { allowWildcard: true }), null);
    assert.match(dnsSyntaxError('a*.example.com', { allowWildcard: true })!, /wildcard/);
  });
  test('reference names: case, trailing dot, IDNA', () => {
    assert.equal(normalizeReferenceDns('WWW.Example.COM.'), 'www.example.com');
    assert.equal(normalizeReferenceDns('bücher.example'), 'xn--bcher-kva.example');
    assert.equal(normalizeReferenceDns('bad host'), null);
  });
  test('wildcards: whole leftmost label, exactly one label, never over a public suffix', () => {
    const web = { publicSuffixCheck: true };
    const plain = { publicSuffixCheck: false };
    assert.ok(matchDnsName('*.example.com', 'foo.example.com', web));
    assert.ok(matchDnsName('EXAMPLE.com.', 'example.com', web));
    assert.ok(!matchDnsName('*.example.com', 'example.com', web));
    assert.ok(!matchDnsName('*.example.com', 'a.b.example.com', web));
    assert.ok(!matchDnsName('f*.example.com', 'foo.example.com', web));
    assert.ok(!matchDnsName('foo.*.com', 'foo.bar.com', web));
    assert.ok(!matchDnsName('*', 'com', web));
    assert.ok(!matchDnsName('*.com', 'example.com', plain), 'a single label is never enough');
    assert.ok(!matchDnsName('*.co.uk', 'example.co.uk', web));
    assert.ok(matchDnsName('*.co.uk', 'example.co.uk', plain));
    assert.ok(!matchDnsName('*.s3.amazonaws.com', 'bucket.s3.amazonaws.com', web), 'PSL private section');
    assert.ok(isPublicSuffix('github.io'));
    assert.ok(!isPublicSuffix('example.com'));
  });
});

describe('IP addresses', () => {
  test('parsing is strict for IPv4 and complete for IPv6', () => {
    assert.deepEqual(parseIp('192.0.2.1'), b(192, 0, 2, 1));
    assert.equal(parseIp('192.000.2.1'), null);
    assert.equal(parseIp('0xC0000201'), null);
    assert.deepEqual(parseIp('::1'), b(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
    assert.deepEqual(parseIp('[2001:db8::1]'), parseIp('2001:0DB8:0:0:0:0:0:1'));
    assert.deepEqual(parseIp('::ffff:192.0.2.1')!.subarray(10), b(0xff, 0xff, 192, 0, 2, 1));
    assert.equal(parseIp('fe80::1%eth0'), null);
  });
  test('subtrees and constraint syntax', () => {
    assert.ok(ipWithinSubtree(b(192, 0, 2, 77), b(192, 0, 2, 0, 255, 255, 255, 0)));
    assert.ok(!ipWithinSubtree(b(192, 0, 3, 1), b(192, 0, 2, 0, 255, 255, 255, 0)));
    assert.ok(!ipWithinSubtree(parseIp('::1')!, b(192, 0, 2, 0, 255, 255, 255, 0)), 'families never mix');
    assert.equal(ipConstraintError(b(10, 0, 0, 0, 255, 0, 0, 0)), null);
    assert.match(ipConstraintError(b(10, 0, 0, 0, 255, 0, 255, 0))!, /non-contiguous/);
    assert.match(ipConstraintError(b(10, 0, 0, 1))!, /4 bytes/);
  });
});

describe('email', () => {
  test('mailboxes and constraints (RFC 5280 §4.2.1.10)', () => {
    assert.deepEqual(parseMailbox('Foo@Example.COM'), { local: 'Foo', domain: 'example.com' });
    assert.equal(parseMailbox('a@b@example.com'), null);
    const m = parseMailbox('user@mail.example.com')!;
    assert.ok(mailboxWithinSubtree(m, 'mail.example.com'));
    assert.ok(mailboxWithinSubtree(m, '.example.com'));
    assert.ok(!mailboxWithinSubtree(m, 'example.com'));
    assert.ok(mailboxWithinSubtree(m, 'user@MAIL.example.com'));
    assert.ok(!mailboxWithinSubtree(m, 'User@mail.example.com'), 'local part is case-sensitive');
    assert.equal(emailConstraintError('invalid@invalid@example.com'), 'is not a valid mailbox');
  });
});

describe('name constraints state', () => {
  const dns = (value: string) => ({ base: { type: 'dns' as const, value }, hasMinMax: false });
  test('every permitted set must be satisfied; exclusions accumulate; wildcards count as all they match', () => {
    const s = new NameConstraintState();
    s.add(
      {
        permitted: [dns('example.com'), dns('example.net')],
        excluded: [],
        hasPermitted: true,
        hasExcluded: false,
      },
      'CA1',
    );
    s.add(
      {
        permitted: [dns('example.com')],
        excluded: [dns('bad.example.com')],
        hasPermitted: true,
        hasExcluded: true,
      },
      'CA2',
    );
    assert.deepEqual(s.check([{ type: 'dns', value: 'www.example.com' }]), []);
    assert.equal(
      s.check([{ type: 'dns', value: 'www.example.net' }]).length,
      1,
      'CA2 does not permit example.net',
    );
    assert.equal(s.check([{ type: 'dns', value: 'x.bad.example.com' }]).length, 1);
    assert.equal(
      s.check([{ type: 'dns', value: '*.example.com' }]).length,
      1,
      '*.example.com can be bad.example.com',
    );
    assert.deepEqual(s.check([{ type: 'ip', bytes: b(10, 0, 0, 1) }]), [], 'no IP constraints, any IP');
  });
});

test('one duration grammar: ms, s, m, h, d, bare seconds; config numbers are seconds, library numbers milliseconds', async () => {
  const { parseDurationText, configDurationMs } = await import('../src/util/duration.js');
  const { parseDuration } = await import('../src/cli/parse.js');
  const { durationMs } = await import('../src/check/checker.js');
  for (const [text, ms] of [
    ['500ms', 500],
    ['10s', 10_000],
    ['10', 10_000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['4h', 14_400_000],
    ['1d', 86_400_000],
    [' 30 s ', 30_000],
  ] as const)
    assert.equal(parseDurationText(text), ms, text);
  for (const bad of ['', 's', '-1s', '10 minutes', '1w', '1e3', 'NaN'])
    assert.equal(parseDurationText(bad), null, bad);
  assert.equal(configDurationMs(3), 3000);
  assert.equal(configDurationMs('3'), 3000);
  assert.equal(durationMs(3, 'timeout'), 3, 'a library number is milliseconds');
  assert.equal(durationMs('3', 'timeout'), 3000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.throws(() => parseDuration('1d'), /out of range/);
  assert.throws(() => durationMs('2h', 'timeout'), /timeout/);
});
