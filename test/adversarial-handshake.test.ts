/**
 * Adversarial suite: the TLS handshake parser (src/probe/handshakeParser.ts), which reads the
 * server's Certificate message from the raw bytes a CapturingStream recorded. Inputs: real
 * loopback captures (TLS 1.2 in the clear, TLS 1.3 decrypted with the keylog secret), their
 * mutations, structured random records, and arbitrary bytes. The parser is total: it returns
 * (certificates or null) for every input, never throws, and its work is linear in the input.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createServer, type Server, connect as tlsConnect } from 'node:tls';
import { makeChain, privateKeyPem } from '../src/lab/pki.js';
import { CapturingStream, MAX_CAPTURE_BYTES } from '../src/probe/capture.js';
import { parseServerHandshake } from '../src/probe/handshakeParser.js';
import { fc, mutateAll, mutationsArb, params, same, within } from './support/fuzz.js';

interface Capture {
  readonly name: string;
  readonly bytes: Buffer;
  readonly secret: Buffer | null;
}

const captures: Capture[] = [];
let chainDer: Uint8Array[] = [];
let server: Server;
let hrrServer: Server;

/** ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3). */
const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

async function capture(
  version: 'TLSv1.2' | 'TLSv1.3',
  port: number,
  name: string = version,
): Promise<Capture> {
  const sock = netConnect({ host: '127.0.0.1', port });
  await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
  const cap = new CapturingStream(sock);
  let secret: Buffer | null = null;
  const ts = tlsConnect({
    socket: cap.asDuplex(),
    rejectUnauthorized: false,
    minVersion: version,
    maxVersion: version,
    servername: 'hs.example',
  });
  ts.on('keylog', (line: Buffer) => {
    const m = /^SERVER_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]+ ([0-9a-f]+)/i.exec(line.toString('latin1'));
    if (m) secret = Buffer.from(m[1]!, 'hex');
  });
  await new Promise<void>((r, j) => ts.once('secureConnect', r).once('error', j));
  const bytes = cap.captured();
  ts.destroy();
  return { name, bytes, secret };
}

before(async () => {
  const chain = await makeChain({ names: ['hs.example'] });
  chainDer = [chain.leaf.der, chain.intermediate.der];
  server = createServer(
    { cert: chain.leaf.pem + chain.intermediate.pem, key: await privateKeyPem(chain.leaf.key) },
    (s) => s.on('error', () => {}),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  // Only P-384 for the key exchange: Node's client offers an X25519 key share first, so the
  // server answers with a HelloRetryRequest, then a second ServerHello.
  hrrServer = createServer(
    {
      cert: chain.leaf.pem + chain.intermediate.pem,
      key: await privateKeyPem(chain.leaf.key),
      ecdhCurve: 'P-384',
    },
    (s) => s.on('error', () => {}),
  );
  await new Promise<void>((r) => hrrServer.listen(0, '127.0.0.1', r));
  const hrrPort = (hrrServer.address() as { port: number }).port;
  captures.push(
    await capture('TLSv1.2', port),
    await capture('TLSv1.3', port),
    await capture('TLSv1.3', hrrPort, 'TLSv1.3 after a HelloRetryRequest'),
  );
});

after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await new Promise<void>((r) => hrrServer.close(() => r()));
});

function parse(bytes: Buffer, secret: Buffer | null) {
  const r = within('parseServerHandshake', () => parseServerHandshake(bytes, secret));
  assert.ok(r.certificates === null || Array.isArray(r.certificates));
  assert.equal(typeof r.certificateRequested, 'boolean');
  for (const c of r.certificates ?? []) assert.ok(c instanceof Uint8Array && c.length <= bytes.length);
  return r;
}

/** TLS records from (type, body) pairs. */
function records(parts: readonly { type: number; body: Uint8Array }[]): Buffer {
  return Buffer.concat(
    parts.map((p) =>
      Buffer.concat([Buffer.from([p.type, 3, 3, p.body.length >> 8, p.body.length & 0xff]), p.body]),
    ),
  );
}

function handshake(type: number, body: Uint8Array, declared = body.length): Buffer {
  return Buffer.concat([Buffer.from([type, declared >> 16, (declared >> 8) & 0xff, declared & 0xff]), body]);
}

