import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { seq, tlv } from '../src/lab/derWriter.js';
import { type IssuedCert, issue, x509 } from '../src/lab/pki.js';
import { constraintError, NameConstraintState } from '../src/verify/nameConstraints.js';
import {
  dnsSyntaxError,
  dnsWithinSubtree,
  isPublicSuffix,
  matchDnsName,
  normalizeReferenceDns,
} from '../src/verify/names/dns.js';
import {
  emailConstraintError,
  mailboxEquals,
  mailboxWithinSubtree,
  parseMailbox,
} from '../src/verify/names/email.js';
import { ipConstraintError, ipWithinSubtree, parseIp } from '../src/verify/names/ip.js';
import { verifyCertificate } from '../src/verify/verify.js';
import { readSingle } from '../src/x509/der.js';
import type { GeneralSubtree, NameConstraints } from '../src/x509/extensions.js';
import type { GeneralName } from '../src/x509/generalName.js';
import { type DistinguishedName, decodeName } from '../src/x509/name.js';

const b = (...bytes: number[]) => new Uint8Array(bytes);
const hex = (u: Uint8Array | null) => (u ? Buffer.from(u).toString('hex') : null);
const WEB = { publicSuffixCheck: true };
const PLAIN = { publicSuffixCheck: false };

/** A DER Name in the order written (most general RDN first when written C=..,O=..). */
const dn = (s: string): DistinguishedName =>
  decodeName(readSingle(new Uint8Array(new x509.Name(s).toArrayBuffer())));

/** An iPAddress constraint (address then mask) from CIDR text. */
function cidr(text: string): Uint8Array {
  const [addr, len] = text.split('/');
  const a = parseIp(addr!)!;
  const mask = new Uint8Array(a.length);
  for (let i = 0; i < Number(len); i++) mask[i >> 3]! |= 0x80 >> (i & 7);
  return new Uint8Array([...a, ...mask]);
}

const dns = (value: string): GeneralName => ({ type: 'dns', value });
const email = (value: string): GeneralName => ({ type: 'email', value });
const uri = (value: string): GeneralName => ({ type: 'uri', value });
const ip = (text: string): GeneralName => ({ type: 'ip', bytes: parseIp(text)! });
const ipNet = (text: string): GeneralName => ({ type: 'ip', bytes: cidr(text) });
const dir = (text: string): GeneralName => ({ type: 'dirName', name: dn(text) });
const st = (base: GeneralName): GeneralSubtree => ({ base, hasMinMax: false });
const nc = (permitted: GeneralName[], excluded: GeneralName[] = []): NameConstraints => ({
  permitted: permitted.map(st),
  excluded: excluded.map(st),
  hasPermitted: permitted.length > 0,
  hasExcluded: excluded.length > 0,
});
const state = (...sets: [NameConstraints, string][]) => {
  const s = new NameConstraintState();
  for (const [c, by] of sets) s.add(c, by);
  return s;
};

describe('dns.ts: dnsSyntaxError (RFC 1034/1123 preferred syntax)', () => {
  test('valid names, including digit-first labels, hyphens inside and A-labels', () => {
    for (const n of ['example.com', 'a', '3com.example', 'a-b.example', 'xn--bcher-kva.example', 'a.b.c.d.e'])
      assert.equal(dnsSyntaxError(n), null, n);
  });

  test('each kind of invalid name says why', () => {
    assert.match(dnsSyntaxError('')!, /is empty/);
    assert.match(dnsSyntaxError('.example.com')!, /starts with a dot/);
    assert.match(dnsSyntaxError('example.com.')!, /ends with a dot/);
    assert.match(dnsSyntaxError('a..example')!, /has an empty label/);
    assert.match(dnsSyntaxError('foo_bar.example')!, /underscore/);
    assert.match(dnsSyntaxError('-a.example')!, /invalid label "-a"/);
    assert.match(dnsSyntaxError('a-.example')!, /invalid label "a-"/);
    assert.match(dnsSyntaxError('ex ample.com')!, /invalid label/);
    assert.match(dnsSyntaxError('bücher.example')!, /invalid label/);
    assert.match(dnsSyntaxError('192.0.2.1')!, /all-numeric top-level label/);
    assert.match(dnsSyntaxError('example.123')!, /all-numeric/);
    assert.equal(dnsSyntaxError('123.example'), null, 'only the last label is special');
  });

  test('length limits: 63 per label, 253 in all', () => {
    assert.equal(dnsSyntaxError(`${'a'.repeat(63)}.com`), null);
    assert.match(dnsSyntaxError(`${'a'.repeat(64)}.com`)!, /invalid label/);
    const at253 = [...Array(4).fill('a'.repeat(62)), 'b'].join('.');
    assert.equal(at253.length, 253);
    assert.equal(dnsSyntaxError(at253), null);
    assert.match(dnsSyntaxError(`a${at253}`)!, /longer than 253/);
  });

  test('wildcards only when allowed, only as the whole leftmost label, never bare', () => {
    const w = { allowWildcard: true };
    assert.match(dnsSyntaxError('*.example.com')!, /wildcard/);
    assert.equal(dnsSyntaxError('*.example.com', w), null);
    assert.match(dnsSyntaxError('*', w)!, /bare wildcard/);
    assert.match(dnsSyntaxError('a*.example.com', w)!, /not the whole leftmost label/);
    assert.match(dnsSyntaxError('*a.example.com', w)!, /not the whole leftmost label/);
    assert.match(dnsSyntaxError('foo.*.example.com', w)!, /not the whole leftmost label/);
    assert.match(dnsSyntaxError('*.*.example.com', w)!, /not the whole leftmost label/);
  });
});

