import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { type IssuedCert, issue, makeChain, privateKeyPem, x509 } from '../src/lab/pki.js';
import { verifyCertificate } from '../src/verify/verify.js';
import { CertificateParseError, parseCertificate } from '../src/x509/certificate.js';
import {
  checkDerStrict,
  children,
  content,
  DerError,
  decodeBitString,
  decodeOid,
  decodeSmallInteger,
  readSingle,
  readTlv,
} from '../src/x509/der.js';
import { loadCertificates, MAX_CERT_FILE_BYTES } from '../src/x509/load.js';
import { looksLikePem, PemError, readPemBlocks } from '../src/x509/pem.js';
import { verifySignature } from '../src/x509/signatureAlgorithm.js';
import { decodeTime, isoOf } from '../src/x509/time.js';

const b = (...bytes: number[]) => new Uint8Array(bytes);
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
const pemOf = (label: string, der: Uint8Array) =>
  `-----BEGIN ${label}-----\n${(
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? []
  ).join('\n')}\n-----END ${label}-----\n`;
const UTC = 23;
const GEN = 24;
const time = (tag: number, text: string) =>
  decodeTime(readSingle(new Uint8Array([tag, text.length, ...Buffer.from(text, 'latin1')])));

describe('der.ts: TLV framing', () => {
  test('short-form lengths: offsets of identifier, content and end', () => {
    const buf = b(0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa);
    const t = readSingle(buf);
    assert.deepEqual(
      { cls: t.cls, constructed: t.constructed, tag: t.tag, start: t.start, cs: t.contentStart, end: t.end },
      { cls: 0, constructed: true, tag: 16, start: 0, cs: 2, end: 8 },
    );
    const [i, o] = children(t);
    assert.equal(i!.tag, 2);
    assert.deepEqual(content(i!), b(0x05));
    assert.equal(o!.tag, 4);
    assert.equal(o!.start, 5);
    assert.deepEqual(content(o!), b(0xaa));
  });

  test('minimal long-form lengths are accepted (0x81 for 128..255, 0x82 for 256..65535)', () => {
    const v128 = new Uint8Array([0x04, 0x81, 0x80, ...new Array(128).fill(7)]);
    const t = readSingle(v128);
    assert.equal(t.contentStart, 3);
    assert.equal(t.end, 131);
    const v256 = new Uint8Array([0x04, 0x82, 0x01, 0x00, ...new Array(256).fill(1)]);
    assert.equal(readSingle(v256).end - readSingle(v256).contentStart, 256);
  });

  test('indefinite length is rejected', () => {
    assert.throws(() => readTlv(b(0x30, 0x80, 0x05, 0x00, 0x00, 0x00), 0), /indefinite length/);
    assert.throws(() => readTlv(b(0x30, 0x80, 0x05, 0x00, 0x00, 0x00), 0), DerError);
  });

  test('non-minimal lengths are rejected: long form for < 128, and leading zero octets', () => {
    assert.throws(() => readTlv(b(0x04, 0x81, 0x05, 1, 2, 3, 4, 5), 0), /long form for a short length/);
    assert.throws(() => readTlv(b(0x04, 0x81, 0x7f, ...new Array(127).fill(0)), 0), /non-minimal length/);
    assert.throws(
      () => readTlv(new Uint8Array([0x04, 0x82, 0x00, 0x80, ...new Array(128).fill(0)]), 0),
      /leading zero/,
    );
    assert.throws(() => readTlv(b(0x04, 0x85, 1, 0, 0, 0, 0), 0), /length field too large/);
  });

  test('truncated values, truncated lengths and missing bytes are rejected, with what was declared', () => {
    assert.throws(() => readTlv(b(0x04, 0x05, 1, 2), 0), /truncated value: 5 bytes declared, 2 available/);
    assert.throws(() => readTlv(b(0x04, 0x82, 0x01), 0), /truncated length field/);
    assert.throws(() => readTlv(b(), 0), /expected a tag/);
    assert.throws(() => readTlv(b(0x04), 0), /expected a length/);
    // A child may not run past its parent even when the buffer continues.
    const parent = readTlv(b(0x30, 0x02, 0x04, 0x02, 0xaa, 0xbb), 0);
    assert.equal(parent.end, 4);
    assert.throws(() => children(parent), /truncated value/);
  });

  test('trailing bytes after a single value are rejected, and counted', () => {
    assert.throws(() => readSingle(b(0x05, 0x00, 0x00)), /1 trailing bytes/);
    assert.throws(() => readSingle(b(0x05, 0x00, 0x00, 0x00)), /2 trailing bytes/);
    assert.doesNotThrow(() => readSingle(b(0x05, 0x00)));
  });

  test('high-number tags: decoded, and their non-minimal forms rejected', () => {
    const t = readSingle(b(0x9f, 0x20, 0x00));
    assert.equal(t.cls, 2);
    assert.equal(t.tag, 32);
    assert.equal(readSingle(b(0xbf, 0x81, 0x00, 0x00)).tag, 128);
    assert.throws(() => readTlv(b(0x9f, 0x80, 0x20, 0x00), 0), /non-minimal high-number tag/);
    assert.throws(() => readTlv(b(0x9f, 0x1e, 0x00), 0), /high-number form used for a low tag/);
    assert.throws(() => readTlv(b(0x9f, 0x81), 0), /truncated high-number tag/);
  });

  test('children() of a primitive value is an error', () => {
    assert.throws(() => children(readSingle(b(0x04, 0x00))), /expected a constructed value/);
  });
});