/** Handshake messages that look like ServerHello / Certificate / CertificateRequest with random inner lengths. */
const messageArb = fc.oneof(
  fc
    .tuple(fc.constantFrom(2, 11, 13, 14, 0), fc.uint8Array({ maxLength: 64 }), fc.option(fc.nat(0xffffff)))
    .map(([type, body, declared]) => handshake(type, body, declared ?? body.length)),
  // A Certificate message whose list and entry lengths are random.
  fc
    .tuple(
      fc.nat(0xffffff),
      fc.array(fc.tuple(fc.nat(0xffffff), fc.uint8Array({ maxLength: 16 })), { maxLength: 4 }),
    )
    .map(([listLen, entries]) => {
      const body = Buffer.concat([
        Buffer.from([listLen >> 16, (listLen >> 8) & 0xff, listLen & 0xff]),
        ...entries.map(([l, b]) => Buffer.concat([Buffer.from([l >> 16, (l >> 8) & 0xff, l & 0xff]), b])),
      ]);
      return handshake(11, body);
    }),
  // A ServerHello selecting TLS 1.3 with random tail (so type-23 records get decrypted).
  fc
    .uint8Array({ maxLength: 12 })
    .map((tail) =>
      handshake(
        2,
        Buffer.concat([Buffer.alloc(34, 3), Buffer.from([0, 0x13, 0x01, 0, 0, 6, 0, 43, 0, 2, 3, 4]), tail]),
      ),
    ),
);

const recordStreamArb = fc
  .array(
    fc.oneof(
      fc.array(messageArb, { maxLength: 3 }).map((ms) => ({ type: 22, body: Buffer.concat(ms) })),
      fc.record({ type: fc.constantFrom(20, 21, 22, 23, 99), body: fc.uint8Array({ maxLength: 48 }) }),
    ),
    { maxLength: 6 },
  )
  .map(records);