describe('dns.ts: normalizeReferenceDns', () => {
  test('lower-cases and drops one trailing dot', () => {
    assert.equal(normalizeReferenceDns('WWW.Example.COM.'), 'www.example.com');
    assert.equal(normalizeReferenceDns('  host.example  '), 'host.example');
    assert.equal(normalizeReferenceDns('example.com..'), null, 'only one trailing dot');
  });

  test('Unicode names become A-labels (IDNA), whatever their case', () => {
    assert.equal(normalizeReferenceDns('bücher.example'), 'xn--bcher-kva.example');
    assert.equal(normalizeReferenceDns('BÜCHER.Example.'), 'xn--bcher-kva.example');
    assert.equal(normalizeReferenceDns('www.münchen.de'), 'www.xn--mnchen-3ya.de');
    assert.equal(normalizeReferenceDns('xn--bcher-kva.example'), 'xn--bcher-kva.example');
  });

  test('what is not a host name is null: empty, wildcards, IP literals, underscores, spaces', () => {
    for (const n of [
      '',
      '.',
      '*.example.com',
      '192.0.2.1',
      'foo_bar.example',
      'bad host',
      'a..b',
      '-x.example',
    ])
      assert.equal(normalizeReferenceDns(n), null, JSON.stringify(n));
  });
});

describe('dns.ts: matchDnsName (RFC 6125 §6.4)', () => {
  test('exact names: case-insensitive on the presented side, one trailing dot ignored', () => {
    assert.ok(matchDnsName('www.example.com', 'www.example.com', WEB));
    assert.ok(matchDnsName('WWW.EXAMPLE.com.', 'www.example.com', WEB));
    assert.ok(!matchDnsName('www.example.com', 'example.com', WEB));
    assert.ok(!matchDnsName('example.com', 'www.example.com', WEB));
    assert.ok(
      !matchDnsName('foo_bar.example.com', 'foo_bar.example.com', WEB),
      'invalid presented names never match',
    );
  });

  test('a wildcard is the whole leftmost label and covers exactly one label', () => {
    assert.ok(matchDnsName('*.example.com', 'foo.example.com', WEB));
    assert.ok(matchDnsName('*.Example.COM', 'foo.example.com', WEB));
    assert.ok(!matchDnsName('*.example.com', 'example.com', WEB), 'not zero labels');
    assert.ok(!matchDnsName('*.example.com', 'a.b.example.com', WEB), 'not two labels');
    assert.ok(!matchDnsName('*.example.com', 'foo.example.net', WEB));
    assert.ok(!matchDnsName('f*.example.com', 'foo.example.com', WEB), 'no partial-label wildcards');
    assert.ok(!matchDnsName('*o.example.com', 'foo.example.com', WEB));
    assert.ok(!matchDnsName('foo.*.example.com', 'foo.bar.example.com', WEB), 'only leftmost');
    assert.ok(!matchDnsName('*.*.example.com', 'a.b.example.com', WEB));
  });

  test('never a bare "*" and never "*.<single label>", with or without the PSL', () => {
    for (const p of [WEB, PLAIN]) {
      assert.ok(!matchDnsName('*', 'com', p));
      assert.ok(!matchDnsName('*', 'example', p));
      assert.ok(!matchDnsName('*.com', 'example.com', p));
      assert.ok(!matchDnsName('*.example', 'foo.example', p));
      assert.ok(!matchDnsName('*.', 'foo', p));
    }
  });

  test('with publicSuffixCheck, no wildcard over a public suffix (ICANN and private sections)', () => {
    assert.ok(isPublicSuffix('co.uk'));
    assert.ok(isPublicSuffix('s3.amazonaws.com'));
    assert.ok(isPublicSuffix('github.io'));
    assert.ok(!isPublicSuffix('example.co.uk'));
    assert.ok(!isPublicSuffix('foo.example'));
    assert.ok(!matchDnsName('*.co.uk', 'example.co.uk', WEB));
    assert.ok(!matchDnsName('*.s3.amazonaws.com', 'bucket.s3.amazonaws.com', WEB));
    assert.ok(!matchDnsName('*.github.io', 'someone.github.io', WEB));
    assert.ok(matchDnsName('*.example.co.uk', 'www.example.co.uk', WEB));
    assert.ok(matchDnsName('*.someone.github.io', 'x.someone.github.io', WEB));
  });

  test('without it, a wildcard needs only two labels after the star', () => {
    assert.ok(matchDnsName('*.co.uk', 'example.co.uk', PLAIN));
    assert.ok(matchDnsName('*.s3.amazonaws.com', 'bucket.s3.amazonaws.com', PLAIN));
    assert.ok(matchDnsName('*.foo.example', 'bar.foo.example', PLAIN));
    assert.ok(matchDnsName('*.foo.example', 'bar.foo.example', WEB), 'foo.example is not a public suffix');
    assert.ok(!matchDnsName('*.foo.example', 'foo.example', PLAIN));
  });

  test('IDN references match A-label SANs, wildcard or not', () => {
    const ref = normalizeReferenceDns('www.Bücher.example')!;
    assert.ok(matchDnsName('www.xn--bcher-kva.example', ref, WEB));
    assert.ok(matchDnsName('*.xn--bcher-kva.example', ref, WEB));
    assert.ok(!matchDnsName('*.bücher.example', ref, WEB), 'a U-label SAN is not valid');
  });

  test('dnsWithinSubtree: the name itself or anything below, on label boundaries', () => {
    assert.ok(dnsWithinSubtree('example.com', 'example.com'));
    assert.ok(dnsWithinSubtree('a.b.Example.com', 'EXAMPLE.com'));
    assert.ok(!dnsWithinSubtree('badexample.com', 'example.com'));
    assert.ok(!dnsWithinSubtree('example.com', 'www.example.com'));
    assert.ok(dnsWithinSubtree('anything', ''));
  });
});