describe('der.ts: checkDerStrict', () => {
  const strict = (...bytes: number[]) => checkDerStrict(readSingle(new Uint8Array(bytes)));

  test('INTEGER must be minimal, in both signs, and non-empty', () => {
    assert.throws(() => strict(0x02, 0x02, 0x00, 0x01), /INTEGER not minimally encoded/);
    assert.throws(() => strict(0x02, 0x02, 0xff, 0x80), /INTEGER not minimally encoded/);
    assert.throws(() => strict(0x02, 0x00), /empty INTEGER/);
    assert.doesNotThrow(() => strict(0x02, 0x02, 0x00, 0x80), '128 needs its leading zero');
    assert.doesNotThrow(() => strict(0x02, 0x02, 0xff, 0x7f), '-129 needs its leading 0xFF');
    assert.doesNotThrow(() => strict(0x02, 0x01, 0x00));
  });

  test('BOOLEAN must be one octet, 0x00 or 0xFF', () => {
    assert.throws(() => strict(0x01, 0x01, 0x01), /BOOLEAN not DER/);
    assert.throws(() => strict(0x01, 0x01, 0x7f), /BOOLEAN not DER/);
    assert.throws(() => strict(0x01, 0x02, 0x00, 0xff), /BOOLEAN not DER/);
    assert.throws(() => strict(0x01, 0x00), /BOOLEAN not DER/);
    assert.doesNotThrow(() => strict(0x01, 0x01, 0xff));
    assert.doesNotThrow(() => strict(0x01, 0x01, 0x00));
  });

  test('NULL has no content; SEQUENCE is constructed; primitive types are not', () => {
    assert.throws(() => strict(0x05, 0x01, 0x00), /NULL with content/);
    assert.throws(() => strict(0x10, 0x00), /SEQUENCE\/SET must be constructed/);
    assert.throws(() => strict(0x24, 0x03, 0x04, 0x01, 0x00), /constructed encoding of a primitive/);
  });

  test('the walk is recursive: a bad BOOLEAN deep inside is found', () => {
    assert.throws(() => strict(0x30, 0x05, 0x30, 0x03, 0x01, 0x01, 0x01), /BOOLEAN not DER/);
    assert.throws(() => strict(0x30, 0x06, 0x31, 0x04, 0x02, 0x02, 0x00, 0x05), /INTEGER not minimally/);
    assert.doesNotThrow(() => strict(0x30, 0x07, 0x30, 0x03, 0x01, 0x01, 0xff, 0x05, 0x00));
  });

  test('maxDepth bounds the walk', () => {
    const bad = readSingle(b(0x30, 0x05, 0x30, 0x03, 0x01, 0x01, 0x01));
    assert.doesNotThrow(() => checkDerStrict(bad, 0, 1), 'depth 1 stops before the BOOLEAN');
    assert.throws(() => checkDerStrict(bad, 0, 3), /BOOLEAN not DER/);
  });
});

describe('der.ts: value decoders', () => {
  test('OBJECT IDENTIFIERs: multi-byte arcs, the 2.x first-arc rule, and malformed forms', () => {
    assert.equal(decodeOid(b(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b)), '1.2.840.113549.1.1.11');
    assert.equal(decodeOid(b(0x55, 0x1d, 0x11)), '2.5.29.17');
    assert.equal(decodeOid(b(0x88, 0x37, 0x03)), '2.999.3');
    assert.equal(decodeOid(b(0x00)), '0.0');
    assert.throws(() => decodeOid(b()), /empty OBJECT IDENTIFIER/);
    assert.throws(() => decodeOid(b(0x55, 0x80, 0x1d)), /non-minimal/);
    assert.throws(() => decodeOid(b(0x55, 0x1d, 0x81)), /truncated/);
  });

  test('BIT STRING padding', () => {
    const ok = decodeBitString(readSingle(b(0x03, 0x02, 0x04, 0xf0)));
    assert.equal(ok.unusedBits, 4);
    assert.deepEqual(ok.bytes, b(0xf0));
    assert.throws(() => decodeBitString(readSingle(b(0x03, 0x02, 0x04, 0xf8))), /padding bits not zero/);
    assert.throws(() => decodeBitString(readSingle(b(0x03, 0x02, 0x08, 0x00))), /bad BIT STRING padding/);
    assert.throws(() => decodeBitString(readSingle(b(0x03, 0x01, 0x01))), /bad BIT STRING padding/);
    assert.throws(() => decodeBitString(readSingle(b(0x03, 0x00))), /empty BIT STRING/);
  });

  test('small INTEGERs are non-negative', () => {
    assert.equal(decodeSmallInteger(readSingle(b(0x02, 0x02, 0x01, 0x00))), 256);
    assert.throws(() => decodeSmallInteger(readSingle(b(0x02, 0x01, 0xff))), /negative/);
  });
});

