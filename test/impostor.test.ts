/*
 * Certificates are public. A man in the middle that relays a real server's chain but cannot
 * prove the key (its ServerKeyExchange signature does not verify, or it hangs up after the
 * Certificate message) must never be reported ok: only a completed handshake proves the key.
 * Real TLS 1.2 server and a byte-level relay on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as tls from 'node:tls';
import { createChecker } from '../src/check/checker.js';
import { type LabChain, makeChain, privateKeyPem } from '../src/lab/pki.js';

type Mode = 'relay' | 'corrupt-ske' | 'hangup';

/** A relay that passes the server's records through, tampering with its handshake as asked. */
function relay(upstreamPort: number, mode: Mode): net.Server {
  return net.createServer((c) => {
    const s = net.connect(upstreamPort, '127.0.0.1');
    c.pipe(s);
    let buf = Buffer.alloc(0);
    let done = false;
    s.on('data', (d: Buffer) => {
      if (done) return;
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 5) {
        const len = buf.readUInt16BE(3);
        if (buf.length < 5 + len) break;
        const rec = Buffer.from(buf.subarray(0, 5 + len));
        buf = buf.subarray(5 + len);
        if (rec[0] === 22) {
          for (let p = 5; p + 4 <= rec.length; ) {
            const type = rec[p]!;
            const mlen = rec.readUIntBE(p + 1, 3);
            if (type === 12 && mode === 'corrupt-ske') rec[p + 4 + mlen - 1]! ^= 0x01;
            if (type === 12 && mode === 'hangup') {
              c.write(rec.subarray(0, p));
              c.destroy();
              s.destroy();
              done = true;
              return;
            }
            p += 4 + mlen;
          }
        }
        c.write(rec);
      }
    });
    s.on('error', () => c.destroy());
    c.on('error', () => s.destroy());
    s.on('close', () => c.destroy());
  });
}

describe('an impostor replaying a real chain is never ok', () => {
  let chain: LabChain;
  let server: tls.Server;
  const relays = new Map<Mode, net.Server>();

  before(async () => {
    chain = await makeChain({ names: ['imp.test'] });
    server = tls.createServer({
      key: await privateKeyPem(chain.leaf.key),
      cert: chain.leaf.pem + chain.intermediate.pem,
      maxVersion: 'TLSv1.2',
    });
    server.on('tlsClientError', () => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    for (const mode of ['relay', 'corrupt-ske', 'hangup'] as const) {
      const p = relay(port, mode);
      await new Promise<void>((r) => p.listen(0, '127.0.0.1', r));
      relays.set(mode, p);
    }
  });
  after(async () => {
    for (const s of [server, ...relays.values()]) await new Promise<void>((r) => s.close(() => r()));
  });

  const check = (mode: Mode) =>
    createChecker({ ca: chain.root.pem, revocation: 'off', timeout: 3000 }).check({
      target: `imp.test:${(relays.get(mode)!.address() as net.AddressInfo).port}`,
      resolve: '127.0.0.1',
    });

  test('an honest relay is ok (the test proxy itself is transparent)', async () => {
    const r = await check('relay');
    assert.equal(r.status, 'ok', JSON.stringify(r.findings));
  });

  for (const mode of ['corrupt-ske', 'hangup'] as const)
    test(`${mode}: the handshake never completes, so the result is error (handshake-failed), not ok`, async () => {
      const r = await check(mode);
      assert.equal(r.status, 'error', JSON.stringify(r.findings));
      const f = r.findings.find((x) => x.code === 'handshake-failed');
      assert.ok(f, JSON.stringify(r.findings));
      assert.match(f.message, /did not prove it holds the certificate's key/);
      assert.equal(r.chain.length, 3, 'the chain it sent is still judged, for diagnosis');
    });
});