describe('ip.ts: parseIp', () => {
  test('IPv4 is strict dotted decimal', () => {
    assert.equal(hex(parseIp('192.0.2.1')), 'c0000201');
    assert.equal(hex(parseIp('0.0.0.0')), '00000000');
    assert.equal(hex(parseIp('255.255.255.255')), 'ffffffff');
    assert.equal(hex(parseIp(' 10.0.0.1 ')), '0a000001');
    for (const bad of [
      '192.000.2.1',
      '01.2.3.4',
      '1.2.3.04',
      '010.0.0.1',
      '0xC0000201',
      '0xc0.0.2.1',
      '3221225985',
      '1.2.3',
      '1.2.3.4.',
      '256.0.0.1',
      '1.2.3.-1',
      '',
    ])
      assert.equal(parseIp(bad), null, bad);
  });

  test('IPv6: every RFC 4291 text form, brackets accepted, zones refused', () => {
    const v6 = (s: string) => hex(parseIp(s));
    assert.equal(v6('::'), '0'.repeat(32));
    assert.equal(v6('::1'), `${'0'.repeat(31)}1`);
    assert.equal(v6('1::'), `0001${'0'.repeat(28)}`);
    assert.equal(v6('[::1]'), v6('::1'));
    assert.equal(v6('2001:DB8::1'), '20010db8000000000000000000000001');
    assert.equal(v6('2001:0db8:0000:0000:0000:0000:0000:0001'), v6('2001:db8::1'));
    assert.equal(v6('1:2:3:4:5:6:7:8'), '00010002000300040005000600070008');
    assert.equal(v6('1:2:3:4:5:6:7::'), '00010002000300040005000600070000');
    assert.equal(v6('::2:3:4:5:6:7:8'), '00000002000300040005000600070008');
    assert.equal(v6('fe80::1:2'), 'fe800000000000000000000000010002');
    assert.equal(v6('::ffff:1.2.3.4'), '00000000000000000000ffff01020304');
    assert.equal(v6('[::ffff:192.0.2.1]'), '00000000000000000000ffffc0000201');
    assert.equal(v6('::1.2.3.4'), '00000000000000000000000001020304');
    assert.equal(v6('1:2:3:4:5:6:1.2.3.4'), '00010002000300040005000601020304');
    assert.equal(v6('64:ff9b::192.0.2.33'), '0064ff9b0000000000000000c0000221');
    for (const bad of [
      'fe80::1%eth0',
      '[fe80::1%25eth0]',
      '1::2::3',
      ':::',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      '[::1',
      '::1]',
      '::ffff:01.2.3.4',
      '::ffff:1.2.3',
      'g::1',
    ])
      assert.equal(parseIp(bad), null, bad);
  });

  test('parses are 4 or 16 bytes and independent arrays', () => {
    const a = parseIp('192.0.2.1')!;
    a[0] = 0;
    assert.equal(hex(parseIp('192.0.2.1')), 'c0000201');
    assert.equal(parseIp('::')!.length, 16);
  });
});

