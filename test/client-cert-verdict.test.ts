/*
 * TLS 1.3 servers judge the client certificate after the handshake, so the refusal (or the
 * acceptance: session tickets) arrives after certvet's side of the handshake is done. A busy
 * server, or a busy host, can take much longer than a loopback round trip to send it. These
 * tests put a relay between certvet and real Node TLS servers that holds back everything the
 * server sends after the client's second flight, as a slow server would, and check that the
 * verdict is still read correctly — not mistaken for "the server went on without one".
 */
import assert from 'node:assert/strict';
import {
  createServer as createTcpServer,
  type Server as NetServer,
  connect as netConnect,
  type Socket,
} from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as tls from 'node:tls';
import { type CheckerOptions, createChecker, type TargetResult } from '../src/index.js';
import { makeChain, privateKeyPem } from '../src/lab/pki.js';
import { clientIdentities } from './support/clientLab.js';

const codes = (r: TargetResult) => r.findings.map((f) => f.code);

/** How long the relay holds back the server's post-handshake bytes (over the old 50 ms wait). */
const HOLD_MS = 300;

/**
 * A TCP relay to `port`. Bytes from the server that arrive after the client has sent two
 * chunks (ClientHello, then its Finished flight) are delivered `holdMs` late, in order, and so
 * is the server's close — as a FIN, or as a TCP reset when `endAs` is 'reset'.
 */