describe('pem.ts', () => {
  let a: IssuedCert;
  let c: IssuedCert;
  before(async () => {
    a = await issue({ subject: 'CN=PEM A', ca: true });
    c = await issue({ subject: 'CN=PEM C', issuer: a, dns: ['c.example.test'] });
  });

  test('several blocks, each with its label, bytes and BEGIN line', () => {
    const text = `${a.pem}${c.pem}`;
    const blocks = readPemBlocks(text);
    assert.equal(blocks.length, 2);
    assert.equal(blocks[0]!.label, 'CERTIFICATE');
    assert.equal(blocks[0]!.line, 1);
    assert.equal(hex(blocks[0]!.der), hex(a.der));
    assert.equal(blocks[1]!.line, a.pem.split('\n').length);
    assert.equal(hex(blocks[1]!.der), hex(c.der));
  });

  test('junk before, between and after blocks is ignored; CRLF, CR and indentation are tolerated', () => {
    const crlf = c.pem.replace(/\n/g, '\r\n');
    const indented = a.pem
      .split('\n')
      .map((l) => (l ? `   ${l}\t` : l))
      .join('\n');
    const text = `subject=CN=PEM C\r\nissuer=CN=PEM A\r\n${crlf}\r\nBag Attributes: none\r\n\r\n${indented}trailing words`;
    const blocks = readPemBlocks(text);
    assert.equal(blocks.length, 2);
    assert.equal(blocks[0]!.line, 3);
    assert.equal(hex(blocks[0]!.der), hex(c.der));
    assert.equal(hex(blocks[1]!.der), hex(a.der));
    assert.equal(blocks[1]!.line, 3 + c.pem.split('\n').length - 1 + 3);
    const cr = readPemBlocks(`x\r${a.pem.replace(/\n/g, '\r')}`);
    assert.equal(cr[0]!.line, 2);
    assert.equal(hex(cr[0]!.der), hex(a.der));
  });

  test('other labels are returned as they are; RFC 1421 headers are skipped', () => {
    const body = Buffer.from('not a key').toString('base64');
    const text =
      '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n' +
      `-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n${body}\n-----END RSA PRIVATE KEY-----\n`;
    const blocks = readPemBlocks(text);
    assert.deepEqual(
      blocks.map((x) => [x.label, x.line]),
      [
        ['X509 CRL', 1],
        ['RSA PRIVATE KEY', 4],
      ],
    );
    assert.equal(Buffer.from(blocks[1]!.der).toString(), 'not a key');
  });

  test('text with no block gives no blocks', () => {
    assert.deepEqual(readPemBlocks('hello\nworld\n'), []);
    assert.deepEqual(readPemBlocks(''), []);
    assert.equal(looksLikePem(Buffer.from(a.pem)), true);
    assert.equal(looksLikePem(a.der), false);
  });

  const pemError = (text: string, re: RegExp) =>
    assert.throws(
      () => readPemBlocks(text),
      (e: unknown) => e instanceof PemError && re.test(e.message),
      String(re),
    );

  test('an unclosed block is an error naming the BEGIN line', () => {
    pemError(`one\ntwo\n${a.pem.split('-----END')[0]}`, /^line 3: CERTIFICATE block is never closed/);
  });

  test('bad base64 is an error naming the line', () => {
    pemError(
      '\n\n-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n',
      /^line 3: .*not valid base64/,
    );
    pemError(
      '-----BEGIN CERTIFICATE-----\nAA==\nAAAA\n-----END CERTIFICATE-----\n',
      /^line 1: .*not valid base64/,
    );
    pemError(
      '-----BEGIN CERTIFICATE-----\nAAAA\nAA!A\n-----END CERTIFICATE-----\n',
      /^line 3: unexpected text inside the CERTIFICATE block/,
    );
    pemError(
      'x\n-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
      /^line 2: empty CERTIFICATE block/,
    );
  });

  test('mismatched END and nested BEGIN are errors naming both lines', () => {
    pemError(
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n',
      /^line 3: END X509 CRL does not close BEGIN CERTIFICATE \(line 1\)/,
    );
    pemError(
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      /^line 3: BEGIN inside the CERTIFICATE block of line 1/,
    );
  });
});