describe('adversarial: TLS handshake parser', () => {
  test('baseline: the real captures give the chain exactly as sent', () => {
    for (const c of captures) {
      const r = parse(c.bytes, c.secret);
      assert.equal(r.certificates?.length, 2, c.name);
      for (const [i, d] of r.certificates!.entries())
        assert.ok(same(d, chainDer[i]!), `${c.name} certificate ${i}`);
      if (c.name.startsWith('TLSv1.3'))
        assert.equal(parse(c.bytes, null).certificates, null, 'no secret, no view');
    }
    const hrr = captures.find((c) => c.name.includes('HelloRetryRequest'))!;
    assert.ok(hrr.bytes.includes(HRR_RANDOM), 'the server did send a HelloRetryRequest');
  });

  test('reading stops where the answer is complete: later records and messages are not read', () => {
    /** The capture's records, as byte ranges. */
    const recordEnds = (b: Buffer) => {
      const ends: number[] = [];
      for (let p = 0; p + 5 <= b.length; ) {
        p += 5 + b.readUInt16BE(p + 3);
        if (p <= b.length) ends.push(p);
      }
      return ends;
    };
    for (const c of captures) {
      const ends = recordEnds(c.bytes);
      const first = ends.findIndex((e) => parse(c.bytes.subarray(0, e), c.secret).complete);
      assert.ok(first >= 0, `${c.name}: the whole capture gives a complete answer`);
      const at = ends[first]!;
      const r = parse(c.bytes.subarray(0, at), c.secret);
      assert.deepEqual(
        r.certificates?.map((d) => Buffer.from(d).toString('hex')),
        chainDer.map((d) => Buffer.from(d).toString('hex')),
      );
      if (first > 0) assert.equal(parse(c.bytes.subarray(0, ends[first - 1]), c.secret).complete, false);
      // Whatever follows changes nothing: a CertificateRequest record right after that point
      // (it would be read, in the clear, were the parser still reading), or junk.
      const lateRequest = records([{ type: 22, body: handshake(13, Buffer.alloc(4)) }]);
      const junk = records([{ type: 23, body: Buffer.alloc(40, 9) }]);
      for (const after of [lateRequest, Buffer.concat([junk, lateRequest])]) {
        const r2 = parse(Buffer.concat([c.bytes.subarray(0, at), after, c.bytes.subarray(at)]), c.secret);
        assert.deepEqual(r2, r, `${c.name}: records after the complete answer changed it`);
      }
      if (c.name.startsWith('TLSv1.3'))
        assert.ok(
          at < c.bytes.length,
          'TLS 1.3: CertificateVerify and Finished follow the Certificate unread',
        );
    }
  });

  test('the stop is per message: in one record, what follows ServerHelloDone is not read', () => {
    // TLS 1.2 in the clear, every message in one record (servers may pack them so).
    const hello = handshake(2, Buffer.concat([Buffer.alloc(34, 3), Buffer.from([0, 0xc0, 0x2f, 0])]));
    const der = chainDer[0]!;
    const l = der.length;
    const certificate = handshake(
      11,
      Buffer.concat([Buffer.from([0, (l + 3) >> 8, (l + 3) & 0xff, 0, l >> 8, l & 0xff]), Buffer.from(der)]),
    );
    const request = handshake(13, Buffer.from([1, 1, 0, 2, 4, 3, 0, 0]));
    const done = handshake(14, Buffer.alloc(0));
    const one = (...ms: Buffer[]) => parse(records([{ type: 22, body: Buffer.concat(ms) }]), null);
    const asked = one(hello, certificate, request, done);
    assert.equal(asked.complete, true);
    assert.equal(asked.certificateRequested, true);
    assert.equal(asked.certificates?.length, 1);
    const late = one(hello, certificate, done, request);
    assert.equal(late.complete, true);
    assert.equal(late.certificateRequested, false, 'a CertificateRequest after ServerHelloDone was read');
    assert.equal(one(hello, certificate, request).complete, false, 'complete before ServerHelloDone');
  });

  test('well-ordered TLS 1.2 flights cut into records anywhere: the same answer, complete, nothing after read', () => {
    const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
    const hello = handshake(2, Buffer.concat([Buffer.alloc(34, 3), Buffer.from([0, 0xc0, 0x2f, 0])]));
    const request = handshake(13, Buffer.from([1, 1, 0, 2, 4, 3, 0, 0]));
    const done = handshake(14, Buffer.alloc(0));
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 12 }),
        fc.uint8Array({ maxLength: 24 }),
        (certs, keyExchange, asked, cuts, tail) => {
          const list = Buffer.concat(certs.map((c) => Buffer.concat([u24(c.length), Buffer.from(c)])));
          const flight = Buffer.concat([
            hello,
            handshake(11, Buffer.concat([u24(list.length), list])),
            ...(keyExchange ? [handshake(12, Buffer.alloc(9, 5))] : []),
            ...(asked ? [request] : []),
            done,
          ]);
          const parts: { type: number; body: Uint8Array }[] = [];
          for (let p = 0, i = 0; p < flight.length; i++) {
            const n = cuts[i % cuts.length]!;
            parts.push({ type: 22, body: flight.subarray(p, p + n) });
            p += n;
          }
          // After the flight: a CertificateRequest (must not count) and arbitrary bytes.
          const bytes = Buffer.concat([records(parts), records([{ type: 22, body: request }]), tail]);
          const r = parse(bytes, null);
          assert.equal(r.complete, true);
          assert.equal(r.certificateRequested, asked);
          assert.deepEqual(
            r.certificates?.map((d) => Buffer.from(d).toString('hex')),
            certs.map((c) => Buffer.from(c).toString('hex')),
          );
        },
      ),
      params(400),
    );
  });

  test('mutated captures: always a result, never a throw; TLS 1.3 records are authenticated', () => {
    fc.assert(
      fc.property(fc.nat(), mutationsArb, fc.boolean(), (n, ms, withSecret) => {
        const c = captures[n % captures.length]!;
        const r = parse(Buffer.from(mutateAll(c.bytes, ms)), withSecret ? c.secret : null);
        if (c.name.startsWith('TLSv1.3') && withSecret && r.certificates)
          // Decrypted records are AEAD-authenticated: what comes out of them is the original
          // certificates, never altered bytes.
          for (const d of r.certificates)
            assert.ok(
              chainDer.some((o) => same(o, d)),
              'altered certificate bytes from authenticated records',
            );
      }),
      params(800),
    );
  });

  test('structured random record streams and arbitrary bytes: always a result', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          recordStreamArb,
          fc.uint8Array({ maxLength: 96 }).map((b) => Buffer.from(b)),
        ),
        fc.boolean(),
        (bytes, withSecret) => {
          parse(bytes, withSecret ? Buffer.alloc(32, 7) : null);
        },
      ),
      params(1500),
    );
  });

  test('regressions: short ServerHello and Certificate messages return instead of throwing RangeError', () => {
    // Each of these threw RangeError (readUInt16BE/readUIntBE past the end) before the fix.
    const cases = [
      records([{ type: 22, body: handshake(2, Buffer.alloc(10)) }]),
      records([{ type: 22, body: handshake(2, Buffer.concat([Buffer.alloc(34), Buffer.from([0x20])])) }]),
      records([{ type: 22, body: handshake(11, Buffer.from([0, 0])) }]),
      records([{ type: 22, body: handshake(11, Buffer.from([0, 0, 9, 0, 0, 6, 1])) }]),
      records([
        {
          type: 22,
          body: handshake(
            2,
            Buffer.concat([Buffer.alloc(34, 1), Buffer.from([0, 0x13, 0x01, 0, 0, 6, 0, 43, 0, 2, 3, 4])]),
          ),
        },
        { type: 22, body: handshake(11, Buffer.from([])) },
      ]),
    ];
    for (const b of cases) assert.doesNotThrow(() => parse(b, null));
  });

  test('a capture of many tiny records is parsed in linear time (was quadratic: Buffer.concat per record)', () => {
    // 1-byte handshake records up to the capture limit: ~87,000 records.
    const one = Buffer.from([22, 3, 3, 0, 1, 0]);
    const bytes = Buffer.concat(
      Array.from({ length: Math.floor(MAX_CAPTURE_BYTES / one.length) }, () => one),
    );
    const r = within('many tiny records', () => parseServerHandshake(bytes, null), 2000);
    assert.equal(r.certificates, null);
  });
});