async function holdingRelay(
  port: number,
  holdMs = HOLD_MS,
  endAs: 'fin' | 'reset' = 'fin',
): Promise<{ server: NetServer; port: number }> {
  const server = createTcpServer((client: Socket) => {
    const upstream = netConnect({ host: '127.0.0.1', port });
    let fromClient = 0;
    const late = (f: () => void) => (fromClient >= 2 ? setTimeout(f, holdMs) : f());
    client.on('data', (d) => {
      fromClient++;
      upstream.write(d);
    });
    upstream.on('data', (d) => late(() => client.writable && client.write(d)));
    upstream.on('end', () => late(() => (endAs === 'reset' ? client.resetAndDestroy() : client.end())));
    client.on('end', () => upstream.end());
    const destroyBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', () => late(destroyBoth));
    client.on('error', destroyBoth);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

describe('the TLS 1.3 client-certificate verdict, from a server slow to give it', () => {
  const servers: Array<tls.Server | NetServer> = [];
  let opts: CheckerOptions;
  const relayed: Record<'required' | 'optional' | 'asyncRefusal' | 'slowRefusal' | 'resetRefusal', number> = {
    required: 0,
    optional: 0,
    asyncRefusal: 0,
    slowRefusal: 0,
    resetRefusal: 0,
  };

  before(async () => {
    const chain = await makeChain({ names: ['127.0.0.1'] });
    const base: tls.TlsOptions = {
      cert: chain.leaf.pem + chain.intermediate.pem,
      key: await privateKeyPem(chain.leaf.key),
      ca: [chain.root.pem],
      minVersion: 'TLSv1.3',
      requestCert: true,
    };
    const start = async (
      o: tls.TlsOptions,
      onSecure: (s: tls.TLSSocket) => void,
      holdMs = HOLD_MS,
      endAs: 'fin' | 'reset' = 'fin',
    ): Promise<number> => {
      const s = tls.createServer({ ...base, ...o }, onSecure);
      s.on('tlsClientError', () => {});
      servers.push(s);
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      const relay = await holdingRelay((s.address() as { port: number }).port, holdMs, endAs);
      servers.push(relay.server);
      return relay.port;
    };
    // OpenSSL refuses the missing certificate with an alert, before any session ticket.
    relayed.required = await start({ rejectUnauthorized: true }, (s) => s.end());
    // Asks, takes none, and goes on: session tickets, then silence until the client speaks.
    relayed.optional = await start({ rejectUnauthorized: false }, (s) =>
      setTimeout(() => s.end(), 5_000).unref(),
    );
    // Verifies in the application: the tickets go out, then it closes the connection.
    relayed.asyncRefusal = await start({ rejectUnauthorized: false }, (s) => {
      if (!s.authorized) s.destroy();
    });
    // A refusal that comes only after the target's whole deadline.
    relayed.slowRefusal = await start({ rejectUnauthorized: true }, (s) => s.end(), 5_000);
    // Verifies in the application and resets the connection (as the relay delivers it).
    relayed.resetRefusal = await start(
      { rejectUnauthorized: false },
      (s) => {
        if (!s.authorized) s.destroy();
      },
      HOLD_MS,
      'reset',
    );
    opts = { ca: chain.root.pem, revocation: 'off' };
  });

  after(() => {
    for (const s of servers) s.close();
  });

  test('a refusal held back 300 ms is still client-cert-required', async () => {
    const r = await createChecker(opts).check(`127.0.0.1:${relayed.required}`);
    assert.equal(r.status, 'warning', JSON.stringify(r.findings));
    assert.deepEqual(codes(r), ['client-cert-required']);
    assert.equal(r.chain.length, 3, 'its own chain is still verified');
  });

  test('a server that asks, takes no certificate and goes on is ok', async () => {
    const r = await createChecker(opts).check(`127.0.0.1:${relayed.optional}`);
    assert.equal(r.status, 'ok', JSON.stringify(r.findings));
    assert.equal(r.tls?.clientCertificate, 'optional');
  });

  test('a server that closes after its session tickets refused the (missing) certificate', async () => {
    const r = await createChecker(opts).check(`127.0.0.1:${relayed.asyncRefusal}`);
    assert.deepEqual(codes(r), ['client-cert-required']);
  });

  test('a server that resets the connection after its tickets refused it too', async () => {
    const r = await createChecker(opts).check(`127.0.0.1:${relayed.resetRefusal}`);
    assert.deepEqual(codes(r), ['client-cert-required']);
  });

  test('no decision before the deadline is a timeout, never a pass', async () => {
    const r = await createChecker({ ...opts, timeout: 800 }).check(`127.0.0.1:${relayed.slowRefusal}`);
    assert.equal(r.status, 'error', JSON.stringify(r.findings));
    assert.deepEqual(codes(r), ['timeout']);
    assert.match(
      r.findings[0]!.message,
      /asked for a client certificate and had neither accepted nor refused/,
    );
    assert.doesNotMatch(r.findings[0]!.message, /did not prove/, 'its side of the handshake was complete');
    assert.equal(r.chain.length, 3, 'the chain it sent is still judged');
  });

  test('a stop (abort) while the server decides is not a pass either', async () => {
    const r = await createChecker(opts).check(`127.0.0.1:${relayed.slowRefusal}`, {
      signal: AbortSignal.timeout(800),
    });
    assert.notEqual(r.status, 'ok', JSON.stringify(r.findings));
    assert.equal(r.status, 'error');
    assert.match(
      r.findings[0]!.message,
      /neither accepted nor refused the connection before the check was interrupted/,
    );
  });
});

/**
 * A relay that stands in for a TLS 1.2 server's last word: when the client sends its second
 * flight, the relay drops it and answers, in the server's place, with a fatal alert (`alert`)
 * or a TCP reset — as servers that refuse a handshake do. What the client saw before (the
 * server's certificates, and whether it sent a CertificateRequest) is the real server's.
 */
async function endingRelay(port: number, end: { alert: number } | 'reset'): Promise<NetServer> {
  const server = createTcpServer((client: Socket) => {
    const upstream = netConnect({ host: '127.0.0.1', port });
    let fromClient = 0;
    client.on('data', (d) => {
      if (++fromClient < 2) return void upstream.write(d);
      upstream.destroy();
      if (end === 'reset') client.resetAndDestroy();
      // A plaintext TLS 1.2 alert record: fatal, with the given description.
      else client.end(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, end.alert]));
    });
    upstream.on('data', (d) => fromClient < 2 && client.writable && client.write(d));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

describe('TLS 1.2: a server that asked for a certificate and ended the handshake refused for want of one', () => {
  const servers: Array<tls.Server | NetServer> = [];
  let opts: CheckerOptions;
  let asking = 0;
  let notAsking = 0;

  before(async () => {
    const chain = await makeChain({ names: ['127.0.0.1'] });
    const base: tls.TlsOptions = {
      cert: chain.leaf.pem + chain.intermediate.pem,
      key: await privateKeyPem(chain.leaf.key),
      ca: [chain.root.pem],
      maxVersion: 'TLSv1.2',
      rejectUnauthorized: false,
    };
    const start = async (o: tls.TlsOptions) => {
      const s = tls.createServer({ ...base, ...o }, (c) => c.end());
      s.on('tlsClientError', () => {});
      servers.push(s);
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      return (s.address() as { port: number }).port;
    };
    asking = await start({ requestCert: true });
    notAsking = await start({ requestCert: false });
    opts = { ca: chain.root.pem, revocation: 'off' };
  });
  after(() => {
    for (const s of servers) s.close();
  });

  const through = async (port: number, end: { alert: number } | 'reset') => {
    const relay = await endingRelay(port, end);
    servers.push(relay);
    return createChecker(opts).check(`127.0.0.1:${(relay.address() as { port: number }).port}`);
  };

  test('decode_error (GnuTLS), another alert, or a reset after a CertificateRequest: client-cert-required', async () => {
    for (const end of [{ alert: 50 }, { alert: 80 }, 'reset'] as const) {
      const r = await through(asking, end);
      assert.deepEqual(
        codes(r),
        ['client-cert-required'],
        `${JSON.stringify(end)}: ${JSON.stringify(r.findings)}`,
      );
      assert.equal(r.chain.length, 3, 'its own chain is still verified');
      assert.equal(
        r.tls?.protocol,
        'TLSv1.2',
        'read from the ServerHello: Node knows none for a failed handshake',
      );
    }
  });

  test('the same ending from a server that asked for nothing is a failed handshake (error), as before', async () => {
    for (const end of [{ alert: 50 }, 'reset'] as const) {
      const r = await through(notAsking, end);
      assert.equal(r.status, 'error', JSON.stringify(r.findings));
      assert.deepEqual(codes(r), ['handshake-failed']);
    }
  });
});

describe('TLS 1.2: a server that judges the client certificate after the handshake', () => {
  const servers: tls.Server[] = [];
  let opts: CheckerOptions;
  let trusted: { cert: string; key: string };
  let untrusted: { cert: string; key: string };
  let appVerifying = 0;
  let notAsking = 0;

  before(async () => {
    const chain = await makeChain({ names: ['127.0.0.1'] });
    ({ trusted, untrusted } = await clientIdentities(chain));
    const start = async (o: tls.TlsOptions, onSecure: (s: tls.TLSSocket) => void) => {
      const s = tls.createServer(
        {
          cert: chain.leaf.pem + chain.intermediate.pem,
          key: await privateKeyPem(chain.leaf.key),
          ca: [chain.root.pem],
          maxVersion: 'TLSv1.2',
          ...o,
        },
        onSecure,
      );
      s.on('tlsClientError', () => {});
      servers.push(s);
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      return (s.address() as { port: number }).port;
    };
    // Completes every handshake, then closes on a client it could not verify (as GnuTLS's slapd
    // with TLSVerifyClient demand does, and Node applications that check `authorized`).
    appVerifying = await start({ requestCert: true, rejectUnauthorized: false }, (s) => {
      s.on('error', () => {});
      if (!s.authorized) s.destroy();
      else setTimeout(() => s.end(), 5_000).unref();
    });
    notAsking = await start({ requestCert: false }, (s) => {
      s.on('error', () => {});
      setTimeout(() => s.end(), 5_000).unref();
    });
    opts = { ca: chain.root.pem, revocation: 'off' };
  });
  after(() => {
    for (const s of servers) s.close();
  });

  test('an untrusted certificate, closed on after the handshake: client-cert-rejected (it was ok)', async () => {
    const r = await createChecker({ ...opts, client: untrusted }).check(`127.0.0.1:${appVerifying}`);
    assert.deepEqual(codes(r), ['client-cert-rejected'], JSON.stringify(r.findings));
    assert.equal(r.tls?.clientCertificate, 'rejected');
    assert.equal(r.status, 'critical');
  });

  test('no certificate, closed on after the handshake: client-cert-required', async () => {
    const r = await createChecker(opts).check(`127.0.0.1:${appVerifying}`);
    assert.deepEqual(codes(r), ['client-cert-required'], JSON.stringify(r.findings));
    assert.equal(r.tls?.clientCertificate, 'required-missing');
  });

  test('a certificate it accepts: ok, after the server stayed silent for the decision wait', async () => {
    const r = await createChecker({ ...opts, client: trusted }).check(`127.0.0.1:${appVerifying}`);
    assert.equal(r.status, 'ok', JSON.stringify(r.findings));
    assert.equal(r.tls?.protocol, 'TLSv1.2');
    assert.equal(r.tls?.clientCertificate, 'accepted', 'the JSON says it asked and took ours');
  });

  test('an error right behind the Finished of the server (before anyone listens again) is not lost', async () => {
    // A relay appends a bogus record to the server's last handshake flight, as a GnuTLS server's
    // alert 4 ms after the handshake arrives: the client fails as soon as the handshake is done.
    const relay = createTcpServer((client: Socket) => {
      const upstream = netConnect({ host: '127.0.0.1', port: appVerifying });
      let fromClient = 0;
      let appended = false;
      client.on('data', (d) => {
        fromClient++;
        upstream.write(d);
      });
      upstream.on('data', (d) => {
        if (fromClient >= 2 && !appended) {
          appended = true;
          client.write(Buffer.concat([d, Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x2a])]));
        } else client.write(d);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    try {
      const port = (relay.address() as { port: number }).port;
      for (let i = 0; i < 3; i++) {
        const r = await createChecker({ ...opts, client: trusted }).check(`127.0.0.1:${port}`);
        assert.notEqual(r.tls?.clientCertificate, 'accepted', JSON.stringify(r.findings));
        assert.notEqual(r.status, 'ok');
      }
    } finally {
      relay.close();
    }
  });

  test('a server that asked for nothing is not waited on', async () => {
    const t0 = performance.now();
    const r = await createChecker({ ...opts, client: trusted }).check(`127.0.0.1:${notAsking}`);
    assert.equal(r.status, 'ok', JSON.stringify(r.findings));
    assert.equal(r.tls?.clientCertificate, 'not-requested');
    // Not a timing assertion on speed: the decision wait (about a second) must not have happened.
    assert.ok(performance.now() - t0 < 900, 'no decision wait for a server that did not ask');
  });
});