describe('time.ts (RFC 5280 §4.1.2.5)', () => {
  test('UTCTime: YYMMDDHHMMSSZ with the 1950–2049 window', () => {
    const t = time(UTC, '240301123456Z');
    assert.equal(t.seconds, Date.UTC(2024, 2, 1, 12, 34, 56) / 1000);
    assert.equal(t.encoding, 'UTCTime');
    assert.equal(t.raw, '240301123456Z');
    assert.equal(time(UTC, '491231235959Z').seconds, Date.UTC(2049, 11, 31, 23, 59, 59) / 1000);
    assert.equal(time(UTC, '500101000000Z').seconds, Date.UTC(1950, 0, 1) / 1000);
    assert.equal(time(UTC, '991231235959Z').seconds, Date.UTC(1999, 11, 31, 23, 59, 59) / 1000);
    assert.equal(time(UTC, '000101000000Z').seconds, Date.UTC(2000, 0, 1) / 1000);
  });

  test('GeneralizedTime: YYYYMMDDHHMMSSZ, any four-digit year', () => {
    assert.equal(time(GEN, '20500101000000Z').seconds, Date.UTC(2050, 0, 1) / 1000);
    assert.equal(time(GEN, '99991231235959Z').seconds, 253402300799);
    assert.equal(time(GEN, '00010101000000Z').seconds, -62135596800);
    assert.equal(time(GEN, '19700101000000Z').seconds, 0);
    assert.equal(time(GEN, '20240229000000Z').encoding, 'GeneralizedTime');
    assert.equal(isoOf(time(GEN, '20240229010203Z')), '2024-02-29T01:02:03Z');
  });

  test('leap years: 2000 and 2024 have 29 February; 1900, 2023 and 2049 do not', () => {
    assert.equal(time(UTC, '000229000000Z').seconds, Date.UTC(2000, 1, 29) / 1000);
    assert.equal(time(UTC, '960229000000Z').seconds, Date.UTC(1996, 1, 29) / 1000);
    assert.throws(() => time(UTC, '490229000000Z'), /not a valid date/);
    assert.throws(() => time(GEN, '19000229000000Z'), /not a valid date/);
    assert.throws(() => time(GEN, '20230229000000Z'), /not a valid date/);
    assert.doesNotThrow(() => time(GEN, '20240229000000Z'));
  });

  test('years below 100 are not shifted into the 1900s (0004 and 0000 are leap years)', () => {
    // 0001-01-01 is -62135596800; year 0000 (1 BC, proleptic Gregorian) is a leap year of 366 days.
    assert.equal(time(GEN, '00000101000000Z').seconds, -62135596800 - 366 * 86400);
    assert.equal(time(GEN, '00000229000000Z').seconds, -62135596800 - 307 * 86400);
    assert.equal(time(GEN, '00040229000000Z').seconds, -62135596800 + (3 * 365 + 31 + 28) * 86400);
    // 0100-01-01 is 99 years (24 of them leap) after 0001-01-01.
    assert.equal(time(GEN, '00991231235959Z').seconds, -62135596800 + (99 * 365 + 24) * 86400 - 1);
  });

  test('strict forms only: fractions, offsets, missing seconds, lower-case z, out-of-range fields', () => {
    for (const [tag, t] of [
      [GEN, '20240301000000.5Z'],
      [GEN, '20240301000000.000Z'],
      [UTC, '240301000000.5Z'],
      [UTC, '2403010000Z'],
      [GEN, '202403010000Z'],
      [UTC, '240301000000+0100'],
      [UTC, '240301000000-0000'],
      [GEN, '20240301000000+0000'],
      [GEN, '20240301000000'],
      [UTC, '240301000000z'],
      [UTC, '241301000000Z'],
      [UTC, '240001000000Z'],
      [UTC, '240100000000Z'],
      [UTC, '240230000000Z'],
      [GEN, '20240431000000Z'],
      [GEN, '20240301240000Z'],
      [GEN, '20240301006000Z'],
      [GEN, '20240301000060Z'],
      [UTC, ' 40301000000Z'],
      [GEN, '240301000000Z'],
      [UTC, '20240301000000Z'],
    ] as const)
      assert.throws(() => time(tag, t), DerError, `${tag === UTC ? 'UTCTime' : 'GeneralizedTime'} ${t}`);
  });

  test('other types are not times', () => {
    assert.throws(() => time(0x04, '20240101000000Z'), /neither UTCTime nor GeneralizedTime/);
    assert.throws(() => decodeTime(readSingle(b(0x37, 0x00))), /unexpected ASN.1 type/);
  });
});