describe('ip.ts: subtrees and constraint syntax', () => {
  test('ipWithinSubtree compares under the mask, per family', () => {
    assert.ok(ipWithinSubtree(parseIp('192.0.2.77')!, cidr('192.0.2.0/24')));
    assert.ok(!ipWithinSubtree(parseIp('192.0.3.1')!, cidr('192.0.2.0/24')));
    assert.ok(ipWithinSubtree(parseIp('10.255.1.1')!, cidr('10.0.0.0/8')));
    assert.ok(ipWithinSubtree(parseIp('192.0.2.1')!, cidr('192.0.2.1/32')));
    assert.ok(!ipWithinSubtree(parseIp('192.0.2.2')!, cidr('192.0.2.1/32')));
    assert.ok(ipWithinSubtree(parseIp('203.0.113.9')!, cidr('0.0.0.0/0')), '/0 holds every IPv4 address');
    assert.ok(ipWithinSubtree(parseIp('2001:db8:1::1')!, cidr('2001:db8::/32')));
    assert.ok(!ipWithinSubtree(parseIp('2001:db9::1')!, cidr('2001:db8::/32')));
    assert.ok(ipWithinSubtree(parseIp('2001:db8::7f')!, cidr('2001:db8::/121')));
    assert.ok(!ipWithinSubtree(parseIp('2001:db8::80')!, cidr('2001:db8::/121')));
  });

  test('families never mix, not even IPv4-mapped addresses', () => {
    assert.ok(!ipWithinSubtree(parseIp('::1')!, cidr('0.0.0.0/0')));
    assert.ok(!ipWithinSubtree(parseIp('::ffff:10.1.2.3')!, cidr('10.0.0.0/8')));
    assert.ok(!ipWithinSubtree(parseIp('10.1.2.3')!, cidr('::/0')));
    assert.ok(!ipWithinSubtree(b(10, 1, 2), cidr('10.0.0.0/8')), 'a malformed address is never inside');
  });

  test('ipConstraintError: 8 or 32 bytes, and a contiguous (CIDR) mask', () => {
    assert.equal(ipConstraintError(cidr('10.0.0.0/8')), null);
    assert.equal(ipConstraintError(cidr('0.0.0.0/0')), null);
    assert.equal(ipConstraintError(cidr('192.0.2.1/32')), null);
    assert.equal(ipConstraintError(cidr('2001:db8::/32')), null);
    assert.equal(ipConstraintError(cidr('::/0')), null);
    assert.equal(ipConstraintError(cidr('2001:db8::1/128')), null);
    assert.match(ipConstraintError(b(10, 0, 0, 0, 255, 0, 255, 0))!, /non-contiguous mask/);
    assert.match(ipConstraintError(b(10, 0, 0, 0, 0, 255, 255, 255))!, /non-contiguous mask/);
    assert.match(ipConstraintError(b(10, 0, 0, 0, 0xfe, 0xff, 0, 0))!, /non-contiguous mask/);
    const v6 = cidr('2001:db8::/32');
    v6[31] = 1;
    assert.match(ipConstraintError(v6)!, /non-contiguous mask/);
    assert.match(ipConstraintError(b(10, 0, 0, 1))!, /is 4 bytes \(must be 8 or 32/);
    assert.match(ipConstraintError(new Uint8Array(16))!, /is 16 bytes/);
    assert.match(ipConstraintError(new Uint8Array(9))!, /is 9 bytes/);
    assert.match(ipConstraintError(new Uint8Array(0))!, /is 0 bytes/);
  });
});

describe('email.ts', () => {
  test('parseMailbox: local part kept exactly, domain lower-cased and checked', () => {
    assert.deepEqual(parseMailbox('Foo.Bar@Example.COM'), { local: 'Foo.Bar', domain: 'example.com' });
    assert.deepEqual(parseMailbox('"a@b"@example.com'), { local: '"a@b"', domain: 'example.com' });
    assert.deepEqual(parseMailbox('"a b"@example.com'), { local: '"a b"', domain: 'example.com' });
    for (const bad of [
      'a@b@example.com',
      '@example.com',
      'user@',
      'user',
      'a b@example.com',
      'a\tb@example.com',
      'user@exa_mple.com',
      'user@example.com.',
      'user@[192.0.2.1]',
    ])
      assert.equal(parseMailbox(bad), null, bad);
  });

  test('mailboxEquals: the local part is case-sensitive, the domain is not', () => {
    assert.ok(mailboxEquals(parseMailbox('u@EXAMPLE.com')!, parseMailbox('u@example.COM')!));
    assert.ok(!mailboxEquals(parseMailbox('U@example.com')!, parseMailbox('u@example.com')!));
  });

  test('mailboxWithinSubtree: mailbox, host and domain constraints (RFC 5280 §4.2.1.10)', () => {
    const m = parseMailbox('user@mail.example.com')!;
    assert.ok(mailboxWithinSubtree(m, 'user@mail.example.com'), 'exact mailbox');
    assert.ok(mailboxWithinSubtree(m, 'user@MAIL.EXAMPLE.COM'));
    assert.ok(!mailboxWithinSubtree(m, 'other@mail.example.com'));
    assert.ok(!mailboxWithinSubtree(m, 'User@mail.example.com'));
    assert.ok(mailboxWithinSubtree(m, 'mail.example.com'), 'host: every mailbox on it');
    assert.ok(mailboxWithinSubtree(m, 'Mail.Example.com'));
    assert.ok(!mailboxWithinSubtree(m, 'example.com'), 'a host constraint does not cover sub-hosts');
    assert.ok(mailboxWithinSubtree(m, '.example.com'), 'domain: every host below it');
    assert.ok(
      !mailboxWithinSubtree(parseMailbox('user@example.com')!, '.example.com'),
      'but not the domain itself',
    );
    assert.ok(!mailboxWithinSubtree(parseMailbox('user@badexample.com')!, '.example.com'));
    assert.ok(!mailboxWithinSubtree(m, 'bad@mailbox@constraint'));
  });

  test('emailConstraintError', () => {
    for (const ok of ['user@example.com', 'example.com', '.example.com', 'EXAMPLE.COM'])
      assert.equal(emailConstraintError(ok), null, ok);
    assert.equal(emailConstraintError('a@b@example.com'), 'is not a valid mailbox');
    assert.equal(emailConstraintError('@example.com'), 'is not a valid mailbox');
    assert.equal(emailConstraintError('..example.com'), 'is not a valid host or domain');
    assert.equal(emailConstraintError(''), 'is not a valid host or domain');
    assert.equal(emailConstraintError('exa mple.com'), 'is not a valid host or domain');
  });
});

describe('nameConstraints.ts: NameConstraintState', () => {
  test('no constraints: everything passes and the state is empty', () => {
    const s = new NameConstraintState();
    assert.equal(s.isEmpty, true);
    assert.deepEqual(s.check([dns('a.example'), ip('10.0.0.1'), email('a@b.example'), dir('C=US,CN=x')]), []);
    s.add(nc([], []), 'CA');
    assert.equal(s.isEmpty, true);
  });

  test('permitted DNS: the subtree and below, on label boundaries; invalid names fail closed', () => {
    const s = state([nc([dns('example.com')]), 'CA1']);
    assert.equal(s.isEmpty, false);
    assert.deepEqual(s.check([dns('example.com'), dns('a.b.EXAMPLE.com'), dns('*.example.com')]), []);
    const out = s.check([dns('badexample.com')]);
    assert.deepEqual(out, ['DNS:badexample.com is outside the permitted DNS:example.com of CA1']);
    assert.equal(s.check([dns('bad_name.example.com')]).length, 1, 'cannot be shown to be inside');
    // A malformed permitted subtree (a dNSName with a leading dot) permits nothing, and says so.
    assert.deepEqual(state([nc([dns('.example.com')]), 'CA2']).check([dns('www.example.com')]), [
      'DNS:www.example.com is outside the permitted DNS:.example.com (malformed, so it permits nothing) of CA2',
    ]);
    assert.equal(s.check([dns('x.*.example.com')]).length, 1);
    assert.equal(s.check([dns('*.com')]).length, 1, '*.com can be names outside example.com');
  });

  test('excluded DNS: the subtree and below; case-insensitive; invalid names are treated as excluded', () => {
    const s = state([nc([], [dns('bad.example.com')]), 'CA']);
    assert.deepEqual(s.check([dns('bad.example.com')]), [
      'DNS:bad.example.com is excluded by DNS:bad.example.com in CA',
    ]);
    assert.equal(s.check([dns('X.BAD.example.com')]).length, 1);
    assert.deepEqual(s.check([dns('good.example.com'), dns('notbad.example.com')]), []);
    assert.equal(s.check([dns('bad name.example.com')]).length, 1);
  });

  test('a wildcard SAN collides with an excluded subtree one label below it, but not two', () => {
    const s = state([nc([], [dns('bar.example.com')]), 'CA']);
    assert.deepEqual(s.check([dns('*.example.com')]), [
      'DNS:*.example.com is excluded by DNS:bar.example.com in CA',
    ]);
    assert.equal(s.check([dns('*.EXAMPLE.com')]).length, 1);
    assert.equal(s.check([dns('*.bar.example.com')]).length, 1, 'inside the excluded subtree');
    assert.deepEqual(s.check([dns('*.foo.example.com')]), []);
    assert.deepEqual(s.check([dns('*.com')]), [], '*.com matches one label only: never bar.example.com');
    const deep = state([nc([], [dns('a.bar.example.com')]), 'CA']);
    assert.deepEqual(deep.check([dns('*.example.com')]), []);
  });

  test('a wildcard SAN is inside a permitted subtree only if every name it matches is', () => {
    const s = state([nc([dns('foo.example.com')]), 'CA']);
    assert.equal(s.check([dns('*.example.com')]).length, 1);
    assert.deepEqual(s.check([dns('*.foo.example.com')]), []);
  });

  test('the empty dNSName constraint: permits or excludes every DNS name', () => {
    assert.deepEqual(state([nc([dns('')]), 'CA']).check([dns('any.thing'), dns('*.x.y')]), []);
    const none = state([nc([], [dns('')]), 'CA']);
    assert.equal(none.check([dns('any.thing')]).length, 1);
    assert.equal(none.check([dns('*.x.y')]).length, 1);
    assert.deepEqual(none.check([ip('10.0.0.1')]), [], 'other forms are not affected');
  });

  test('several permitted sets must all be satisfied; exclusions from every CA accumulate', () => {
    const s = state(
      [nc([dns('example.com'), dns('example.net'), ipNet('10.0.0.0/8')], [dns('old.example.com')]), 'CA1'],
      [nc([dns('www.example.com'), dns('example.net')], [ipNet('10.9.0.0/16')]), 'CA2'],
    );
    assert.deepEqual(s.check([dns('www.example.com'), dns('a.www.example.com'), dns('x.example.net')]), []);
    assert.deepEqual(s.check([dns('api.example.com')]), [
      'DNS:api.example.com is outside the permitted DNS:www.example.com, DNS:example.net of CA2',
    ]);
    assert.deepEqual(s.check([dns('example.org')]), [
      'DNS:example.org is outside the permitted DNS:example.com, DNS:example.net of CA1',
      'DNS:example.org is outside the permitted DNS:www.example.com, DNS:example.net of CA2',
    ]);
    assert.equal(s.check([dns('old.example.com')]).length, 2, 'excluded by CA1 and not permitted by CA2');
    // CA2 has no IP permitted subtrees, so only CA1's 10/8 applies to addresses; CA2 excludes 10.9/16.
    assert.deepEqual(s.check([ip('10.1.2.3')]), []);
    assert.equal(s.check([ip('10.9.0.1')]).length, 1);
    assert.match(s.check([ip('10.9.0.1')])[0]!, /^IP:10\.9\.0\.1 is excluded by IP:.* in CA2$/);
    assert.match(s.check([ip('192.0.2.1')])[0]!, /^IP:192\.0\.2\.1 is outside the permitted .* of CA1$/);
    // A failing name is reported once per violated set; passing names add nothing.
    assert.equal(s.check([dns('www.example.com'), dns('example.org'), ip('10.1.2.3')]).length, 2);
  });

  test('IP constraints: per family; a permitted IPv4 range says nothing about IPv6 unless listed', () => {
    const v4only = state([nc([ipNet('192.0.2.0/24')]), 'CA']);
    assert.deepEqual(v4only.check([ip('192.0.2.200')]), []);
    assert.equal(v4only.check([ip('198.51.100.1')]).length, 1);
    // An IPv6 address is of the same form (iPAddress) and lies in none of the permitted ranges.
    assert.equal(v4only.check([ip('2001:db8::1')]).length, 1);
    assert.equal(v4only.check([ip('::ffff:192.0.2.1')]).length, 1, 'IPv4-mapped is IPv6');
    const both = state([nc([ipNet('192.0.2.0/24'), ipNet('2001:db8::/32')]), 'CA']);
    assert.deepEqual(both.check([ip('192.0.2.1'), ip('2001:db8:ffff::1')]), []);
    assert.equal(
      both.check([{ type: 'ip', bytes: b(192, 0, 2) }]).length,
      1,
      'a 3-byte address fails closed',
    );
    const ex = state([nc([], [ipNet('2001:db8::/32')]), 'CA']);
    assert.equal(ex.check([ip('2001:db8::1')]).length, 1);
    assert.deepEqual(ex.check([ip('2001:db9::1'), ip('192.0.2.1')]), []);
    assert.equal(
      ex.check([{ type: 'ip', bytes: b(1, 2, 3, 4, 5) }]).length,
      1,
      'malformed: treated as excluded',
    );
  });

  test('email constraints: mailbox, host and domain', () => {
    const s = state([nc([email('.example.com'), email('example.org')], [email('evil@example.org')]), 'CA']);
    assert.deepEqual(
      s.check([email('a@mail.example.com'), email('b@example.org'), email('Evil@example.org')]),
      [],
    );
    assert.equal(s.check([email('a@example.com')]).length, 1, '.example.com is below, not example.com');
    assert.equal(s.check([email('a@sub.example.org')]).length, 1, 'example.org is that host only');
    assert.deepEqual(s.check([email('evil@EXAMPLE.org')]), [
      'email:evil@EXAMPLE.org is excluded by email:evil@example.org in CA',
    ]);
    assert.equal(s.check([email('not a mailbox')]).length, 2, 'unparseable: excluded and not permitted');
  });

  test('URI constraints apply to the host: exact host, or ".domain" for hosts below', () => {
    const s = state([nc([uri('.example.com'), uri('host.example.org')], [uri('bad.example.com')]), 'CA']);
    assert.deepEqual(
      s.check([
        uri('https://www.example.com/x'),
        uri('https://user@a.b.example.com:8443/p?q'),
        uri('ldap://HOST.example.org/cn=x'),
      ]),
      [],
    );
    assert.equal(
      s.check([uri('https://example.com/')]).length,
      1,
      '.example.com does not include example.com',
    );
    assert.equal(s.check([uri('https://other.example.org/')]).length, 1);
    assert.deepEqual(s.check([uri('https://bad.example.com/')]), [
      'URI:https://bad.example.com/ is excluded by URI:bad.example.com in CA',
    ]);
    assert.equal(s.check([uri('urn:isbn:0451450523')]).length, 2, 'no host: fails closed both ways');
    assert.equal(s.check([uri('https://[2001:db8::1]/')]).length, 1, 'an IP host is no DNS host');
  });

  test('URI hosts that only look different from an excluded host cannot slip past it', () => {
    const s = state([nc([], [uri('bad.example.com'), uri('.evil.example')]), 'CA']);
    for (const u of [
      'https://bad.example.com./',
      'https://BAD.example.com.:8443/x',
      'ldap://bad.example.com./cn=x',
      'ldap://b%61d.example.com/',
      'https://bad.example.com%2e/',
      'https://www.evil.example./',
      'https://a..evil.example/',
      'https://b%61d.example.com/',
    ])
      assert.ok(
        s.check([uri(u)]).some((p) => p.startsWith(`URI:${u} is excluded by`)),
        u,
      );
    assert.deepEqual(s.check([uri('https://good.example.com/'), uri('ldap://good.example.com/')]), []);
  });

  test('directoryName constraints: RDN prefix, compared case-insensitively', () => {
    const s = state([nc([dir('C=US,O=Good Org')], [dir('C=US,O=Good Org,OU=Evil')]), 'CA']);
    assert.deepEqual(
      s.check([dir('C=US,O=Good Org,CN=x'), dir('C=US,O=good  org,CN=y'), dir('C=US,O=Good Org')]),
      [],
    );
    assert.deepEqual(s.check([dir('C=US,O=Bad Org,CN=x')]), [
      'DirName:CN=x,O=Bad Org,C=US is outside the permitted DirName:O=Good Org,C=US of CA',
    ]);
    assert.equal(s.check([dir('C=US')]).length, 1, 'a shorter name is not inside');
    assert.equal(s.check([dir('O=Good Org,C=US,CN=x')]).length, 1, 'order matters');
    assert.deepEqual(s.check([dir('C=US,O=Good Org,OU=Evil,CN=x')]), [
      'DirName:CN=x,OU=Evil,O=Good Org,C=US is excluded by DirName:OU=Evil,O=Good Org,C=US in CA',
    ]);
  });

  test('constraints of one form never constrain another form', () => {
    const s = state([nc([dns('example.com')], [email('x@example.com')]), 'CA']);
    assert.deepEqual(
      s.check([ip('192.0.2.1'), email('y@elsewhere.test'), uri('https://elsewhere.test/'), dir('CN=x')]),
      [],
    );
  });

  test('forms certvet cannot process: a constraint on them rejects every name of that form', () => {
    const other: GeneralName = { type: 'otherName', oid: '1.3.6.1.5.5.7.8.9' };
    const ex = state([nc([], [other]), 'CA']);
    assert.match(
      ex.check([other])[0]!,
      /of a form \(otherName\) whose constraints in CA cannot be processed/,
    );
    assert.deepEqual(ex.check([dns('a.example')]), []);
    const perm = state([nc([other]), 'CA']);
    assert.match(perm.check([other])[0]!, /cannot be processed/);
    assert.deepEqual(perm.check([{ type: 'registeredID', oid: '1.2.3' }]), []);
  });

  test('constraintError: malformed constraints are named', () => {
    assert.equal(constraintError(st(dns('example.com'))), null);
    assert.equal(constraintError(st(dns('Example.COM'))), null);
    assert.equal(constraintError(st(dns(''))), null);
    assert.match(constraintError(st(dns('.example.com')))!, /leading dot/);
    assert.match(constraintError(st(dns('ex ample.com')))!, /not a valid DNS name/);
    assert.match(constraintError(st(dns('*.example.com')))!, /not a valid DNS name/);
    assert.equal(constraintError(st(ipNet('10.0.0.0/8'))), null);
    assert.match(constraintError(st(ip('10.0.0.1')))!, /^iPAddress constraint is 4 bytes/);
    assert.match(
      constraintError(st({ type: 'ip', bytes: b(10, 0, 0, 0, 255, 0, 255, 0) }))!,
      /non-contiguous/,
    );
    assert.equal(constraintError(st(email('.example.com'))), null);
    assert.match(constraintError(st(email('@x')))!, /rfc822Name constraint "@x" is not a valid mailbox/);
    assert.equal(constraintError(st(uri('.example.com'))), null);
    assert.equal(constraintError(st(uri('host.example.com'))), null);
    assert.match(
      constraintError(st(uri('https://host.example.com/')))!,
      /URI constraint .* is not a host or domain/,
    );
    assert.equal(constraintError(st(dir('C=US'))), null);
    assert.match(constraintError({ base: dns('example.com'), hasMinMax: true })!, /minimum\/maximum/);
  });
});

describe('name constraints in real certificate paths', () => {
  // NameConstraints ::= SEQUENCE { permittedSubtrees [0], excludedSubtrees [1] } of dNSName subtrees.
  const subtrees = (tag: number, names: string[]) =>
    tlv(tag, Buffer.concat(names.map((n) => seq(tlv(0x82, Buffer.from(n, 'ascii'))))));
  const ncExtension = (permitted: string[], excluded: string[]) =>
    new x509.Extension(
      '2.5.29.30',
      true,
      seq(
        ...(permitted.length ? [subtrees(0xa0, permitted)] : []),
        ...(excluded.length ? [subtrees(0xa1, excluded)] : []),
      ),
    );

  let root: IssuedCert;
  let ca: IssuedCert;
  before(async () => {
    root = await issue({ subject: 'CN=NC Root', ca: true });
    ca = await issue({
      subject: 'CN=NC Intermediate',
      ca: true,
      issuer: root,
      extensions: [ncExtension(['example.test'], ['bad.example.test'])],
    });
  });

  const run = async (names: string[]) => {
    const leaf = await issue({ subject: 'CN=nc leaf', issuer: ca, dns: names });
    return verifyCertificate({
      leaf: leaf.parsed,
      intermediates: [ca.parsed],
      anchors: [root.parsed],
      time: Date.now(),
    });
  };

  test('the intermediate’s constraints are decoded', () => {
    const c = ca.parsed.ext.nameConstraints!;
    assert.deepEqual(
      c.permitted.map((x) => x.base),
      [{ type: 'dns', value: 'example.test' }],
    );
    assert.deepEqual(
      c.excluded.map((x) => x.base),
      [{ type: 'dns', value: 'bad.example.test' }],
    );
  });

  test('inside the permitted subtree: valid', async () => {
    const r = await run(['www.example.test', 'api.example.test']);
    assert.equal(r.valid, true, JSON.stringify(r.findings));
  });

  test('outside the permitted subtree, or in the excluded one: name-constraints, naming the name', async () => {
    const out = await run(['www.example.test', 'www.other.test']);
    const f = out.findings.filter((x) => x.code === 'name-constraints');
    assert.equal(f.length, 1);
    assert.equal(f[0]!.severity, 'critical');
    assert.match(f[0]!.message, /www\.other\.test is outside the permitted DNS:example\.test/);
    const ex = await run(['x.bad.example.test']);
    assert.ok(
      ex.findings.some(
        (x) => x.code === 'name-constraints' && /excluded by DNS:bad\.example\.test/.test(x.message),
      ),
    );
  });

  test('a wildcard SAN that could name the excluded host is refused', async () => {
    const r = await run(['*.example.test']);
    assert.equal(r.valid, false);
    assert.ok(
      r.findings.some(
        (x) => x.code === 'name-constraints' && /\*\.example\.test is excluded/.test(x.message),
      ),
    );
    assert.equal((await run(['*.www.example.test'])).valid, true);
  });
});

describe('match.ts: what a mismatch message shows', () => {
  test('a dNSName that is an IP address is shown as such, so it is not read as an iPAddress SAN', async () => {
    const root = await issue({ subject: 'CN=Msg Root', ca: true });
    const leaf = await issue({ subject: 'CN=x', issuer: root, dns: ['10.1.2.3'] });
    const r = verifyCertificate({
      leaf: leaf.parsed,
      intermediates: [],
      anchors: [root.parsed],
      time: Date.now(),
      expectedNames: [{ kind: 'ip', value: '10.1.2.3' }],
    });
    const f = r.findings.find((x) => x.code === 'hostname-mismatch');
    assert.match(
      f?.message ?? '',
      /it has subjectAltName DNS:10\.1\.2\.3 \(an IP address written as a DNS name\)/,
    );
  });
});
