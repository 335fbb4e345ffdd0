/*
 * connectVerified against real TLS servers on 127.0.0.1, implicit TLS and SMTP STARTTLS: a good
 * endpoint yields a socket that carries data; expired, wrong-host, untrusted, revoked-by-CRL and
 * pin-mismatch endpoints reject with CertificateVerificationError before a byte is written.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { CertificateVerificationError, CertvetOptionError } from '../src/check/errors.js';
import { spkiPin } from '../src/check/expectations.js';
import { type ConnectVerifiedOptions, connectVerified } from '../src/client/connectVerified.js';
import { verificationOf } from '../src/client/verifiedConnection.js';
import {
  type ClientLab,
  lookup,
  type SmtpEndpoint,
  smtpEndpoint,
  startClientLab,
} from './support/clientLab.js';

type Base = Omit<ConnectVerifiedOptions, 'host'>;

async function refused(p: Promise<unknown>): Promise<CertificateVerificationError> {
  try {
    const s = await p;
    (s as TLSSocket).destroy();
  } catch (e) {
    assert.ok(e instanceof CertificateVerificationError, `expected CertificateVerificationError, got ${e}`);
    return e;
  }
  assert.fail('the connection was not refused');
}

function readUntil(s: TLSSocket, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString();
      if (pattern.test(text)) resolve(text);
    });
    s.on('error', reject);
    s.on('end', () => resolve(text));
  });
}

const settle = () => new Promise((r) => setTimeout(r, 50));

describe('connectVerified', () => {
  let lab: ClientLab;
  let opts: Base;
  let smtpGood: SmtpEndpoint;
  let smtpUntrusted: SmtpEndpoint;

  before(async () => {
    lab = await startClientLab();
    opts = { ca: lab.root.pem, lookup, revocation: 'soft', timeout: 5000 };
    smtpGood = await smtpEndpoint(lab.leaves.good, [lab.ica]);
    smtpUntrusted = await smtpEndpoint(lab.leaves.untrusted, []);
  });
  after(async () => {
    await smtpGood.close();
    await smtpUntrusted.close();
    await lab.close();
  });

  test('a good endpoint: a verified socket, nothing written yet, that then carries a request', async () => {
    const ep = lab.endpoints.good;
    const s = await connectVerified({ host: 'good.test', port: ep.port, ...opts });
    assert.equal(verificationOf(s)?.status, 'ok');
    assert.equal(verificationOf(s)?.chain[0]?.subject, 'CN=good.test');
    s.write('GET /raw HTTP/1.1\r\nhost: good.test\r\n\r\n');
    assert.match(await readUntil(s, /hello$/), /^HTTP\/1\.1 200 OK[\s\S]*hello$/);
    assert.match(ep.received.at(-1)!.toString(), /^GET \/raw /);
    s.destroy();
  });

  test('dialling an IP literal with a servername, and an explicit address', async () => {
    const ep = lab.endpoints.good;
    const a = await connectVerified({ host: '127.0.0.1', port: ep.port, servername: 'good.test', ...opts });
    assert.equal(verificationOf(a)?.status, 'ok');
    a.destroy();
    const b = await connectVerified({ host: 'good.test', address: '127.0.0.1', port: ep.port, ...opts });
    assert.equal(verificationOf(b)?.address, '127.0.0.1');
    b.destroy();
  });

  for (const [name, code] of [
    ['expired', 'expired'],
    ['wronghost', 'hostname-mismatch'],
    ['untrusted', 'untrusted'],
    ['revoked', 'revoked'],
    ['ocsprevoked', 'revoked'],
    ['stapledrevoked', 'revoked'],
  ] as const) {
    test(`${name}: rejected with ${code}; the server receives no byte`, async () => {
      const ep = lab.endpoints[name];
      const withData = ep.connectionsWithData;
      const e = await refused(connectVerified({ host: `${name}.test`, port: ep.port, ...opts }));
      assert.ok(
        e.findings.some((f) => f.code === code),
        `${code} in ${e.findings.map((f) => f.code)}`,
      );
      await settle();
      assert.equal(ep.connectionsWithData, withData);
    });
  }

  test('pin mismatch: rejected with pin-mismatch', async () => {
    const ep = lab.endpoints.good;
    const e = await refused(
      connectVerified({ host: 'good.test', port: ep.port, ...opts, pins: [spkiPin(lab.otherRoot.parsed)] }),
    );
    assert.ok(e.findings.some((f) => f.code === 'pin-mismatch'));
  });

  test('SMTP STARTTLS: the good server is verified after the plaintext negotiation and gets the data', async () => {
    const s = await connectVerified({
      host: 'smtp.good.test',
      port: smtpGood.port,
      starttls: 'smtp',
      ...opts,
      expectName: 'good.test',
    });
    assert.equal(verificationOf(s)?.status, 'ok', JSON.stringify(verificationOf(s)?.findings));
    s.write('MAIL FROM:<a@b.test>\r\n');
    assert.match(await readUntil(s, /250 ok/), /250 ok/);
    assert.equal(smtpGood.received.map(String).join(''), 'MAIL FROM:<a@b.test>\r\n');
    s.destroy();
  });

  test('SMTP STARTTLS: an untrusted certificate is refused, no byte sent after TLS', async () => {
    const e = await refused(
      connectVerified({ host: 'untrusted.test', port: smtpUntrusted.port, starttls: 'smtp', ...opts }),
    );
    assert.ok(e.findings.some((f) => f.code === 'untrusted'));
    await settle();
    assert.equal(smtpUntrusted.received.length, 0);
  });

  test('connection failures are the connection errors; option errors name the option', async () => {
    await assert.rejects(connectVerified({ host: '127.0.0.1', port: 1, ...opts }), { code: 'ECONNREFUSED' });
    await assert.rejects(connectVerified({ host: 'nowhere.invalid', port: 443, ...opts }), {
      code: 'ENOTFOUND',
    });
    await assert.rejects(connectVerified({ host: 'good.test', port: 0, ...opts }), CertvetOptionError);
    await assert.rejects(
      connectVerified({ host: 'good.test', starttls: 'gopher' as 'smtp', ...opts }),
      /starttls/,
    );
  });

  test('a signal aborts the connection', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await assert.rejects(
      connectVerified({ host: 'good.test', port: lab.endpoints.good.port, ...opts, signal: ac.signal }),
      /stop/,
    );
  });
});