describe('load.ts: loadCertificates', () => {
  let root: IssuedCert;
  let leaf: IssuedCert;
  before(async () => {
    root = await issue({ subject: 'CN=Load Root', ca: true });
    leaf = await issue({ subject: 'CN=load.example.test', issuer: root, dns: ['load.example.test'] });
  });

  test('a PEM bundle with junk text: every certificate, in order, no problems', () => {
    const text = `# my bundle\n${leaf.pem}\nsubject=CN=Load Root\n${root.pem}-- end --\n`;
    const r = loadCertificates(Buffer.from(text), 'bundle.pem');
    assert.deepEqual(r.problems, []);
    assert.deepEqual(
      r.certificates.map((x) => x.sha256),
      [leaf.parsed.sha256, root.parsed.sha256],
    );
  });

  test('a DER file: one certificate', () => {
    const r = loadCertificates(leaf.der, 'leaf.der');
    assert.deepEqual(r.problems, []);
    assert.equal(r.certificates.length, 1);
    assert.equal(r.certificates[0]!.sha256, leaf.parsed.sha256);
  });

  test('a private key block is a problem naming the block; the key text is never echoed', async () => {
    const keyPem = `${(await privateKeyPem(leaf.key)).trimEnd()}\n`;
    const text = `${leaf.pem}${keyPem}${root.pem}`;
    const r = loadCertificates(Buffer.from(text), 'server.pem');
    assert.equal(r.certificates.length, 2, 'the certificates around it are still read');
    assert.equal(r.problems.length, 1);
    const keyLine = leaf.pem.split('\n').length;
    assert.equal(r.problems[0]!.source, `server.pem (PEM block 2, line ${keyLine})`);
    assert.match(r.problems[0]!.message, /is a private key, not a certificate \("PRIVATE KEY" PEM block/);
    const serialised = JSON.stringify(r.problems);
    const bodyLines = keyPem.split('\n').filter((l) => l && !l.startsWith('-----'));
    assert.ok(bodyLines.length > 0);
    for (const l of bodyLines) assert.ok(!serialised.includes(l), 'a line of the key was echoed');
    const keyDer = x509.PemConverter.decodeFirst(keyPem);
    assert.ok(!serialised.includes(Buffer.from(keyDer).toString('base64').slice(0, 24)));
    assert.ok(!serialised.includes(Buffer.from(keyDer).toString('hex').slice(0, 24)));
  });

  test('a damaged private key block: the PEM error names the line, never the key text', async () => {
    const keyLines = (await privateKeyPem(leaf.key)).trimEnd().split('\n');
    const secretLine = keyLines[2]!;
    keyLines.splice(3, 0, `${keyLines[3]!.slice(0, 10)}!${keyLines[3]!.slice(10)}`);
    const r = loadCertificates(Buffer.from(`${leaf.pem}${keyLines.join('\n')}\n`), 'bad-key.pem');
    assert.equal(r.certificates.length, 0);
    assert.equal(r.problems.length, 1);
    const keyStart = leaf.pem.split('\n').length;
    assert.equal(
      r.problems[0]!.message,
      `is not valid PEM: line ${keyStart + 3}: unexpected text inside the PRIVATE KEY block`,
    );
    assert.ok(!JSON.stringify(r.problems).includes(secretLine));
    assert.ok(!JSON.stringify(r.problems).includes(keyLines[3]!.slice(0, 10)));
  });

  test('encrypted and legacy key labels, CRLs and CSRs are described for what they are', () => {
    const body = Buffer.from('SECRETSECRET').toString('base64');
    const blk = (label: string) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
    const r = loadCertificates(
      Buffer.from(
        blk('ENCRYPTED PRIVATE KEY') +
          blk('EC PRIVATE KEY') +
          blk('X509 CRL') +
          blk('CERTIFICATE REQUEST') +
          blk('PUBLIC KEY'),
      ),
      'mix.pem',
    );
    assert.equal(r.certificates.length, 0);
    assert.deepEqual(
      r.problems.map((p) => p.source),
      [1, 2, 3, 4, 5].map((n) => `mix.pem (PEM block ${n}, line ${(n - 1) * 3 + 1})`),
    );
    assert.match(
      r.problems[0]!.message,
      /encrypted private key, not a certificate \("ENCRYPTED PRIVATE KEY" PEM block/,
    );
    assert.match(r.problems[1]!.message, /private key, not a certificate \("EC PRIVATE KEY" PEM block/);
    assert.match(r.problems[2]!.message, /a CRL, not a certificate/);
    assert.match(r.problems[3]!.message, /certificate signing request/);
    assert.match(r.problems[4]!.message, /is a public key, not a certificate/);
    assert.ok(!JSON.stringify(r.problems).includes(body));
  });

  test('an empty file', () => {
    const r = loadCertificates(new Uint8Array(0), 'empty.pem');
    assert.deepEqual(r, { certificates: [], problems: [{ source: 'empty.pem', message: 'is empty' }] });
  });

  test('garbage, binary or text, is neither PEM nor DER', () => {
    for (const data of [Buffer.from('just some words\n'), b(0xde, 0xad, 0xbe, 0xef), b(0x30, 0x00)]) {
      const r = loadCertificates(data, 'junk');
      assert.equal(r.certificates.length, 0);
      assert.equal(r.problems.length, 1);
      assert.equal(r.problems[0]!.source, 'junk');
      assert.match(r.problems[0]!.message, /^is neither PEM nor a DER certificate \(/);
    }
  });

  test('truncated DER, and DER with trailing bytes, are problems saying so', () => {
    const cut = loadCertificates(leaf.der.subarray(0, leaf.der.length - 10), 'cut.der');
    assert.equal(cut.certificates.length, 0);
    assert.match(cut.problems[0]!.message, /truncated value/);
    const tail = loadCertificates(new Uint8Array([...leaf.der, 0x00]), 'tail.der');
    assert.equal(tail.certificates.length, 0);
    assert.match(tail.problems[0]!.message, /1 trailing bytes/);
  });

  test('a PEM block holding something that is not a certificate is a problem naming the block', () => {
    const text = `${root.pem}${pemOf('CERTIFICATE', leaf.der.subarray(0, 100))}`;
    const r = loadCertificates(Buffer.from(text), 'partial.pem');
    assert.equal(r.certificates.length, 1);
    assert.equal(r.problems[0]!.source, `partial.pem (PEM block 2, line ${root.pem.split('\n').length})`);
    assert.match(r.problems[0]!.message, /not a valid DER X\.509 certificate/);
  });

  test('invalid PEM is a problem with the line; PEM-looking text without a block is one too', () => {
    const r = loadCertificates(Buffer.from(`a\nb\n${root.pem.split('-----END')[0]}`), 'open.pem');
    assert.equal(r.certificates.length, 0);
    assert.match(r.problems[0]!.message, /^is not valid PEM: line 3: CERTIFICATE block is never closed/);
    const none = loadCertificates(Buffer.from('see -----BEGIN CERTIFICATE----- below\n'), 'prose.txt');
    assert.deepEqual(none.problems, [{ source: 'prose.txt', message: 'contains no PEM blocks' }]);
  });

  test('OpenSSL TRUSTED CERTIFICATE blocks: the certificate before the trust settings is read', () => {
    const aux = b(0x30, 0x0c, 0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01);
    const r = loadCertificates(
      Buffer.from(pemOf('TRUSTED CERTIFICATE', new Uint8Array([...root.der, ...aux]))),
      't.pem',
    );
    assert.deepEqual(r.problems, []);
    assert.equal(r.certificates[0]!.sha256, root.parsed.sha256);
  });

  test('a file over MAX_CERT_FILE_BYTES is refused without being parsed', () => {
    // A valid PEM bundle, padded past the limit: it must be refused on size alone.
    const big = Buffer.alloc(MAX_CERT_FILE_BYTES + 1, 0x20);
    Buffer.from(root.pem).copy(big, 0);
    const r = loadCertificates(big, 'huge.pem');
    assert.equal(r.certificates.length, 0);
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0]!.source, 'huge.pem');
    assert.match(r.problems[0]!.message, new RegExp(`is ${MAX_CERT_FILE_BYTES + 1} bytes, larger than the`));
    // Exactly at the limit it is read.
    const atLimit = big.subarray(0, MAX_CERT_FILE_BYTES);
    assert.equal(loadCertificates(atLimit, 'limit.pem').certificates.length, 1);
  });
});

describe('certificate.ts: parseCertificate on generated certificates', () => {
  let root: IssuedCert;
  let leaf: IssuedCert;
  const notBefore = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
  const notAfter = new Date(Date.UTC(2051, 5, 6, 7, 8, 9));
  before(async () => {
    root = await issue({ subject: 'C=US,O=Parse Org,CN=Parse Root', ca: true });
    leaf = await issue({
      subject: 'C=US,O=Parse Org,CN=parse.example.test',
      issuer: root,
      serialNumber: '7f0102030405',
      notBefore,
      notAfter,
      dns: ['parse.example.test', '*.wild.example.test'],
      ips: ['192.0.2.1', '2001:db8::5'],
      emails: ['ops@example.test'],
      uris: ['https://uri.example.test/path'],
    });
  });

  test('version, serial, names, validity, hash and exact bytes', () => {
    const p = leaf.parsed;
    assert.equal(p.version, 3);
    assert.equal(p.serialHex, '7F0102030405');
    assert.deepEqual(p.serial, b(0x7f, 1, 2, 3, 4, 5));
    assert.equal(p.subject.text, 'CN=parse.example.test,O=Parse Org,C=US');
    assert.equal(p.issuer.text, 'CN=Parse Root,O=Parse Org,C=US');
    assert.equal(p.issuer.key, root.parsed.subject.key);
    assert.equal(p.selfIssued, false);
    assert.equal(root.parsed.selfIssued, true);
    assert.equal(p.notBefore.seconds, notBefore.getTime() / 1000);
    assert.equal(p.notAfter.seconds, notAfter.getTime() / 1000);
    assert.equal(p.notBefore.encoding, 'UTCTime');
    assert.equal(p.notAfter.encoding, 'GeneralizedTime', 'dates from 2050 on are GeneralizedTime');
    assert.equal(p.sha256, createHash('sha256').update(leaf.der).digest('hex'));
    assert.equal(p.tbs[0], 0x30);
    assert.ok(Buffer.from(leaf.der).includes(Buffer.from(p.tbs)));
    assert.equal(p.publicKey.type, 'ec');
    assert.deepEqual(p.defects, []);
  });

  test('the parsed certificate owns its bytes', () => {
    const der = new Uint8Array(leaf.der);
    const p = parseCertificate(der);
    der.fill(0);
    assert.equal(p.serialHex, '7F0102030405');
    assert.equal(p.sha256, leaf.parsed.sha256);
  });

  test('a serial with its high bit set keeps the 0x00 that makes it positive', async () => {
    const hi = await issue({ subject: 'CN=hi', issuer: root, serialNumber: 'ff0102' });
    assert.equal(hi.parsed.serialHex, '00FF0102');
    assert.equal(hi.parsed.serial.length, 4);
  });

  test('subjectAltName: every form decoded, in order; IP addresses as raw bytes', () => {
    const san = leaf.parsed.ext.subjectAltName!;
    assert.deepEqual(
      san.map((n) =>
        n.type === 'ip'
          ? ['ip', hex(n.bytes)]
          : n.type === 'dns' || n.type === 'email' || n.type === 'uri'
            ? [n.type, n.value]
            : [n.type],
      ),
      [
        ['dns', 'parse.example.test'],
        ['dns', '*.wild.example.test'],
        ['ip', 'c0000201'],
        ['ip', '20010db8000000000000000000000005'],
        ['email', 'ops@example.test'],
        ['uri', 'https://uri.example.test/path'],
      ],
    );
    assert.equal(leaf.parsed.extensions.find((e) => e.oid === '2.5.29.17')?.critical, false);
    assert.equal(leaf.parsed.ext.basicConstraints?.ca, false);
    assert.equal(root.parsed.ext.basicConstraints?.ca, true);
  });

  test('a SAN dNSName in raw UTF-8 (not an A-label) is a malformed defect, not a crash', async () => {
    const idn = await issue({ subject: 'CN=idn', issuer: root, dns: ['bücher.example'] });
    assert.ok(
      idn.parsed.defects.some((d) => d.kind === 'malformed' && /non-ASCII byte.*A-labels/.test(d.message)),
      JSON.stringify(idn.parsed.defects),
    );
  });

  test('a duplicate extension is one malformed defect, and makes the certificate invalid', async () => {
    const mk = () => new x509.Extension('1.3.6.1.4.1.99999.1', false, b(0x05, 0x00));
    const dup = await issue({ subject: 'CN=dup', issuer: root, extensions: [mk(), mk()] });
    const defects = dup.parsed.defects.filter((d) => /appears more than once/.test(d.message));
    assert.equal(defects.length, 1);
    assert.equal(defects[0]!.kind, 'malformed');
    assert.match(defects[0]!.message, /RFC 5280 §4\.2/);
    assert.equal(dup.parsed.extensions.filter((e) => e.oid === '1.3.6.1.4.1.99999.1').length, 2);
    // A duplicated *known* extension too.
    const ski = await x509.SubjectKeyIdentifierExtension.create(dup.key.pair.publicKey);
    const dup2 = await issue({ subject: 'CN=dup2', issuer: root, extensions: [ski] });
    assert.ok(dup2.parsed.defects.some((d) => /appears more than once/.test(d.message)));
    const r = verifyCertificate({ leaf: dup.parsed, anchors: [root.parsed], time: Date.now() });
    assert.equal(r.valid, false);
    assert.ok(r.findings.some((f) => f.code === 'malformed-certificate' && /more than once/.test(f.message)));
    const single = await issue({ subject: 'CN=single', issuer: root, extensions: [mk()] });
    assert.ok(!single.parsed.defects.some((d) => /appears more than once/.test(d.message)));
  });

  test('with a duplicated extension the profile rules judge the first one (as a scan of the list would)', async () => {
    // First critical, then not: the rule sees the critical one. The other order: it does not.
    const key = (await issue({ subject: 'CN=k', issuer: root })).key.pair.publicKey;
    const critical = await x509.SubjectKeyIdentifierExtension.create(key, true);
    const plain = await x509.SubjectKeyIdentifierExtension.create(key, false);
    const findingsOf = async (extensions: x509.Extension[]) => {
      const c = await issue({ subject: 'CN=dup-ski', issuer: root, omitKeyIds: true, extensions });
      return verifyCertificate({ leaf: c.parsed, anchors: [root.parsed], time: Date.now() }).findings;
    };
    const marks = (fs: readonly { message: string }[]) =>
      fs.some((f) => /marks subjectKeyIdentifier critical/.test(f.message));
    const firstCritical = await findingsOf([critical, plain]);
    assert.ok(marks(firstCritical), JSON.stringify(firstCritical));
    assert.ok(firstCritical.some((f) => /appears more than once/.test(f.message)));
    assert.equal(marks(await findingsOf([plain, critical])), false);
  });

  test('a flipped byte in the signature still parses, and then fails verification', async () => {
    const ok = parseCertificate(leaf.der);
    assert.equal(verifySignature(ok.signatureAlgorithm, root.parsed.publicKey, ok.tbs, ok.signature), null);
    const der = new Uint8Array(leaf.der);
    der[der.length - 4]! ^= 0x01;
    const bad = parseCertificate(der);
    assert.notEqual(bad.sha256, ok.sha256);
    assert.equal(hex(bad.tbs), hex(ok.tbs));
    assert.notEqual(
      verifySignature(bad.signatureAlgorithm, root.parsed.publicKey, bad.tbs, bad.signature),
      null,
    );
    const r = verifyCertificate({ leaf: bad, anchors: [root.parsed], time: Date.now() });
    assert.equal(r.valid, false);
    assert.ok(r.findings.some((f) => f.code === 'invalid-signature' && f.certIndex === 0));
    const good = verifyCertificate({ leaf: ok, anchors: [root.parsed], time: Date.now() });
    assert.equal(good.valid, true, JSON.stringify(good.findings));
  });

  test('structural damage throws CertificateParseError', () => {
    const der = leaf.der;
    const fails = (bytes: Uint8Array, re: RegExp) =>
      assert.throws(
        () => parseCertificate(bytes),
        (e: unknown) =>
          e instanceof CertificateParseError &&
          /^not a valid DER X\.509 certificate: /.test(e.message) &&
          re.test(e.message),
        String(re),
      );
    fails(der.subarray(0, der.length - 1), /truncated value/);
    fails(new Uint8Array([...der, 0]), /trailing bytes/);
    assert.equal(der[1], 0x82, 'generated certificates use a two-octet length');
    fails(new Uint8Array([0x30, 0x83, 0x00, ...der.subarray(2)]), /non-minimal length/);
    fails(new Uint8Array([0x31, ...der.subarray(1)]), /unexpected ASN\.1 type/);
    fails(b(), /expected a tag/);
  });

  test('an Ed25519 certificate loads identically from PEM and DER', async () => {
    const ed = await issue({ subject: 'CN=ed', keyType: 'ed25519', issuer: root, dns: ['ed.example.test'] });
    const fromPem = loadCertificates(Buffer.from(ed.pem), 'ed.pem').certificates[0]!;
    const fromDer = loadCertificates(ed.der, 'ed.der').certificates[0]!;
    assert.equal(fromPem.sha256, fromDer.sha256);
    assert.equal(fromPem.publicKey.type, 'ed25519');
  });
});

describe('publicKey.ts: the subjectPublicKey BIT STRING', () => {
  test('unused bits make a key malformed, so it anchors nothing (OpenSSL would load the same key)', async () => {
    // An EC P-256 root whose point ends in an even byte: "03 42 01 04 …" keeps DER's zero
    // padding rule, so only the key check can refuse it. (Found by the mutated-anchor property.)
    let chain = await makeChain({ names: ['bits.example'] });
    while ((chain.root.parsed.publicKey.spkiDer.at(-1)! & 1) !== 0)
      chain = await makeChain({ names: ['bits.example'] });
    const der = Uint8Array.from(chain.root.der);
    const at = Buffer.from(der).indexOf(Buffer.from([0x03, 0x42, 0x00, 0x04]));
    assert.ok(at > 0, 'the P-256 key BIT STRING');
    der[at + 2] = 0x01;
    const mutated = parseCertificate(der);
    assert.match(mutated.publicKey.error ?? '', /the subjectPublicKey BIT STRING has 1 unused bits/);
    const r = verifyCertificate({
      leaf: chain.leaf.parsed,
      intermediates: [chain.intermediate.parsed],
      anchors: [mutated],
      time: new Date(),
      purpose: 'serverAuth',
      profile: 'rfc5280',
      expectedNames: [{ kind: 'dns', value: 'bits.example' }],
    });
    assert.equal(r.valid, false);
    // The unmutated root anchors the same chain.
    const ok = verifyCertificate({
      leaf: chain.leaf.parsed,
      intermediates: [chain.intermediate.parsed],
      anchors: [chain.root.parsed],
      time: new Date(),
      purpose: 'serverAuth',
      profile: 'rfc5280',
      expectedNames: [{ kind: 'dns', value: 'bits.example' }],
    });
    assert.equal(ok.valid, true);
  });
});
